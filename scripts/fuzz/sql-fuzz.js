#!/usr/bin/env node
'use strict';
/*
 * Seeded fuzz of hostile rules and payloads against the BUILT @sluice/sql (packages/sql/dist).
 *
 *   npm run fuzz                                   # 2,000 random cases + the fixed repros, random seed
 *   npm run fuzz -- --cases 100000 --seed 42       # a long local run (SLUICE_FUZZ_SEED=42 works too)
 *   npm run fuzz -- --seed 42 --only 1234,F:pad-537m   # replay cases; --dump 1234 prints one case whole
 *
 * Build first (`npx tsc -b packages/sql`). Each case is a rule (grammar-aware random, a mutation of a
 * valid corpus rule, a structural monster, or a decompression of a bomb) and one or more hostile
 * payloads; scripts/fuzz/sql-fuzz-rules.js and sql-fuzz-payloads.js make them, sql-fuzz-cases.js
 * numbers them (case i depends only on the seed and i) and holds the fixed repros of issue #10.
 *
 * Cases run in child processes (sql-fuzz-worker.js), many per child, each child under
 * --max-old-space-size (--heap, MB) with a peak-RSS cap (--rss, MB) and a per-case wall-time limit
 * (--timeout, ms; the child is killed when a case exceeds it). Allowed outcomes: a result,
 * RuleSyntaxError from compileRule, RuleEvaluationError from evaluate. Failures: a crash or V8 abort
 * (out of memory, invalid size...), a hang, any other error class, an output map whose prototype is not
 * Object.prototype/null or that String()/JSON.stringify cannot render, a polluted built-in prototype,
 * a peak RSS over the cap, and for some fixed repros a wrong result. When a child dies in the middle of
 * a batch, the case it was running is re-run alone to tell a culprit from damage left by earlier cases.
 *
 * Options: --cases N, --seed N, --only ids, --dump id, --scale ci|long (sizes; default long), --jobs N,
 * --batch N, --timeout ms, --heap MB, --rss MB, --max-seconds S (stop dispatching, fail), --no-fixed,
 * --report file (JSON report), --quiet. Exit code 0 when nothing failed, 1 otherwise. SLUICE_FUZZ_ROOT=dir
 * tests the build of another checkout (e.g. the commit before a fix) with this harness.
 * test/fuzz/hostile-sql.int.spec.ts runs it with a fixed seed and a bounded count on every `npm test`.
 */
const { fork } = require('node:child_process');
const { randomInt } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fixedCaseIds, makeCase } = require('./sql-fuzz-cases');

const WORKER = path.join(__dirname, 'sql-fuzz-worker.js');
const ROOT = process.env.SLUICE_FUZZ_ROOT ?? path.resolve(__dirname, '..', '..');

const DEFAULTS = {
  cases: 2000,
  seed: undefined,
  scale: 'long',
  jobs: Math.max(1, Math.min(2, os.availableParallelism?.() ?? os.cpus().length)),
  batch: 100,
  timeout: 5000,
  heap: 256,
  rss: 1024,
  maxSeconds: Infinity,
  fixed: true,
  only: undefined,
  dump: undefined,
  report: undefined,
  quiet: false,
};

function parseArgs(argv) {
  const o = { ...DEFAULTS };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--cases': o.cases = num('cases', value()); break;
      case '--seed': o.seed = num('seed', value()) >>> 0; break;
      case '--scale': o.scale = value(); if (!['ci', 'long'].includes(o.scale)) throw new Error('--scale is ci or long'); break;
      case '--jobs': o.jobs = Math.max(1, num('jobs', value())); break;
      case '--batch': o.batch = Math.max(1, num('batch', value())); break;
      case '--timeout': o.timeout = num('timeout', value()); break;
      case '--heap': o.heap = num('heap', value()); break;
      case '--rss': o.rss = num('rss', value()); break;
      case '--max-seconds': o.maxSeconds = num('max-seconds', value()); break;
      case '--no-fixed': o.fixed = false; break;
      case '--only': o.only = value().split(',').filter(Boolean); break;
      case '--dump': o.dump = value(); break;
      case '--report': o.report = value(); break;
      case '--quiet': o.quiet = true; break;
      default: throw new Error(`unknown option ${arg} (see the comment at the top of ${path.relative(process.cwd(), __filename)})`);
    }
  }
  if (o.seed === undefined) o.seed = process.env.SLUICE_FUZZ_SEED !== undefined ? num('SLUICE_FUZZ_SEED', process.env.SLUICE_FUZZ_SEED) >>> 0 : randomInt(2 ** 32);
  return o;
}

function crashKind(stderr) {
  if (/heap out of memory|Reached heap limit|allocation failed/i.test(stderr)) return 'out-of-memory';
  if (/Fatal JavaScript|FATAL ERROR|Fatal error/i.test(stderr)) return 'v8-fatal';
  return 'crash';
}

/** The telling line of a dead child's stderr: V8's fatal message, else the last error line. */
function deathNote(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const fatal = lines.find((l) => /FATAL ERROR|Fatal JavaScript|Fatal error/i.test(l));
  const error = [...lines].reverse().find((l) => /Error\b/.test(l) && !/^\d+: 0x/.test(l));
  return (fatal ?? error ?? lines[lines.length - 1] ?? '').slice(0, 300);
}

/** Runs every case id; resolves to Map id -> { outcome, ms, failure?, note? } and the ids left undone. */
async function runCases(ids, o, log) {
  const results = new Map();
  const firstFailures = new Map(); // id -> { failure, predecessors } while its solo re-run is pending
  const queue = [];
  for (let i = 0; i < ids.length; i += o.batch) queue.push({ ids: ids.slice(i, i + o.batch), solo: false });
  // At the time budget: stop dispatching, kill the running children, leave their cases undone.
  const running = new Set();
  let stopping = false;
  const budget = Number.isFinite(o.maxSeconds)
    ? setTimeout(() => {
        stopping = true;
        for (const child of running) child.kill('SIGKILL');
      }, o.maxSeconds * 1000)
    : undefined;
  let done = 0;
  let lastProgress = Date.now();

  const record = (id, result) => {
    results.set(id, result);
    done++;
    if (!o.quiet && Date.now() - lastProgress > 5000) {
      lastProgress = Date.now();
      log(`  ${done}/${ids.length} cases, ${[...results.values()].filter((r) => r.failure).length} failing`);
    }
  };

  const runBatch = (batch) =>
    new Promise((resolve) => {
      const child = fork(WORKER, [], {
        execArgv: [`--max-old-space-size=${o.heap}`],
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      running.add(child);
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr = (stderr + chunk).slice(-8192);
      });
      const ran = [];
      let current;
      let timedOut = false;
      let phase;
      let timer;
      const arm = (ms) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, ms);
      };
      arm(30000 + o.timeout); // loading the package and building the first case
      child.on('message', (m) => {
        if (m.type === 'phase') {
          phase = m.phase;
        } else if (m.type === 'start') {
          current = m.id;
          phase = undefined;
          arm(o.timeout);
        } else if (m.type === 'done') {
          arm(30000 + o.timeout);
          current = undefined;
          ran.push(m.id);
          const pending = firstFailures.get(m.id);
          if (pending !== undefined && m.outcome !== 'failure') {
            record(m.id, {
              outcome: 'failure',
              ms: m.ms,
              failure: {
                kind: `${pending.failure.kind}-after-other-cases`,
                detail: `${pending.failure.detail}; alone it passes: it failed after cases ${pending.predecessors.join(', ')} ran in the same process`,
              },
            });
          } else {
            record(m.id, { outcome: m.outcome, ms: m.ms, failure: m.failure, note: m.note });
          }
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        running.delete(child);
        if (stopping) return resolve();
        if (current !== undefined) {
          const failure = timedOut
            ? { kind: 'hang', detail: `no answer within ${o.timeout} ms (killed)${phase ? ` while ${phase}` : ''}` }
            : { kind: crashKind(stderr), detail: `child exited (code ${code}, signal ${signal}): ${deathNote(stderr) || 'no output'}` };
          if (timedOut || batch.solo || ran.length === 0) {
            record(current, { outcome: 'failure', ms: timedOut ? o.timeout : undefined, failure });
          } else {
            firstFailures.set(current, { failure, predecessors: ran.slice() });
            queue.push({ ids: [current], solo: true });
          }
        }
        const remaining = batch.ids.filter((id) => !results.has(id) && id !== current);
        if (remaining.length > 0) {
          if (current === undefined && code !== 0) {
            // Died outside any case: the harness or the package cannot load. Do not loop on it.
            for (const id of remaining) record(id, { outcome: 'failure', failure: { kind: 'worker-failed', detail: `worker exited (code ${code}, signal ${signal}) outside a case: ${deathNote(stderr)}` } });
          } else {
            queue.push({ ids: remaining, solo: false });
          }
        }
        resolve();
      });
      child.send({ seed: o.seed, scale: o.scale, ids: batch.ids, rssCapMb: o.rss });
    });

  const lane = async () => {
    while (queue.length > 0 && !stopping) await runBatch(queue.shift());
  };
  await Promise.all(Array.from({ length: o.jobs }, lane));
  clearTimeout(budget);
  const undone = ids.filter((id) => !results.has(id));
  return { results, undone };
}

// ---- reporting ----

const functionsModule = () => require(path.join(ROOT, 'packages/sql/dist/functions/index.js'));

function shortText(s, max) {
  const json = JSON.stringify(s);
  return json.length <= max ? json : `${json.slice(0, max)}… (${s.length} characters in all)`;
}

function caseView(o, id) {
  const c = makeCase(o.seed, id, o.scale, functionsModule());
  return {
    id,
    theme: c.theme,
    rule: c.rule,
    topic: c.topic,
    payloads: c.payloads.map((p) => ({ desc: p.desc, size: p.bytes.length, base64: p.bytes.length <= 1536 ? p.bytes.toString('base64') : undefined })),
    size: c.rule.length + c.payloads.reduce((n, p) => n + p.bytes.length, 0),
    replay: `npm run fuzz -- --seed ${o.seed} --scale ${o.scale} --only ${id}`,
  };
}

function snippet(view, indent) {
  const lines = [
    `case ${view.id} [${view.theme}] seed ${view.seed ?? ''}`.trimEnd(),
    `  rule (${view.rule.length} chars): ${shortText(view.rule, 400)}`,
    `  topic: ${JSON.stringify(view.topic)}`,
    ...view.payloads.map((p, i) => `  payload ${i}: ${p.desc}, ${p.size} bytes${p.base64 !== undefined ? `, base64 ${p.base64}` : ' (too big to print: replay or --dump)'}`),
    `  replay: ${view.replay}`,
  ];
  return lines.map((l) => indent + l).join('\n');
}

const HEAVY_FUNCTIONS = /\b(regex_match|regex_replace|regex_extract|gunzip|unzip|zip_uncompress|pad|split|tokens|subbits|sprintf|bitsl|power|format_date|date_to_unix_ts|json_decode|term_decode|unescape|str_utf16_le|reverse|bin2hexstr|base64_encode)\(/;

/** A short guess at what makes a case heavy: the first costly built-in it calls, or its size. */
function cue(f) {
  if (f.id.startsWith('F:')) return `fixed repro ${f.id.replace(/-[^-]*$/, '')}`;
  if (/\[[-+]?\d+\.\.[-+]?\d{7,}\]/.test(f.rule)) return 'a huge range literal [a..b]';
  const fn = HEAVY_FUNCTIONS.exec(f.rule);
  if (fn) return `${fn[1]}()`;
  if (/\[a\[a\[a\[/.test(f.rule)) return 'a deeply nested index path';
  if (/(\.a){100}/.test(f.rule)) return 'a long path or AS target';
  if (f.rule.length > 2000) return 'a rule over 2 KB (long lists)';
  return `a ${f.theme} rule`;
}

/** Groups failures by kind and message shape (digits and quoted text blurred), so one cause is one group. */
function groupFailures(failing) {
  const groups = new Map();
  for (const f of failing) {
    const detail = f.failure.detail.replace(/^payload \d+: /, '').replace(/'[^']*'|"[^"]*"/g, '…').replace(/\d+/g, 'N').slice(0, 160);
    // A hang or a death says nothing about its cause: group those by what the rule does instead.
    const silent = /^(hang|crash|out-of-memory|v8-fatal|memory)/.test(f.failure.kind);
    const shape = silent ? `${f.failure.kind} in ${cue(f)}` : `${f.failure.kind}: ${detail}`;
    let group = groups.get(shape);
    if (group === undefined) groups.set(shape, (group = { shape, kind: f.failure.kind, members: [] }));
    group.members.push(f);
  }
  return [...groups.values()].sort((a, b) => b.members.length - a.members.length);
}

function buildReport(o, ids, results, undone, elapsedMs) {
  const counts = { result: 0, syntax: 0, evaluation: 0, failure: 0 };
  let passingMs = 0;
  for (const r of results.values()) {
    counts[r.outcome]++;
    if (r.outcome !== 'failure') passingMs += r.ms;
  }
  const failing = [...results].filter(([, r]) => r.failure).map(([id, r]) => ({ ...caseView(o, id), seed: o.seed, failure: r.failure }));
  const groups = groupFailures(failing).map((g) => {
    const shortest = g.members.reduce((a, b) => (b.size < a.size ? b : a));
    return { shape: g.shape, kind: g.kind, count: g.members.length, shortest, ids: g.members.map((m) => m.id) };
  });
  const timed = [...results].filter(([, r]) => typeof r.ms === 'number' && r.failure?.kind !== 'hang').sort((a, b) => b[1].ms - a[1].ms);
  const slowest = timed.slice(0, 15).map(([id, r]) => ({ id, ms: Math.round(r.ms), outcome: r.outcome, rule: shortText(makeCase(o.seed, id, o.scale, functionsModule()).rule, 120) }));
  const notes = [...results].filter(([, r]) => r.note).map(([id, r]) => ({ id, note: r.note }));
  return {
    seed: o.seed,
    scale: o.scale,
    total: ids.length,
    ran: results.size,
    undone: undone.length,
    counts,
    elapsedMs,
    passingMs: Math.round(passingMs),
    failures: failing.map((f) => ({ id: f.id, kind: f.failure.kind, detail: f.failure.detail, theme: f.theme, rule: f.rule, topic: f.topic, payloads: f.payloads, replay: f.replay })),
    groups,
    slowest,
    notes,
  };
}

/** The report as text: a summary, then every failing case grouped by cause, shortest repro first. */
function formatReport(r) {
  const out = [];
  out.push(`sql fuzz: seed ${r.seed}, scale ${r.scale}: ${r.ran}/${r.total} cases in ${(r.elapsedMs / 1000).toFixed(1)} s — ${r.counts.result} results, ${r.counts.syntax} RuleSyntaxError, ${r.counts.evaluation} RuleEvaluationError, ${r.counts.failure} failing${r.undone ? `, ${r.undone} NOT RUN (time budget)` : ''}; passing cases took ${(r.passingMs / 1000).toFixed(1)} s`);
  if (r.groups.length > 0) {
    out.push('', `${r.counts.failure} failing cases in ${r.groups.length} groups (replay any with the line shown):`);
    r.groups.forEach((g, n) => {
      out.push('', `${n + 1}. ${g.shape}  — ${g.count} case${g.count === 1 ? '' : 's'}`, `   detail: ${g.shortest.failure.detail}`, snippet(g.shortest, '   '));
      if (g.count > 1) out.push(`   also: ${g.ids.filter((id) => id !== g.shortest.id).join(', ')}`);
    });
  }
  out.push('', 'slowest cases (hangs left out):', ...r.slowest.map((s) => `  ${String(s.ms).padStart(6)} ms  case ${s.id} (${s.outcome})  ${s.rule}`));
  if (r.notes.length > 0) out.push('', `notes (not failures): ${r.notes.length} cases`, ...r.notes.slice(0, 5).map((n) => `  case ${n.id}: ${n.note}`));
  return out.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.dump !== undefined) {
    const c = makeCase(o.seed, o.dump, o.scale, functionsModule());
    process.stdout.write(`${JSON.stringify({ seed: o.seed, scale: o.scale, id: c.id, theme: c.theme, rule: c.rule, topic: c.topic, payloads: c.payloads.map((p) => ({ desc: p.desc, base64: p.bytes.toString('base64') })) }, null, 2)}\n`);
    return 0;
  }
  const ids = o.only ?? [...(o.fixed ? fixedCaseIds() : []), ...Array.from({ length: o.cases }, (_, i) => String(i))];
  const log = (line) => process.stderr.write(`${line}\n`);
  log(`sql fuzz: seed ${o.seed} (replay with --seed ${o.seed} or SLUICE_FUZZ_SEED=${o.seed}), ${ids.length} cases, scale ${o.scale}, ${o.jobs} jobs, ${o.timeout} ms per case, heap ${o.heap} MB, RSS cap ${o.rss} MB`);
  const t0 = Date.now();
  const { results, undone } = await runCases(ids, o, log);
  const report = buildReport(o, ids, results, undone, Date.now() - t0);
  report.text = formatReport(report);
  if (o.report !== undefined) fs.writeFileSync(o.report, JSON.stringify(report, null, 2));
  process.stdout.write(`${report.text}\n`);
  return report.counts.failure > 0 || report.undone > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`sql fuzz: ${error.message}\n`);
      process.exitCode = 2;
    },
  );
}

module.exports = { parseArgs, runCases, buildReport, formatReport };

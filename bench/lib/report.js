'use strict';
// The results of a run: a table on stdout, JSON and Markdown under bench/results/ (timestamped and
// latest.*), goals against the issue's targets, and an SVG chart in docs/.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT } = require('./deps');
const { median, round } = require('./stats');

const fmt = (x) => (x === null || x === undefined ? '–' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x));
const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);
/** Unrounded, for goals and for printing with two decimals (a rounded 0.995 would read as met). */
const ratio2 = (a, b) => (typeof a === 'number' && b ? a / b : null);

function machine() {
  let mosquitto = '?';
  try {
    mosquitto = execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch (err) {
    mosquitto = String(err.stdout ?? '').split('\n')[0].trim() || '?';
  }
  let kafka = '?';
  try {
    kafka = JSON.parse(fs.readFileSync(path.join(ROOT, '.sluice', 'kafka', 'broker.json'), 'utf8')).version;
  } catch {}
  return {
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    kafka: `Apache Kafka ${kafka} (single KRaft node, same machine)`,
    mosquitto,
  };
}

/** The first point with these fields: null matches a missing field; objects compare by their JSON. */
function find(points, where) {
  const same = (a, v) => (v === null ? a === null || a === undefined : typeof v === 'object' ? JSON.stringify(a) === JSON.stringify(v) : a === v);
  return points.find((r) => Object.entries(where).every(([k, v]) => same(r[k], v)));
}

// p99 at half capacity in issue 11's own run (`npm run bench -- pipeline --capacity 15 --latency 8` on a quiet
// project machine): its goal is "no worse than today's". Comparable only with a run on an equally quiet machine.
const ISSUE11_P99 = { 'at-least-once|200': 26.3, 'at-most-once|200': 22.2, 'at-least-once|1024': 21.3 };

const plain = (where) => ({ ...where, rules: 1, procs: 1, templated: null });

/** A templated-topic point of this delivery mode, with one topic deleted or all three healthy (any buffer). */
const templatedPoint = (points, delivery, missing) => points.find((r) => r.sut === 'sluice' && r.delivery === delivery && r.templated?.missing === missing);
const bufferOf = (point) => `${point.templated?.buffer ?? 'memory'} buffer`;

/**
 * The points issue 6's and 11's figures are read from: not `scale`'s (share-group members, another broker) nor
 * the `latency` part's rounds (summarised on their own).
 */
const singleBridgePoints = (results) => results.points.filter((r) => r.group !== 'scale' && r.group !== 'latency');

/** The runs of a `--repeat`, each as the results of that run alone (a run without the option is run null). */
function runsOf(results) {
  const runs = [...new Set(results.points.map((r) => r.run ?? null))];
  return runs.map((run) => ({ run, results: { ...results, points: results.points.filter((r) => (r.run ?? null) === run) } }));
}

/**
 * Goals judged in every run of a `--repeat`: one line per goal with each run's measure, met when it is met in
 * most runs (with an odd number of runs, the same as the median run meeting it). Each run's ratios compare
 * points of that run only, measured minutes apart rather than a whole part apart.
 */
function judgedOverRuns(goalsOf, results) {
  const runs = runsOf(results);
  if (runs.length === 1) return goalsOf(results);
  const merged = new Map();
  for (const { run, results: ofRun } of runs) {
    for (const g of goalsOf(ofRun)) {
      const m = merged.get(g.goal) ?? { goal: g.goal, measured: [], metIn: 0 };
      m.measured.push(`run ${run}: ${g.measured}`);
      if (g.met) m.metIn++;
      merged.set(g.goal, m);
    }
  }
  return [...merged.values()].map((m) => ({
    goal: m.goal,
    measured: `${m.measured.join('; ')} (met in ${m.metIn} of ${runs.length} runs)`,
    met: m.metIn * 2 > runs.length,
  }));
}

/** Table rows made per run of a `--repeat`, each point named with its run. */
function rowsOverRuns(rowsOf, results) {
  const runs = runsOf(results);
  if (runs.length === 1) return rowsOf(results);
  return runs.flatMap(({ run, results: ofRun }) => rowsOf(ofRun).map((row) => ({ ...row, point: `run ${run}: ${row.point}` })));
}

/**
 * The `latency` part: per system, p50 and p99 of every round at the one shared rate, their medians, and the
 * median p99 against the relay's. A round that fell behind is marked: its latency is a queue's, not the path's.
 */
function latencyRows(results) {
  const P = results.points.filter((r) => r.group === 'latency' && r.latency);
  const systems = [['relay', { sut: 'relay' }], ['Sluice at-least-once', { sut: 'sluice', delivery: 'at-least-once' }], ['Sluice at-most-once', { sut: 'sluice', delivery: 'at-most-once' }]];
  const ofSystem = (where) => P.filter((r) => Object.entries(where).every(([k, v]) => r[k] === v));
  const relayP99 = median(ofSystem({ sut: 'relay' }).map((r) => r.latency.p99));
  return systems.map(([name, where]) => {
    const rounds = ofSystem(where);
    const p99 = median(rounds.map((r) => r.latency.p99));
    return {
      system: name,
      'rate msg/s': [...new Set(rounds.map((r) => fmt(r.latency.rate)))].join(', '),
      'p50 ms per round': rounds.map((r) => fmt(r.latency.p50)).join(' / '),
      'p99 ms per round': rounds.map((r) => `${fmt(r.latency.p99)}${r.latency.keptUp ? '' : ' (behind)'}`).join(' / '),
      'median p99 ms': fmt(round(p99)),
      'vs relay': name === 'relay' ? '–' : `${fmt(ratio(p99, relayP99))} ×`,
    };
  }).filter((row) => row['p99 ms per round'] !== '');
}

/**
 * Issue 11's table: each Sluice point beside the raw relay at its size (msg/s and msg per CPU-second as
 * ratios), at-most-once also against at-least-once, and the templated-topic pairs (one topic deleted
 * against all three healthy).
 */
function issue11Rows(results) {
  const P = singleBridgePoints(results);
  const rows = [];
  const x = (r) => (r === null ? '' : ` (${r.toFixed(2)} ×)`);
  for (const size of [200, 1024]) {
    const relay = find(P, { sut: 'relay', size, procs: 1 });
    const alo = find(P, { sut: 'sluice', delivery: 'at-least-once', size, ...plain({}) });
    const amo = find(P, { sut: 'sluice', delivery: 'at-most-once', size, ...plain({}) });
    const sizeText = size === 1024 ? '1 KiB' : `${size} B`;
    const p99 = (r) => (r?.latency ? `${fmt(r.latency.p99)} ms${r.latency.keptUp ? '' : ' (behind)'}` : '–');
    if (relay) rows.push({ point: `raw mqtt.js → kafkajs relay, ${sizeText}`, 'msg/s': fmt(relay.throughput), 'msg per CPU-second': fmt(relay.msgPerCpuSec), 'p99 at half rate': p99(relay) });
    if (alo) rows.push({ point: `Sluice at-least-once, ${sizeText}`, 'msg/s': `${fmt(alo.throughput)}${x(ratio2(alo.throughput, relay?.throughput))}`, 'msg per CPU-second': `${fmt(alo.msgPerCpuSec)}${x(ratio2(alo.msgPerCpuSec, relay?.msgPerCpuSec))}`, 'p99 at half rate': p99(alo) });
    if (amo) {
      const vsAlo = ratio2(amo.msgPerCpuSec, alo?.msgPerCpuSec);
      rows.push({ point: `Sluice at-most-once, ${sizeText}`, 'msg/s': `${fmt(amo.throughput)}${x(ratio2(amo.throughput, relay?.throughput))}`,
        'msg per CPU-second': `${fmt(amo.msgPerCpuSec)}${x(ratio2(amo.msgPerCpuSec, relay?.msgPerCpuSec))}${vsAlo === null ? '' : `, ${vsAlo.toFixed(2)} × at-least-once`}`, 'p99 at half rate': p99(amo) });
    }
  }
  for (const delivery of ['at-least-once', 'at-most-once']) {
    const healthy = templatedPoint(P, delivery, false);
    const missing = templatedPoint(P, delivery, true);
    if (healthy) rows.push({ point: `Sluice ${delivery}, 200 B, templated topic (${bufferOf(healthy)}): 3 topics healthy (2 read)`, 'msg/s': fmt(healthy.throughput), 'msg per CPU-second': fmt(healthy.msgPerCpuSec), 'p99 at half rate': '–' });
    if (missing) rows.push({ point: `Sluice ${delivery}, 200 B, templated topic (${bufferOf(missing)}): 1 of 3 deleted (the 2 others read)`, 'msg/s': `${fmt(missing.throughput)}${x(ratio2(missing.throughput, healthy?.throughput))}`, 'msg per CPU-second': fmt(missing.msgPerCpuSec), 'p99 at half rate': '–' });
  }
  return rows;
}

function issue11Goals(results) {
  const P = singleBridgePoints(results);
  const out = [];
  for (const size of [200, 1024]) {
    const relay = find(P, { sut: 'relay', size, procs: 1 });
    const alo = find(P, { sut: 'sluice', delivery: 'at-least-once', size, ...plain({}) });
    const amo = find(P, { sut: 'sluice', delivery: 'at-most-once', size, ...plain({}) });
    if (relay && alo) {
      const r = ratio2(alo.msgPerCpuSec, relay.msgPerCpuSec);
      out.push({ goal: `at-least-once ${size} B ≥ 1.0 × the relay in msg per CPU-second`, measured: `${r?.toFixed(2)} ×`, met: r !== null && r >= 1 });
    }
    if (alo && amo) {
      const r = ratio2(amo.msgPerCpuSec, alo.msgPerCpuSec);
      out.push({ goal: `at-most-once ${size} B ≥ at-least-once in msg per CPU-second`, measured: `${r?.toFixed(2)} ×`, met: r !== null && r >= 1 });
    }
    for (const [delivery, s] of [['at-least-once', alo], ['at-most-once', amo]]) {
      const before = ISSUE11_P99[`${delivery}|${size}`];
      if (before === undefined || !s?.latency) continue;
      out.push({ goal: `${delivery} ${size} B p99 at half capacity ≤ the issue's ${before} ms (a quiet machine's figure)`, measured: `${fmt(s.latency.p99)} ms`, met: s.latency.keptUp && s.latency.p99 <= before });
    }
  }
  for (const delivery of ['at-least-once', 'at-most-once']) {
    const healthy = templatedPoint(P, delivery, false);
    const missing = templatedPoint(P, delivery, true);
    if (!healthy || !missing) continue;
    const r = ratio2(missing.throughput, healthy.throughput);
    out.push({ goal: `${delivery}, templated topic (${bufferOf(missing)}), 1 of 3 deleted: the 2 others ≥ 0.90 × their throughput with all 3 healthy`, measured: `${fmt(missing.throughput)} vs ${fmt(healthy.throughput)} msg/s = ${r?.toFixed(2)} ×`, met: r !== null && r >= 0.9 });
  }
  return out;
}

const BROKER_NAMES = { mosquitto: 'Mosquitto', hivemq: 'HiveMQ CE' };

/**
 * Issue 13's scale goals, per MQTT broker: two Sluice members in one shared-subscription group against one
 * (total msg/s at least the same; msg per CPU-second, summed over the members, within 20 %).
 */
function issue13Goals(results) {
  const P = results.points;
  const out = [];
  for (const broker of Object.keys(BROKER_NAMES)) {
    const one = find(P, { group: 'scale', sut: 'sluice', procs: 1, broker });
    const two = find(P, { group: 'scale', sut: 'sluice', procs: 2, broker });
    if (!one?.throughput || two === undefined) continue;
    const name = BROKER_NAMES[broker];
    if (two.error !== undefined) {
      out.push({ goal: `${name}: 2 members ≥ 1.0 × one member in total msg/s`, measured: `the 2-member point failed: ${two.error.split('\n')[0]}`, met: false });
      continue;
    }
    const rt = ratio2(two.throughput ?? 0, one.throughput);
    const rc = ratio2(two.msgPerCpuSec ?? 0, one.msgPerCpuSec);
    out.push({ goal: `${name}: 2 members ≥ 1.0 × one member in total msg/s`, measured: `${fmt(two.throughput ?? 0)} vs ${fmt(one.throughput)} msg/s = ${rt?.toFixed(2)} ×`, met: rt !== null && rt >= 1 });
    out.push({ goal: `${name}: msg per CPU-second with 2 members within 20 % of one member's`, measured: `${fmt(two.msgPerCpuSec ?? 0)} vs ${fmt(one.msgPerCpuSec)} = ${rc?.toFixed(2)} ×`, met: rc !== null && rc >= 0.8 });
    // The totals say nothing of scale-out if the broker fed one member only (HiveMQ CE did: the other
    // member sat idle): each of the two must carry at least a quarter of the records.
    if (two.memberShares !== undefined) {
      const least = Math.min(...two.memberShares);
      out.push({ goal: `${name}: the 2 members share the load (each ≥ 25 % of the records)`, measured: `shares ${two.memberShares.map((x) => `${Math.round(x * 100)} %`).join(' / ')}`, met: least >= 0.25 });
    }
  }
  return out;
}

function goals(results) {
  const P = singleBridgePoints(results);
  const base = { rules: 1, procs: 1, templated: null };
  const out = [];
  for (const size of [200, 1024]) {
    const relay = find(P, { sut: 'relay', size, procs: 1 });
    for (const [delivery, target] of [['at-least-once', 0.8], ['at-most-once', 0.9]]) {
      const s = find(P, { sut: 'sluice', delivery, size, ...base });
      if (!relay || !s) continue;
      const rt = ratio(s.throughput, relay.throughput);
      const rc = ratio(s.msgPerCpuSec, relay.msgPerCpuSec);
      out.push({ goal: `${delivery} ${size} B ≥ ${target} × relay (throughput, msg/CPU-s)`, measured: `${rt} ×, ${rc} ×`, met: rt >= target && rc >= target });
    }
  }
  const nr = find(P, { sut: 'nodered', size: 200 });
  const sl = find(P, { sut: 'sluice', delivery: 'at-least-once', size: 200, ...base });
  if (nr && sl) {
    const r = ratio(sl.throughput, nr.throughput);
    const p99ok = sl.latency && nr.latency ? sl.latency.p99 <= nr.latency.p99 : null;
    out.push({ goal: '≥ 3 × Node-RED throughput at ≤ its p99', measured: `${r} ×; p99 ${fmt(sl.latency?.p99)} vs ${fmt(nr.latency?.p99)} ms`, met: r >= 3 && p99ok === true });
  }
  if (sl) out.push({ goal: '≥ 20,000 msg per CPU-second of Sluice (seed rule)', measured: fmt(sl.msgPerCpuSec), met: sl.msgPerCpuSec >= 20000 });
  const rules = [1, 10, 100, 1000].map((n) => find(P, { sut: 'sluice', delivery: 'at-least-once', size: 200, rules: n, procs: 1, templated: null })).filter(Boolean);
  if (rules.length === 4) {
    const first = rules[0].msgPerCpuSec;
    const worst = Math.max(...rules.map((r) => Math.abs(r.msgPerCpuSec / first - 1)));
    out.push({ goal: 'msg/CPU-s within ±20 % from 1 to 1,000 rules', measured: `${rules.map((r) => fmt(r.msgPerCpuSec)).join(' / ')} (worst ${Math.round(worst * 100)} %)`, met: worst <= 0.2 });
  }
  if (results.soak) {
    const s = results.soak;
    out.push({ goal: 'no RSS growth over the soak', measured: `RSS ${s.start?.rssMB} → ${s.end?.rssMB} MB, p99 ${s.start?.p99} → ${s.end?.p99} ms (${s.seconds} s)`, met: s.rssGrowth !== null && s.rssGrowth <= 0.2 });
  }
  return out;
}

function tableRows(results) {
  const P = results.points;
  return P.map((r) => {
    const relay = find(P, { sut: 'relay', size: r.size, procs: 1, run: r.run ?? null });
    return {
      group: r.group,
      point: r.label,
      'msg/s': fmt(r.throughput),
      'msg/CPU-s': fmt(r.msgPerCpuSec),
      'CPU (cores)': fmt(r.cpuUtil),
      'MQTT broker CPU': fmt(r.brokerCpuUtil),
      'Kafka CPU': fmt(r.kafkaCpuUtil),
      'bench CPU': fmt(r.harnessCpuUtil),
      'records/request': fmt(r.recordsPerRequest),
      'peak RSS MB': fmt(r.peakRssMB),
      'latency at rate': r.latency ? `${fmt(r.latency.rate)}/s${r.latency.keptUp ? '' : ' (behind)'}` : '–',
      'p50 ms': fmt(r.latency?.p50),
      'p99 ms': fmt(r.latency?.p99),
      'max ms': fmt(r.latency?.max),
      'vs relay': r.sut === 'relay' || !relay || r.rules > 1 || r.procs > 1 || r.templated ? '–' : `${fmt(ratio(r.throughput, relay.throughput))} / ${fmt(ratio(r.msgPerCpuSec, relay.msgPerCpuSec))}`,
    };
  });
}

function markdownTable(rows) {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]);
  const right = (c) => !['group', 'point', 'latency at rate'].includes(c);
  return [
    `| ${cols.join(' | ')} |`,
    `|${cols.map((c) => (right(c) ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`),
  ].join('\n');
}

function textTable(rows) {
  if (rows.length === 0) return '(no points)';
  const cols = Object.keys(rows[0]);
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padEnd(w[i])).join('  ');
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n');
}

function markdown(results, rows, goalRows, issue11 = { rows: [], goals: [] }, issue13 = [], latency = []) {
  const m = results.machine;
  const lines = [
    `Run ${results.runId} (\`node bench/run.js ${results.part}\`), ${results.startedAt} → ${results.finishedAt}.`,
    `Machine: ${m.cpu}, ${m.memoryGB} GB, ${m.os}, Node ${m.node}; ${m.kafka}; ${m.mosquitto}${m.hivemq ? `; ${m.hivemq}` : ''}.`,
    `Settings: ${results.options.repeat > 1 && results.part !== 'latency' ? `${results.options.repeat} interleaved runs of every point, ` : ''}capacity ${results.options.capacitySec} s, latency ${results.options.latencySec} s at ${results.options.latencyFraction} × capacity, ${results.options.publishers} publisher processes, window ${results.options.window}, Sluice maxInflight ${results.options.inflight}, Sluice maxLingerTime ${results.options.lingerMs ?? 0} ms, ${results.options.partitions} partitions.`,
    '',
    markdownTable(rows),
    '',
    '"vs relay": throughput ratio / msg-per-CPU-second ratio to the raw relay at the same payload size, same run.',
  ];
  if (latency.length) {
    lines.push('', 'Latency at one rate for all (median over the rounds; "vs relay": median p99 against the relay\'s):', '', markdownTable(latency));
  }
  if (issue11.rows.length) {
    lines.push('', 'Issue 11\'s table (ratios to the relay at the same size; templated rows: records read from the two topics that stay healthy):', '', markdownTable(issue11.rows));
  }
  if (issue11.goals.length) {
    lines.push('', '| goal (issue 11) | measured | met |', '|---|---|---|');
    for (const g of issue11.goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`);
  }
  if (issue13.length) {
    lines.push('', '| goal (issue 13) | measured | met |', '|---|---|---|');
    for (const g of issue13) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`);
  }
  if (goalRows.length) {
    lines.push('', '| goal (issue 6) | measured | met |', '|---|---|---|');
    for (const g of goalRows) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`);
  }
  if (results.soak) {
    lines.push('', `Soak: ${fmt(results.soak.rate)} msg/s for ${results.soak.seconds} s, windows of ${results.soak.windowSec} s:`, '',
      '| at s | msg/s | p50 ms | p99 ms | max ms | RSS MB | msg/CPU-s |', '|---:|---:|---:|---:|---:|---:|---:|');
    for (const w of results.soak.windows) lines.push(`| ${w.atSec} | ${fmt(w.delivered)} | ${fmt(w.p50)} | ${fmt(w.p99)} | ${fmt(w.max)} | ${fmt(w.rssMB)} | ${fmt(w.msgPerCpuSec)} |`);
  }
  return `${lines.join('\n')}\n`;
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Two bar panels: sustained msg/s and msg per CPU-second, per system at 200 B and 1 KiB. */
function svg(results) {
  const P = results.points;
  const systems = [
    ['relay', { sut: 'relay', procs: 1 }, '#9e9e9e'],
    ['Sluice at-least-once', { sut: 'sluice', delivery: 'at-least-once', rules: 1, procs: 1, templated: null }, '#1f77b4'],
    ['Sluice at-most-once', { sut: 'sluice', delivery: 'at-most-once', rules: 1, procs: 1, templated: null }, '#6baed6'],
    ['Node-RED', { sut: 'nodered' }, '#d62728'],
  ];
  const sizes = [200, 1024];
  const panels = [['sustained msg/s', 'throughput'], ['messages per CPU-second of the bridge process', 'msgPerCpuSec']];
  const W = 760;
  const H = 300;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * 2 + 40}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Sluice end to end (MQTT QoS 1 → rule → Kafka acks=all), run ${esc(results.runId)}</text>`];
  panels.forEach(([title, field], pi) => {
    const y0 = 40 + pi * H;
    const vals = sizes.flatMap((size) => systems.map(([, w]) => find(P, { ...w, size })?.[field] ?? 0));
    const max = Math.max(1, ...vals);
    const plotH = H - 80;
    out.push(`<text x="${W / 2}" y="${y0 + 15}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
    const groupW = (W - 120) / sizes.length;
    sizes.forEach((size, si) => {
      const gx = 80 + si * groupW;
      const barW = (groupW - 40) / systems.length;
      systems.forEach(([name, where, color], i) => {
        const v = find(P, { ...where, size })?.[field];
        const h = v ? (v / max) * plotH : 0;
        const x = gx + 20 + i * barW;
        const y = y0 + 30 + plotH - h;
        out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 6).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${esc(name)} ${size} B: ${fmt(v)}</title></rect>`);
        out.push(`<text x="${(x + (barW - 6) / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="11">${v ? fmt(v) : 'n/a'}</text>`);
      });
      out.push(`<text x="${(gx + groupW / 2).toFixed(1)}" y="${y0 + 30 + plotH + 16}" text-anchor="middle">${size} B payload</text>`);
    });
    out.push(`<line x1="80" y1="${y0 + 30 + plotH}" x2="${W - 40}" y2="${y0 + 30 + plotH}" stroke="#333"/>`);
  });
  systems.forEach(([name, , color], i) => {
    const x = 80 + i * 170;
    out.push(`<rect x="${x}" y="${H * 2 + 22}" width="12" height="12" fill="${color}"/><text x="${x + 16}" y="${H * 2 + 32}">${esc(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function writeReports(results, { write, log }) {
  results.machine = machine();
  if (results.options?.brokers?.includes('hivemq')) results.machine.hivemq = `HiveMQ CE ${require('../../scripts/hivemq').VERSION} (embedded, same machine)`;
  const rows = tableRows(results);
  const goalRows = judgedOverRuns(goals, results);
  results.goals = goalRows;
  const issue11 = { rows: rowsOverRuns(issue11Rows, results), goals: judgedOverRuns(issue11Goals, results) };
  results.issue11Goals = issue11.goals;
  const issue13 = judgedOverRuns(issue13Goals, results);
  results.issue13Goals = issue13;
  console.log(`\n${textTable(rows)}`);
  const latency = latencyRows(results);
  if (latency.length) console.log(`\nlatency at one rate (median over the rounds):\n${textTable(latency)}`);
  if (issue11.rows.length) console.log(`\nissue 11 (ratios to the relay at the same size; templated rows: the two healthy topics):\n${textTable(issue11.rows)}`);
  if (issue11.goals.length) {
    console.log('\ngoals (issue 11):');
    for (const g of issue11.goals) console.log(`  ${g.met ? 'met   ' : 'MISSED'}  ${g.goal}: ${g.measured}`);
  }
  if (issue13.length) {
    console.log('\ngoals (issue 13):');
    for (const g of issue13) console.log(`  ${g.met ? 'met   ' : 'MISSED'}  ${g.goal}: ${g.measured}`);
  }
  if (goalRows.length) {
    console.log('\ngoals (issue 6):');
    for (const g of goalRows) console.log(`  ${g.met ? 'met   ' : 'MISSED'}  ${g.goal}: ${g.measured}`);
  }
  if (results.soak) console.log(`\nsoak: RSS ${results.soak.start?.rssMB} → ${results.soak.end?.rssMB} MB, p99 ${results.soak.start?.p99} → ${results.soak.end?.p99} ms`);
  if (!write) return;
  const dir = path.join(__dirname, '..', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const md = markdown(results, rows, goalRows, issue11, issue13, latency);
  for (const name of [`${results.runId}-${results.part}`, `latest-${results.part}`]) {
    fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    fs.writeFileSync(path.join(dir, `${name}.md`), md);
  }
  log(`results: bench/results/${results.runId}-${results.part}.{json,md} (and latest-${results.part}.*)`);
  if (results.part === 'all' || results.part === 'pipeline') {
    const file = path.join(ROOT, 'docs', 'benchmarks-e2e.svg');
    fs.writeFileSync(file, svg(results));
    log(`chart: docs/benchmarks-e2e.svg`);
  }
}

module.exports = { writeReports, svg, markdown, tableRows, goals, issue11Rows, issue11Goals, issue13Goals, latencyRows, judgedOverRuns };

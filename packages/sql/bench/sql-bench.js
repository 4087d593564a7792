// Rule SQL benchmarks: evaluations per second of compiled rules beside hand-written JavaScript doing the
// same work, and parse time against rule length. Run with `npm run bench:sql` (it builds first).
// Plain JavaScript over the built package, so it measures what users run. Figures only, no assertions.
'use strict';
const { compileRule, parseRule } = require('../dist/index.js');

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.4);

/** CPU time of this process in seconds: other processes on the shared machine do not count against us. */
function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Runs fn repeatedly for about SECONDS of CPU time (after a short warm-up) and returns calls per CPU
 * second. CPU time rather than wall time, since the machine is shared and a descheduled moment would
 * otherwise count as slowness.
 */
function opsPerSecond(fn) {
  const warmUntil = cpuSeconds() + 0.05;
  while (cpuSeconds() < warmUntil) for (let i = 0; i < 10_000; i++) fn(i);
  let calls = 0;
  const start = cpuSeconds();
  const end = start + SECONDS;
  let now = start;
  while (now < end) {
    // Batches of 10,000 keep the clock reads (process.cpuUsage) out of the figures.
    for (let i = 0; i < 10_000; i++) fn(i);
    calls += 10_000;
    now = cpuSeconds();
  }
  return calls / (now - start);
}

let connector = 0; // consumes results so nothing is optimised away
const consume = (outputs) => {
  connector += outputs.length;
};

// Each iteration builds a fresh input, as every MQTT message is a new object (so the per-input payload
// cache does not carry over between iterations); both sides pay for it.
const items = JSON.stringify({ items: Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, v: i })) });
const cases = [
  {
    name: 'seed rule (payload JSON decoded)',
    sql: 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"',
    input: (i) => ({ topic: 'temp_hum/emqx', clientid: 'c1', timestamp: i, qos: 1, payload: '{"temp": "27.5", "hum": "41.8"}' }),
    js: (input) => {
      if (input.topic !== 'temp_hum/emqx') return [];
      const p = JSON.parse(input.payload);
      return [{ timestamp: input.timestamp, clientid: input.clientid, temp: p.temp, hum: p.hum }];
    },
  },
  {
    name: 'WHERE filter',
    sql: 'SELECT clientid, payload.temp AS t FROM "sensors/#" WHERE payload.temp > 25 AND qos = 1',
    input: (i) => ({ topic: 'sensors/a/b', clientid: 'c1', qos: 1, payload: `{"temp": ${20 + (i % 10)}, "hum": 41.8}` }),
    js: (input) => {
      if (input.topic !== 'sensors' && !input.topic.startsWith('sensors/')) return [];
      const p = JSON.parse(input.payload);
      return p.temp > 25 && input.qos === 1 ? [{ clientid: input.clientid, t: p.temp }] : [];
    },
  },
  {
    name: 'FOREACH over 10 elements',
    sql: 'FOREACH payload.items AS it DO it.id AS id, it.v AS v, clientid INCASE it.v >= 3 FROM "t/1"',
    input: () => ({ topic: 't/1', clientid: 'c1', payload: items }),
    js: (input) => {
      if (input.topic !== 't/1') return [];
      const out = [];
      const list = JSON.parse(input.payload).items;
      if (!Array.isArray(list)) return out; // as the rule: a collection that is not a list gives no outputs
      for (const it of list) if (it.v >= 3) out.push({ id: it.id, v: it.v, clientid: input.clientid });
      return out;
    },
  },
  {
    name: 'string functions',
    sql: "SELECT upper(clientid) AS c, concat(topic, '/x') AS t, substr(username, 0, 3) AS u, lower(username) AS l FROM \"t/1\"",
    input: () => ({ topic: 't/1', clientid: 'client-1', username: 'UserName' }),
    js: (input) => {
      if (input.topic !== 't/1') return [];
      return [{ c: input.clientid.toUpperCase(), t: `${input.topic}/x`, u: input.username.slice(0, 3), l: input.username.toLowerCase() }];
    },
  },
  {
    name: 'CASE',
    sql: "SELECT CASE WHEN payload.temp > 30 THEN 'hot' WHEN payload.temp > 10 THEN 'warm' ELSE 'cold' END AS level, clientid FROM \"t/1\"",
    input: (i) => ({ topic: 't/1', clientid: 'c1', payload: `{"temp": ${i % 40}}` }),
    js: (input) => {
      if (input.topic !== 't/1') return [];
      const t = JSON.parse(input.payload).temp;
      return [{ level: t > 30 ? 'hot' : t > 10 ? 'warm' : 'cold', clientid: input.clientid }];
    },
  },
  {
    // `+` on numbers and on strings: the string branch checks the result against maxStringSize.
    name: 'arithmetic and string +',
    sql: "SELECT payload.a + payload.b AS n, qos + 1 AS q, clientid + '/' + payload.s AS s FROM \"t/1\"",
    input: (i) => ({ topic: 't/1', clientid: 'c1', qos: 1, payload: `{"a": ${i % 50}, "b": 2, "s": "x${i % 10}"}` }),
    js: (input) => {
      if (input.topic !== 't/1') return [];
      const p = JSON.parse(input.payload);
      return [{ n: p.a + p.b, q: input.qos + 1, s: `${input.clientid}/${p.s}` }];
    },
  },
  {
    // JSON text of a small map and list: the encoder keeps a running size budget (maxStringSize).
    name: 'json_encode of a small map',
    sql: 'SELECT json_encode(payload.m) AS j, str(payload.l) AS l FROM "t/1"',
    input: (i) => ({ topic: 't/1', payload: `{"m": {"id": "s${i % 10}", "v": ${i % 100}, "k": [true, "x"]}, "l": [1, 2, "x"]}` }),
    js: (input) => {
      if (input.topic !== 't/1') return [];
      const p = JSON.parse(input.payload);
      return [{ j: JSON.stringify(p.m), l: JSON.stringify(p.l) }];
    },
  },
  {
    // The regex functions run RE2 (re2js): linear time whatever the pattern, at some cost per match
    // against V8's backtracking RegExp, which this hand-written side uses.
    name: 'regex functions (RE2)',
    sql: "SELECT regex_match(payload.s, '^temp_[0-9]+$') AS m, regex_extract(payload.s, '_([0-9]+)') AS n FROM \"t/1\"",
    input: (i) => ({ topic: 't/1', payload: `{"s": "temp_${i % 100}"}` }),
    js: (input) => {
      if (input.topic !== 't/1') return [];
      const s = JSON.parse(input.payload).s;
      const m = /_([0-9]+)/.exec(s);
      return [{ m: /^temp_[0-9]+$/.test(s), n: m === null ? [] : [m[1]] }];
    },
  },
];

// The machine is shared and noisy: SQL and JS are measured in alternating rounds, and each side's median
// round is kept, so a burst of outside load hits both sides rather than one. BENCH_ONLY=<text> keeps the
// cases whose name contains it; BENCH_SIDE=sql|js runs one side only (for `node --cpu-prof`).
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const only = process.env.BENCH_ONLY;
const sides = process.env.BENCH_SIDE ? [process.env.BENCH_SIDE] : ['sql', 'js'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
for (const c of cases) {
  if (only !== undefined && !c.name.includes(only)) continue;
  const rule = compileRule(c.sql);
  // Same outputs, or the comparison means nothing.
  for (const i of [0, 7, 13, 31]) {
    const a = JSON.stringify(rule.evaluate(c.input(i)));
    const b = JSON.stringify(c.js(c.input(i)));
    if (a !== b) throw new Error(`${c.name}: SQL gives ${a}, JS gives ${b}`);
  }
  const run = {
    sql: (i) => consume(rule.evaluate(c.input(i))),
    js: (i) => consume(c.js(c.input(i))),
  };
  const rounds = { sql: [], js: [] };
  for (let r = 0; r < ROUNDS; r++) for (const side of sides) rounds[side].push(opsPerSecond(run[side]));
  rows.push({ name: c.name, sql: median(rounds.sql) ?? NaN, js: median(rounds.js) ?? NaN });
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log('| rule | SQL evaluations/s | hand-written JS/s | ratio |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.sql)} | ${fmt(r.js)} | ${(r.sql / r.js).toFixed(2)} |`);

/** A rule of about `lines` lines: one field per line, then FROM and a WHERE. */
function ruleOfLines(lines) {
  const fields = [];
  for (let i = 0; i < lines - 3; i++) {
    const kind = i % 4;
    fields.push(
      kind === 0 ? `  payload.a${i}.b[1] AS f${i}` : kind === 1 ? `  upper(clientid) AS f${i}` : kind === 2 ? `  (qos + ${i}) * 2 AS f${i}` : `  CASE WHEN qos > ${i} THEN 'x' ELSE 'y' END AS f${i}`,
    );
  }
  return `SELECT\n${fields.join(',\n')}\nFROM "t/#"\nWHERE qos = 1 AND payload.x > 2`;
}

function parseMs(text) {
  const runs = [];
  for (let i = 0; i < 15; i++) {
    const start = process.hrtime.bigint();
    parseRule(text);
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  runs.sort((x, y) => x - y);
  return runs[Math.floor(runs.length / 2)];
}

if (only !== undefined) process.exit(0);

// Worst case of the regex functions: patterns that backtrack exponentially in a PCRE/RegExp engine, on
// 1 KiB of `a`s that does not match (the target: at most 10 ms per evaluation). The pattern is
// a literal (compiled once per rule) or comes from the payload (compiled once, then cached).
const CATASTROPHIC = ['^(a+)+$', '(a|a)+$', '(a|aa)+$', '(.*a){12}$', '^(\\w+\\s?)*$'];
function evaluationMs(rule, input) {
  for (let i = 0; i < 3; i++) consume(rule.evaluate(input())); // warm-up: first calls compile and JIT
  const runs = [];
  for (let i = 0; i < 15; i++) {
    const start = process.hrtime.bigint();
    consume(rule.evaluate(input()));
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  runs.sort((x, y) => x - y);
  return { median: runs[Math.floor(runs.length / 2)], max: runs[runs.length - 1] };
}
console.log('');
console.log('| catastrophic pattern, 1 KiB input | function | literal: median / max ms | from payload: median / max ms |');
console.log('|---|---|---:|---:|');
const kib = `${'a'.repeat(1023)}!`;
for (const pattern of CATASTROPHIC) {
  for (const fn of ['regex_match', 'regex_extract', 'regex_replace']) {
    const extra = fn === 'regex_replace' ? ", 'x'" : '';
    const literal = compileRule(`SELECT ${fn}(payload.s, '${pattern}'${extra}) AS r FROM "t"`);
    const dynamic = compileRule(`SELECT ${fn}(payload.s, payload.p${extra}) AS r FROM "t"`);
    const payload = JSON.stringify({ s: kib, p: pattern });
    const a = evaluationMs(literal, () => ({ topic: 't', payload }));
    const b = evaluationMs(dynamic, () => ({ topic: 't', payload }));
    console.log(`| \`${pattern}\` | ${fn} | ${a.median.toFixed(3)} / ${a.max.toFixed(3)} | ${b.median.toFixed(3)} / ${b.max.toFixed(3)} |`);
  }
}
console.log('');
console.log('| rule length (lines) | characters | median parse time (ms) | ms per line |');
console.log('|---:|---:|---:|---:|');
for (const lines of [10, 25, 50, 100, 200, 400]) {
  const text = ruleOfLines(lines);
  const ms = parseMs(text);
  console.log(`| ${lines} | ${text.length} | ${ms.toFixed(2)} | ${(ms / lines).toFixed(3)} |`);
}
if (connector === 0) console.log('');

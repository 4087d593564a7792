// Hostile rule texts (issue #10, items 5 and 6): time and memory to parse and compile rules of up to the
// length limit (maxRuleLength) built to be expensive: long lists of every kind, deep nesting, long chains.
// Each case runs in a fresh child process under a 100 MB heap cap, so one case cannot inherit another's
// garbage, and the peak resident memory it adds (maxRSS after minus before) is its own.
// Run with `node packages/sql/bench/hostile-rules-bench.js` after building (npm run bench:sql builds).
// Figures only, no assertions: packages/sql/src/hostile-rules.spec.ts asserts the outcomes.
'use strict';
const { execFileSync } = require('node:child_process');

// The default maxRuleLength; BENCH_MAX_RULE_LENGTH measures other sizes (the rules are refused past the limit).
const MAX = Number(process.env.BENCH_MAX_RULE_LENGTH ?? require('../dist/index.js').DEFAULT_PARSE_LIMITS.maxRuleLength);
const list = (n, item, separator) => Array.from({ length: n }, () => item).join(separator);
const cases = {
  'SELECT a,a,… (fields)': (n) => `SELECT ${list(n, 'a', ',')} FROM "t"`,
  'SELECT x AS k1,… (distinct aliases)': (n) => `SELECT ${Array.from({ length: n }, (_, i) => `x AS k${i}`).join(',')} FROM "t"`,
  'WHERE a IN (1,1,…)': (n) => `SELECT a FROM "t" WHERE a IN (${list(n, '1', ',')})`,
  'concat(a,a,…) (arguments)': (n) => `SELECT concat(${list(n, 'a', ',')}) AS x FROM "t"`,
  'CASE WHEN … (branches)': (n) => `SELECT CASE ${list(n, 'WHEN a = 1 THEN 1', ' ')} END AS x FROM "t"`,
  'FROM "t","t",…': (n) => `SELECT a FROM ${list(n, '"t"', ',')}`,
  '[1,1,…] (list literal)': (n) => `SELECT [${list(n, '1', ',')}] AS x FROM "t"`,
  'payload.a.a.… (path, refused)': (n) => `SELECT payload${'.a'.repeat(n)} AS x FROM "t"`,
  'a + a + … (chain, refused)': (n) => `SELECT ${list(n, 'a', '+')} AS x FROM "t"`,
  'payload[a[a[…]]] (refused)': (n) => `SELECT payload${'[a'.repeat(n)}[1${']'.repeat(n + 1)} AS x FROM "t"`,
  '((((…)))) (refused)': (n) => `SELECT ${'('.repeat(n)}1${')'.repeat(n)} AS x FROM "t"`,
  'payload[a[…]] 150 deep (accepted)': () => `SELECT payload${'[a'.repeat(150)}[1${']'.repeat(151)} AS x FROM "t"`,
  'payload[payload.i[…]] 90 deep (accepted)': () => `SELECT payload${'[payload.i'.repeat(90)}${']'.repeat(90)} AS x FROM "t"`,
  'one string literal filling the limit': () => `SELECT '${'x'.repeat(MAX - 40)}' AS x FROM "t"`,
  'limit + 1 character (refused)': () => `SELECT a FROM "t" WHERE a = '${'x'.repeat(MAX)}'`.slice(0, MAX + 1),
};

/** The rule of a case at the largest n that fits in the limit. */
function largest(make) {
  let n = 1;
  while (make(n * 2).length <= MAX && n < 1 << 20) n *= 2;
  for (let step = n >> 1; step >= 1; step >>= 1) if (make(n + step).length <= MAX) n += step;
  return make(n);
}

if (process.argv[2] === '--case') {
  const { compileRule, parseRule } = require('../dist/index.js');
  const text = largest(cases[process.argv[3]]);
  const rssBefore = process.resourceUsage().maxRSS;
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const wall = () => Number(process.hrtime.bigint()) / 1e6;
  let outcome = 'compiled';
  let parse = null;
  let compile = null;
  try {
    const [w0, c0] = [wall(), cpu()];
    try {
      parseRule(text);
    } finally {
      parse = { wall: wall() - w0, cpu: cpu() - c0 };
    }
    // compileRule parses again (warm now): the compile figure is the whole call a host makes.
    const [w1, c1] = [wall(), cpu()];
    compileRule(text);
    compile = { wall: wall() - w1, cpu: cpu() - c1 };
  } catch (error) {
    outcome = `${error.constructor.name}${error.line === undefined ? '' : ` at ${error.line}:${error.column}`}`;
  }
  const addedMb = (process.resourceUsage().maxRSS - rssBefore) / 1024;
  process.stdout.write(JSON.stringify({ chars: text.length, parse, compile, addedMb, outcome }));
  process.exit(0);
}

console.log(`| rule (≤ ${MAX} characters) | characters | parseRule wall / CPU (ms) | compileRule wall / CPU (ms) | peak memory added (MB) | outcome |`);
console.log('|---|---:|---:|---:|---:|---|');
for (const name of Object.keys(cases)) {
  let row;
  try {
    const out = execFileSync(process.execPath, ['--max-old-space-size=100', __filename, '--case', name], { encoding: 'utf8', timeout: 60_000 });
    row = JSON.parse(out);
  } catch (error) {
    row = { chars: NaN, parse: null, compile: null, addedMb: NaN, outcome: `crashed: ${String(error.message).split('\n')[0]}` };
  }
  const f = (t) => (t === null ? '–' : `${t.wall.toFixed(0)} / ${t.cpu.toFixed(0)}`);
  console.log(`| ${name} | ${row.chars} | ${f(row.parse)} | ${f(row.compile)} | ${row.addedMb.toFixed(0)} | ${row.outcome} |`);
}

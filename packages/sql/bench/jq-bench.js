// jq() benchmark: what one call costs, where the time goes, and what a runaway program costs. Run with
// `npm run bench:jq` (it builds first). Figures only, no assertions.
//
// Rows: jq-wasm's synchronous handle on this thread (jq itself: it parses and compiles the program on
// every call, since the build exposes jq's command line, not libjq's compile/run split), the same call
// through Sluice's JqRunner (worker thread, Atomics.wait), and a whole rule evaluation using jq.
'use strict';
const { performance } = require('node:perf_hooks');
const { compileRule } = require('../dist/index.js');
const { JqRunner } = require('../dist/jq/jq-runner.js');

const CALLS = Number(process.env.BENCH_CALLS ?? 500);

// About 200 bytes each, the size of a typical sensor message.
const OBJECT_PAYLOAD = JSON.stringify({
  a: { b: 42, unit: 'celsius', sensor: 'boiler-7' },
  site: 'plant-3/line-2',
  ts: 1733450000123,
  tags: ['hot', 'critical'],
  extra: 'x'.repeat(60),
});
const LIST_PAYLOAD = JSON.stringify([
  { x: 1, n: 'alpha-sensor' },
  { x: 2, n: 'beta-sensor' },
  { x: 3, n: 'gamma-sensor' },
  { x: 0, n: 'delta-sensor' },
  { x: 5, n: 'epsilon-sensor' },
  { x: -1, n: 'zeta-sensor' },
]);
const PROGRAMS = [
  ['.a.b', OBJECT_PAYLOAD],
  ['[.[] | select(.x > 1)]', LIST_PAYLOAD],
];

/** Mean wall time of one call in microseconds, after a warm-up. */
function perCall(fn) {
  for (let i = 0; i < 50; i++) fn();
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) fn();
  return ((performance.now() - start) * 1000) / CALLS;
}

const row = (label, us) => console.log(`| ${label.padEnd(58)} | ${us.toFixed(0).padStart(7)} | ${(1e6 / us).toFixed(0).padStart(7)} |`);

async function main() {
  console.log(`payload sizes: ${OBJECT_PAYLOAD.length} and ${LIST_PAYLOAD.length} bytes; ${CALLS} calls per row\n`);
  console.log(`| ${'what'.padEnd(58)} | µs/call | calls/s |`);
  console.log(`|${'-'.repeat(60)}|---------|---------|`);

  const { loadJq } = require('jq-wasm');
  const jq = await loadJq();
  for (const [program, payload] of PROGRAMS) row(`jq-wasm handle, this thread: ${program}`, perCall(() => jq.raw(payload, program, ['-c'])));

  const runner = new JqRunner(64 * 1024 * 1024);
  let start = performance.now();
  runner.run('.', '1', { timeoutMs: 10_000, maxOutput: 1e6 });
  const coldStart = performance.now() - start;
  for (const [program, payload] of PROGRAMS) {
    row(`JqRunner (worker): ${program}`, perCall(() => runner.run(program, payload, { timeoutMs: 1000, maxOutput: 4e6 })));
  }
  // the round trip alone: a program jq rejects at once still crosses to the worker and back
  row('JqRunner round trip + jq start-up (program `empty`)', perCall(() => runner.run('empty', 'null', { timeoutMs: 1000, maxOutput: 4e6 })));

  const rules = [
    ["SELECT jq('.a.b', payload) AS b FROM \"t\"", OBJECT_PAYLOAD],
    ["FOREACH jq('.[] | select(.x > 1)', payload) AS s DO s.n AS n FROM \"t\"", LIST_PAYLOAD],
    ['SELECT payload.a.b AS b FROM "t"', OBJECT_PAYLOAD],
  ];
  for (const [sql, payload] of rules) {
    const rule = compileRule(sql);
    row(`rule: ${sql.slice(0, 52)}`, perCall(() => rule.evaluate({ topic: 't', payload })));
  }

  console.log(`\ncold start of a jq worker (load the module, first call): ${coldStart.toFixed(0)} ms`);
  for (const [label, program, timeoutMs] of [
    ['repeat(1)', 'repeat(1)', 100],
    ['[range(1e9)] (memory)', '[range(1e9)]', 10_000],
  ]) {
    start = performance.now();
    const outcome = runner.run(program, 'null', { timeoutMs, maxOutput: 4e6 });
    const stopped = performance.now() - start;
    start = performance.now();
    runner.run('.a.b', OBJECT_PAYLOAD, { timeoutMs: 10_000, maxOutput: 4e6 });
    const next = performance.now() - start;
    console.log(`${label}: ${outcome.kind} after ${stopped.toFixed(0)} ms (budget ${timeoutMs} ms); next call, on a new worker: ${next.toFixed(0)} ms`);
  }
  runner.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

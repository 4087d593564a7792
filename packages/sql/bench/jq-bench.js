// jq() benchmark: what one call costs, where the time goes, and what a runaway program costs. Run with
// `npm run bench:jq` (it builds first). Figures only, no assertions.
//
// Rows: jq-wasm's synchronous handle on this thread, which runs jq's command line and so parses and
// compiles the program (and jq's builtins) on every call; Sluice's JqRunner, which keeps jq running per
// program on a worker thread and streams inputs into it (same program every call), and the same with two
// programs alternating on one worker (jq restarted at each call: what programs taken from messages
// cost); whole rule evaluations using jq, beside a plain path. Wall time per call, the median of 5
// batches (the machine is shared: the median drops the batches another process slowed down).
'use strict';
const { performance } = require('node:perf_hooks');
const { compileRule } = require('../dist/index.js');
const { JqRunner } = require('../dist/jq/jq-runner.js');

const CALLS = Number(process.env.BENCH_CALLS ?? 200);

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

/** Wall time of one call in microseconds: the median over 5 batches, after a warm-up. */
function perCall(fn) {
  for (let i = 0; i < 50; i++) fn(i);
  const batches = [];
  for (let b = 0; b < 5; b++) {
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) fn(i);
    batches.push(((performance.now() - start) * 1000) / CALLS);
  }
  return batches.sort((x, y) => x - y)[2];
}

const row = (label, us) => console.log(`| ${label.padEnd(58)} | ${us.toFixed(0).padStart(7)} | ${(1e6 / us).toFixed(0).padStart(7)} |`);

async function main() {
  console.log(`payload sizes: ${OBJECT_PAYLOAD.length} and ${LIST_PAYLOAD.length} bytes; 5 batches of ${CALLS} calls per row\n`);
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
  // the round trip with (almost) nothing for jq to do
  row('JqRunner (worker): empty', perCall(() => runner.run('empty', 'null', { timeoutMs: 1000, maxOutput: 4e6 })));
  // two programs taking turns on one worker: jq is started and compiles the program at every call
  const [[p1, d1], [p2, d2]] = PROGRAMS;
  row('JqRunner (worker), the two programs alternating', perCall((i) => (i % 2 === 0 ? runner.run(p1, d1, { timeoutMs: 1000, maxOutput: 4e6 }) : runner.run(p2, d2, { timeoutMs: 1000, maxOutput: 4e6 }))));

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
    // The stopped worker's replacement starts in the background; calls fail fast ('restarting') until
    // it is ready. Poll (without blocking on a budget) to time how long jq is unavailable.
    start = performance.now();
    let failedFast = 0;
    while (runner.run('.a.b', OBJECT_PAYLOAD, { timeoutMs: 10_000, maxOutput: 4e6 }).kind === 'restarting') {
      failedFast++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const unavailable = performance.now() - start;
    console.log(`${label}: ${outcome.kind} after ${stopped.toFixed(0)} ms (budget ${timeoutMs} ms); jq answering again after ${unavailable.toFixed(0)} ms (${failedFast} calls failed fast meanwhile)`);
  }
  runner.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

// Prints how long scrub takes per log line: an ordinary line with 10 secrets (the common case, paid on every
// line), and repetitive lines with repetitive secrets (the worst case, which must stay linear in the line's
// length). Figures only, no pass/fail: run `npx tsc -b packages/cli && node packages/cli/bench/scrub-bench.js`.
'use strict';
const { scrub } = require('../dist/secret-scrub');

function perLine(line, secrets, minMs = 300) {
  scrub(line, secrets);
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs * 1e6) {
    for (let i = 0; i < 100; i++) scrub(line, secrets);
    runs += 100;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  return elapsed / runs / 1e3;
}

const ordinary = JSON.stringify({ level: 30, time: 1, msg: 'action failed', rule: 'r1', action: 'a1', error: 'x'.repeat(200) });
const quoted = new Set(Array.from({ length: 10 }, (_, i) => `secret-${i}-Zq"w\\e${i}xyzw`));
const plain = new Set(Array.from({ length: 10 }, (_, i) => `Pl41nSecretValue${i}abc`));
console.log(`ordinary ${ordinary.length}-char line, 10 secrets with quote and backslash: ${perLine(ordinary, quoted).toFixed(2)} µs`);
console.log(`ordinary ${ordinary.length}-char line, 10 plain secrets: ${perLine(ordinary, plain).toFixed(2)} µs`);
for (const [secret, unit] of [['a'.repeat(16), 'a'], ['a'.repeat(4096), 'a'], ['ab'.repeat(128), 'ab']]) {
  for (const length of [1e4, 1e5, 1e6]) {
    const line = unit.repeat(length / unit.length);
    console.log(`${secret.length}-char secret of ${JSON.stringify(unit)}, ${length}-char line of it: ${(perLine(line, new Set([secret]), 100) / 1e3).toFixed(2)} ms`);
  }
}

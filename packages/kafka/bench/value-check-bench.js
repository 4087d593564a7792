// Per-record cost of the Kafka action's value checks and schema encodings: `check.value: json` (our scanner
// beside JSON.parse, the obvious alternative) and `valueSchema` (Avro, JSON Schema) beside the default
// `${.}` rendering (JSON.stringify of the output). Run with `npm run bench:kafka-values` (it builds first).
// Plain JavaScript over the built package; figures only, no assertions. CPU time, not wall time: the
// machine is shared.
'use strict';
const { JsonChecker } = require('../dist/json-check.js');
const { compileCodec } = require('../dist/value-codecs.js');

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.5);
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

function opsPerSecond(fn) {
  const warmUntil = cpuSeconds() + 0.1;
  while (cpuSeconds() < warmUntil) for (let i = 0; i < 1000; i++) fn(i);
  let calls = 0;
  const start = cpuSeconds();
  let now = start;
  while (now < start + SECONDS) {
    for (let i = 0; i < 1000; i++) fn(i);
    calls += 1000;
    now = cpuSeconds();
  }
  return calls / (now - start);
}

let sink = 0;
const small = '{"temp": 27.5, "hum": 41.8}';
const reading = { clientid: 'dev-0001', timestamp: 1700000000123, temp: 27.5, hum: 41.8, site: 'north', line: 3, ok: true };
const large = JSON.stringify({ ...reading, samples: Array.from({ length: 60 }, (_, i) => ({ t: 1700000000000 + i, v: i * 0.5, tag: `s${i}` })) });
const invalid = '{"temp": n/a, "hum": 41.8}';
const checker = new JsonChecker();
const row = (name, ops, note = '') => console.log(`${name.padEnd(58)} ${(ops / 1e6).toFixed(2).padStart(7)} M/s  ${(1e9 / ops).toFixed(0).padStart(6)} ns/record${note}`);

console.log(`check.value: json (CPU time, ${SECONDS} s per figure; node ${process.version})`);
for (const [label, text] of [[`small value (${small.length} chars)`, small], [`${(large.length / 1024).toFixed(1)} KB value (${large.length} chars)`, large], ['invalid value (fails at char 10)', invalid]]) {
  row(`  JsonChecker.problem, ${label}`, opsPerSecond(() => (sink += checker.problem(text) === undefined ? 1 : 0)));
  row(`  JSON.parse in try/catch, ${label}`, opsPerSecond(() => {
    try {
      JSON.parse(text);
      sink++;
    } catch {
      sink--;
    }
  }));
}

const avro = compileCodec('AVRO', JSON.stringify({
  type: 'record', name: 'Reading', fields: [
    { name: 'clientid', type: 'string' }, { name: 'timestamp', type: 'long' }, { name: 'temp', type: 'double' },
    { name: 'hum', type: 'double' }, { name: 'site', type: ['null', 'string'], default: null }, { name: 'line', type: 'int' }, { name: 'ok', type: 'boolean' },
  ],
}));
const jsonSchema = compileCodec('JSON', JSON.stringify({
  type: 'object', required: ['clientid', 'temp'],
  properties: { clientid: { type: 'string' }, timestamp: { type: 'integer' }, temp: { type: 'number' }, hum: { type: 'number' }, site: { type: 'string' }, line: { type: 'integer' }, ok: { type: 'boolean' } },
}));
console.log('\nvalueSchema, a 7-field reading (framed value: magic byte + id + encoding)');
row('  ${.} rendering: Buffer.from(JSON.stringify(output)) (baseline)', opsPerSecond(() => (sink += Buffer.from(JSON.stringify(reading)).length)));
row('  Avro (avsc), encode + frame', opsPerSecond(() => (sink += avro.encode(reading, 7).length)), `  (${avro.encode(reading, 7).length} bytes vs ${JSON.stringify(reading).length} as JSON)`);
row('  JSON Schema (ajv), validate + stringify + frame', opsPerSecond(() => (sink += jsonSchema.encode(reading, 7).length)));
const misfit = { ...reading, temp: 'n/a' };
row('  Avro, an output that does not fit (error with the field path)', opsPerSecond(() => {
  try {
    avro.encode(misfit, 7);
  } catch {
    sink++;
  }
}));
if (sink === 42) console.log('');

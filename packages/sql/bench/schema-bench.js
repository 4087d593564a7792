// Binary-format benchmarks: evaluations per CPU second of rules that decode or encode with schemas
// (schema_decode / schema_encode / schema_check, sparkplug_decode / sparkplug_encode), beside the same
// rule reading a JSON payload, and the worst hostile payloads' cost. Run with
// `tsc -b packages/sql && node packages/sql/bench/schema-bench.js`. Figures only, no assertions.
'use strict';
const { SqlRuleEngine } = require('../dist/index.js');

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.4);
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
function opsPerSecond(fn) {
  const warmUntil = cpuSeconds() + 0.05;
  while (cpuSeconds() < warmUntil) for (let i = 0; i < 1_000; i++) fn(i);
  let calls = 0;
  const start = cpuSeconds();
  let now = start;
  while (now < start + SECONDS) {
    for (let i = 0; i < 1_000; i++) fn(i);
    calls += 1_000;
    now = cpuSeconds();
  }
  return calls / (now - start);
}

const engine = new SqlRuleEngine({
  schemas: [
    { name: 'reading', type: 'protobuf', source: 'syntax = "proto3"; message Reading { string device = 1; double temp = 2; uint64 ts = 3; repeated int32 samples = 4; }' },
    { name: 'reading_avro', type: 'avro', source: JSON.stringify({ type: 'record', name: 'Reading', fields: [{ name: 'device', type: 'string' }, { name: 'temp', type: 'double' }, { name: 'ts', type: 'long' }, { name: 'samples', type: { type: 'array', items: 'int' } }] }) },
    { name: 'reading_json', type: 'json', source: JSON.stringify({ type: 'object', properties: { device: { type: 'string' }, temp: { type: 'number' }, ts: { type: 'integer' } }, required: ['device', 'temp'] }) },
  ],
});
const reading = { device: 'boiler-1', temp: 71.5, ts: 1700000000000, samples: [1, 2, 3, 4] };
const json = JSON.stringify(reading);
const encodeWith = (sql) => engine.compileRule(sql).evaluate({ topic: 't', payload: json })[0].e;
const protobuf = encodeWith("SELECT schema_encode('reading', json_decode(payload), 'Reading') AS e FROM \"t\"");
const avro = encodeWith("SELECT schema_encode('reading_avro', json_decode(payload)) AS e FROM \"t\"");
const sparkplug = Buffer.from(
  'CPHh67HrMBIqChxjb3VudGVyX2dyb3VwMS9jb3VudGVyMV8xc2VjGPXh67HrMCACUKgDEikKHGNvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxXzVzZWMY9eHrseswIAJQVBIqCh1jb3VudGVyX2dyb3VwMS9jb3VudGVyMV8xMHNlYxj14eux6zAgAlAqEigKG2NvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxX3J1bhj14eux6zAgBVABEioKHWNvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxX3Jlc2V0GPXh67HrMCAFUAAYWA==',
  'base64',
);

let sink = 0;
const cases = [
  ['JSON payload, payload.temp (baseline)', 'SELECT payload.device AS d, payload.temp AS t FROM "t"', json],
  ['schema_decode protobuf (4 fields)', "SELECT schema_decode('reading', payload, 'Reading') AS r FROM \"t\"", protobuf],
  ['schema_decode avro (4 fields)', "SELECT schema_decode('reading_avro', payload) AS r FROM \"t\"", avro],
  ['schema_decode json schema', "SELECT schema_decode('reading_json', payload) AS r FROM \"t\"", json],
  ['schema_check json schema', "SELECT schema_check('reading_json', payload) AS ok FROM \"t\"", json],
  ['schema_encode protobuf', "SELECT schema_encode('reading', json_decode(payload), 'Reading') AS e FROM \"t\"", json],
  ['schema_encode avro', "SELECT schema_encode('reading_avro', json_decode(payload)) AS e FROM \"t\"", json],
  ['sparkplug_decode (EMQX example, 5 metrics)', 'SELECT sparkplug_decode(payload) AS p FROM "t"', sparkplug],
  ['FOREACH over sparkplug metrics (5 outputs)', "FOREACH map_get('metrics', sparkplug_decode(payload)) AS m DO m.name AS n, m.int_value AS v FROM \"t\"", sparkplug],
];
console.log(`payload sizes: protobuf ${protobuf.length} B, avro ${avro.length} B, sparkplug ${sparkplug.length} B, json ${json.length} B`);
for (const [label, sql, payload] of cases) {
  const rule = engine.compileRule(sql);
  const ops = opsPerSecond(() => {
    sink += rule.evaluate({ topic: 't', payload }).length;
  });
  console.log(`${label.padEnd(56)} ${Math.round(ops).toLocaleString('en-US').padStart(10)} evaluations/s`);
}

// Hostile: the worst each decoder does with 1 MiB of device bytes, per message (ms of CPU).
const hostile = new SqlRuleEngine({
  schemas: [
    { name: 'nulls', type: 'avro', source: JSON.stringify({ type: 'array', items: 'null' }) },
    { name: 'nest', type: 'protobuf', source: 'syntax = "proto3"; message Node { Node child = 1; repeated int32 v = 2; }' },
  ],
});
const MiB = 1024 * 1024;
const levels = MiB / 4;
const deep = Buffer.alloc(levels * 4);
for (let i = 0; i < levels; i++) {
  const length = deep.length - (i + 1) * 4;
  deep.set([0x0a, (length & 0x7f) | 0x80, ((length >> 7) & 0x7f) | 0x80, length >> 14], i * 4);
}
const packed = Buffer.concat([Buffer.from([0x12, 0x80, 0x80, 0x40]), Buffer.alloc(MiB, 0x01)]);
const hostileCases = [
  ['avro: block of 2^62 nulls', "SELECT schema_decode('nulls', payload) AS d FROM \"t\"", Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00])],
  ['protobuf: 1 MiB of nested messages (262,144 levels)', "SELECT schema_decode('nest', payload, 'Node') AS d FROM \"t\"", deep],
  ['protobuf: 1 MiB packed varints (1,048,576 ints)', "SELECT schema_decode('nest', payload, 'Node') AS d FROM \"t\"", packed],
  ['sparkplug: 1 MiB of zeros', 'SELECT sparkplug_decode(payload) AS d FROM "t"', Buffer.alloc(MiB)],
];
for (const [label, sql, payload] of hostileCases) {
  const rule = hostile.compileRule(sql);
  const heapBefore = process.memoryUsage().heapUsed;
  const start = cpuSeconds();
  let outcome;
  try {
    sink += rule.evaluate({ topic: 't', payload }).length;
    outcome = 'decoded';
  } catch (error) {
    outcome = `failed: ${error.message.slice(0, 70)}`;
  }
  const ms = (cpuSeconds() - start) * 1000;
  const heap = (process.memoryUsage().heapUsed - heapBefore) / MiB;
  console.log(`${label.padEnd(56)} ${ms.toFixed(1).padStart(8)} ms  heap +${heap.toFixed(1)} MiB  ${outcome}`);
}
if (sink < 0) console.log(sink);

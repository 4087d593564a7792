// Runs examples/sparkplug-to-kafka/sluice.yaml against real brokers: binary payloads published to Mosquitto,
// JSON records read back from Kafka. Topics are renamed per run so parallel runs do not collide, and the
// Kafka address is the test broker's. The payloads are made without Sluice's codecs: EMQX's own
// Sparkplug B test payload, and protobufjs encoding with a .proto of its own.
import { afterEach, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync, parse } from 'protobufjs';
import { silentLogger, type Integration } from '@sluice/core';
import { composeFromConfig, loadConfigFile } from '@sluice/cli';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName } from '@sluice/testkit';

const EXAMPLE = join(__dirname, '..');
// EMQX's emqx_schema_registry_SUITE payload: a DDATA-style Payload with five int metrics, seq 88.
const EMQX_SPARKPLUG_PAYLOAD = Buffer.from(
  'CPHh67HrMBIqChxjb3VudGVyX2dyb3VwMS9jb3VudGVyMV8xc2VjGPXh67HrMCACUKgDEikKHGNvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxXzVzZWMY9eHrseswIAJQVBIqCh1jb3VudGVyX2dyb3VwMS9jb3VudGVyMV8xMHNlYxj14eux6zAgAlAqEigKG2NvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxX3J1bhj14eux6zAgBVABEioKHWNvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxX3Jlc2V0GPXh67HrMCAFUAAYWA==',
  'base64',
);
// The few Sparkplug B fields the second payload uses, with their field numbers from the specification.
const SPARKPLUG_SUBSET = parse(`syntax = "proto2";
  message Payload { optional uint64 timestamp = 1; repeated Metric metrics = 2; optional uint64 seq = 3; }
  message Metric { optional string name = 1; optional uint64 timestamp = 3; optional uint32 datatype = 4;
                   optional double double_value = 13; optional bool boolean_value = 14; }`, { keepCase: true }).root.lookupType('Payload');

const TOPICS = ['sparkplug-metrics', 'readings'] as const;
let app: Integration | undefined;
let renamed: Record<string, string> = {};
afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const topic of Object.values(renamed)) await deleteTopic(topic);
});

it('turns Sparkplug B and protobuf payloads into JSON records', async () => {
  renamed = Object.fromEntries(TOPICS.map((t) => [t, randomName(t)]));
  for (const topic of Object.values(renamed)) await createTopic(topic, 1);
  const group = randomName('group');
  const plant = randomName('plant');
  let text = readFileSync(join(EXAMPLE, 'sluice.yaml'), 'utf8')
    .replace('"spBv1.0/+/DDATA/+/+"', `"spBv1.0/${group}/DDATA/+/+"`)
    .replace('"plant/+/reading"', `"${plant}/+/reading"`)
    .replace('file: ./schemas/reading.proto', `file: ${join(EXAMPLE, 'schemas', 'reading.proto')}`)
    .replace('bootstrapHosts: [127.0.0.1:19092]', `bootstrapHosts: [${kafkaBroker().bootstrap}]`)
    .replace('id: plant', `id: plant\n    clientId: ${randomName('sparkplug')}\n    session: { persistent: false }`);
  for (const [from, to] of Object.entries(renamed)) text = text.replaceAll(`topic: ${from}\n`, `topic: ${to}\n`);
  // every replacement must have happened, or the app would listen or write elsewhere than the test looks
  for (const part of [group, plant, kafkaBroker().bootstrap, 'schemas/reading.proto', ...Object.values(renamed)]) expect(text).toContain(part);
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-sparkplug-')), 'sluice.yaml');
  writeFileSync(file, text);

  app = await composeFromConfig(loadConfigFile(file, {}), silentLogger);
  await app.start();

  await publish(mqttUrl(), `spBv1.0/${group}/DDATA/edge-1/counter-1`, EMQX_SPARKPLUG_PAYLOAD, { qos: 1 });
  const second = SPARKPLUG_SUBSET.encode({
    timestamp: 1700000000000,
    seq: 89,
    metrics: [
      { name: 'boiler/temp', timestamp: 1700000000001, datatype: 10, double_value: 71.25 },
      { name: 'boiler/on', timestamp: 1700000000002, datatype: 11, boolean_value: true },
    ],
  }).finish();
  await publish(mqttUrl(), `spBv1.0/${group}/DDATA/edge-1/boiler-1`, Buffer.from(second), { qos: 1 });
  const reading = loadSync(join(EXAMPLE, 'schemas', 'reading.proto')).lookupType('plant.Reading');
  const readingBytes = reading.encode({ device: 'boiler-1', temp: 71.5, ts: 1700000000000, status: 1 }).finish();
  await publish(mqttUrl(), `${plant}/line-3/reading`, Buffer.from(readingBytes), { qos: 1 });

  const metrics = await consumeRecords(renamed['sparkplug-metrics'] as string, 7);
  expect(metrics.map((r) => r.key)).toEqual([
    'edge-1/counter-1/counter_group1/counter1_1sec',
    'edge-1/counter-1/counter_group1/counter1_5sec',
    'edge-1/counter-1/counter_group1/counter1_10sec',
    'edge-1/counter-1/counter_group1/counter1_run',
    'edge-1/counter-1/counter_group1/counter1_reset',
    'edge-1/boiler-1/boiler/temp',
    'edge-1/boiler-1/boiler/on',
  ]);
  const values = metrics.map((r) => JSON.parse(r.value ?? 'null') as Record<string, unknown>);
  expect(values[0]).toEqual({
    group_id: group, edge_node: 'edge-1', device: 'counter-1', metric: 'counter_group1/counter1_1sec', ts: 1678094561525, datatype: 2, value: 424,
  });
  expect(values.slice(5)).toEqual([
    { group_id: group, edge_node: 'edge-1', device: 'boiler-1', metric: 'boiler/temp', ts: 1700000000001, datatype: 10, value: 71.25 },
    { group_id: group, edge_node: 'edge-1', device: 'boiler-1', metric: 'boiler/on', ts: 1700000000002, datatype: 11, value: true },
  ]);

  const [record] = await consumeRecords(renamed['readings'] as string, 1);
  expect(record?.key).toBe('boiler-1');
  expect(record?.value).toBe('{"line": "line-3", "device": "boiler-1", "temp": 71.5, "status": "DEGRADED", "ts": 1700000000000}');
  expect(app.metrics.rule('readings')?.failed).toBe(0);
});

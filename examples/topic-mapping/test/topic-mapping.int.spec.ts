// Runs examples/topic-mapping/sluice.yaml against real brokers, with its Kafka topics and MQTT root
// renamed so parallel runs do not collide, and its Kafka address replaced by the test broker's (which
// may run on other ports: SLUICE_KAFKA_PORT_BASE, or the Kafka 3.9 run of scripts/kafka-compat.js).
import { afterEach, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Integration } from '@sluice/core';
import { composeFromConfig, loadConfigFile } from '@sluice/cli';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName } from '@sluice/testkit';

const TOPICS = ['readings-history', 'readings-latest', 'alerts', 'device-status'] as const;
let app: Integration | undefined;
let renamed: Record<string, string> = {};
afterEach(async () => {
  await app?.stop();
  for (const topic of Object.values(renamed)) await deleteTopic(topic);
});

it('one rule feeds two topics, and two rules feed one topic', async () => {
  renamed = Object.fromEntries(TOPICS.map((t) => [t, randomName(t)]));
  for (const topic of Object.values(renamed)) await createTopic(topic, 1);
  const root = randomName('site');
  let text = readFileSync(join(__dirname, '..', 'sluice.yaml'), 'utf8')
    .replaceAll('site/+/', `${root}/+/`)
    .replace('bootstrapHosts: [127.0.0.1:19092]', `bootstrapHosts: [${kafkaBroker().bootstrap}]`)
    .replace('id: plant', `id: plant\n    clientId: ${randomName('mapping')}\n    session: { persistent: false }`);
  for (const [from, to] of Object.entries(renamed)) text = text.replaceAll(`topic: ${from}\n`, `topic: ${to}\n`);
  // the example's address must have been swapped, or the app would write to another broker than the one read
  expect(text).toContain(`bootstrapHosts: [${kafkaBroker().bootstrap}]`);
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-mapping-')), 'sluice.yaml');
  writeFileSync(file, text);

  app = await composeFromConfig(loadConfigFile(file, {}), silentLogger);
  await app.start();
  await publish(mqttUrl(), `${root}/berlin/boiler-1/reading`, '{"temp": 71.5}', { qos: 1 });
  await publish(mqttUrl(), `${root}/berlin/boiler-1/alarm`, '{"code": 17}', { qos: 1 });
  await publish(mqttUrl(), `${root}/oslo/pump-2/status`, '{"online": false}', { qos: 1 });

  const values = async (topic: string, n: number): Promise<Array<[string | null, string | null]>> =>
    (await consumeRecords(renamed[topic] as string, n)).map((r) => [r.key, r.value]);
  expect(await values('readings-history', 1)).toEqual([['boiler-1', '{"site": "berlin", "device": "boiler-1", "temp": 71.5}']]);
  expect(await values('readings-latest', 1)).toEqual([['berlin.boiler-1', '71.5']]);
  expect((await values('alerts', 2)).sort()).toEqual([
    ['boiler-1', '{"kind": "alarm", "device": "boiler-1", "code": 17}'],
    ['pump-2', '{"kind": "status", "device": "pump-2", "online": false}'],
  ]);
  expect(await values('device-status', 1)).toEqual([['pump-2', 'false']]);
});

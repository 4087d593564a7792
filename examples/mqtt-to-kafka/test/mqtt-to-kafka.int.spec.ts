// Runs examples/mqtt-to-kafka/sluice.yaml as a user would (through the CLI's config loader), with only
// the Kafka topic renamed so parallel runs do not collide.
import { afterEach, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Integration } from '@sluice/core';
import { composeFromConfig, loadConfigFile, main } from '@sluice/cli';
import { consumeRecords, createTopic, deleteTopic, mqttUrl, publish, randomName } from '@sluice/testkit';

let app: Integration | undefined;
let topic: string | undefined;
afterEach(async () => {
  await app?.stop();
  if (topic !== undefined) await deleteTopic(topic);
});

it('examples/mqtt-to-kafka/sluice.yaml validates, runs, and lands readings in Kafka', async () => {
  topic = randomName('example-emqx');
  const mqttTopic = `${randomName('temp_hum')}/emqx`;
  await createTopic(topic, 1);
  const original = readFileSync(join(__dirname, '..', 'sluice.yaml'), 'utf8');
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-example-')), 'sluice.yaml');
  writeFileSync(
    file,
    original
      .replace('topic: emqx', `topic: ${topic}`)
      .replace('FROM "temp_hum/emqx"', `FROM "${mqttTopic}"`)
      .replace('id: plant', `id: plant\n    clientId: ${randomName('example')}\n    session: { persistent: false }`),
  );

  const out: string[] = [];
  const code = await main(['validate', '-c', file], { out: (t) => out.push(t), err: (t) => out.push(t), env: {} });
  expect([code, out.join('\n')]).toEqual([0, `${file} is valid: 1 source(s), 1 connector(s), 1 rule(s), 1 action(s)`]);

  app = await composeFromConfig(loadConfigFile(file, {}), silentLogger);
  await app.start();
  await publish(mqttUrl(), mqttTopic, '{"temp": "27.5", "hum": "41.8"}', { qos: 1, protocolVersion: 5, properties: { userProperties: { clientid: 'sensor-1' } } });
  const [record] = await consumeRecords(topic, 1);
  expect([record?.key, record?.value]).toEqual(['sensor-1', '{"temp": 27.5, "hum": 41.8}']);
  expect(app.metrics.action('kafka_emqx')).toMatchObject({ success: 1, failed: 0 });
});

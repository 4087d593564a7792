// The embedding example against real Mosquitto and Kafka: the client id comes from a topic segment; Sluice's
// API and console are mounted under /sluice of the host's Fastify server, the API behind the token.
import { afterEach, expect, it } from '@jest/globals';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName } from '@sluice/testkit';
import { startService, type RunningService } from '../src/service';

let service: RunningService | undefined;
let topic: string | undefined;
afterEach(async () => {
  await service?.close();
  if (topic !== undefined) await deleteTopic(topic);
});

it('runs inside the host service, serves its health and pipeline metrics, Sluice\'s console and API under /sluice, and stops with it', async () => {
  topic = randomName('embed');
  const root = randomName('devices');
  await createTopic(topic, 1);
  service = await startService({
    port: 0,
    mqttUrl: mqttUrl(),
    mqttClientId: randomName('embed-example'),
    kafkaBootstrap: kafkaBroker().bootstrap,
    kafkaTopic: topic,
    deviceRoot: root,
    sluiceToken: 'host-s3cret',
  });
  const port = (service.server.address() as { port: number }).port;

  await publish(mqttUrl(), `${root}/boiler-3/telemetry`, '{"temp": 71.5}', { qos: 1 });
  const [record] = await consumeRecords(topic, 1);
  expect([record?.key, record?.value]).toEqual(['boiler-3', '{"device": "boiler-3", "temp": 71.5}']);

  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);
  const pipeline = (await (await fetch(`http://127.0.0.1:${port}/pipeline`)).json()) as { rules: Record<string, { matched: number }> };
  expect(pipeline.rules['telemetry']?.matched).toBe(1);

  // the console (the built @sluice/console) under the prefix: its base is /sluice/, so its API calls are too
  const page = await fetch(`http://127.0.0.1:${port}/sluice/rules/telemetry`);
  expect([page.status, page.headers.get('content-security-policy')]).toEqual([200, expect.stringContaining("script-src 'self'")]);
  expect(await page.text()).toContain('<base href="/sluice/">');
  // the API under the prefix wants the token for reads too
  const refused = await fetch(`http://127.0.0.1:${port}/sluice/api/rules`);
  expect([refused.status, await refused.json()]).toEqual([401, expect.objectContaining({ code: 'ERR_UNAUTHORIZED' })]);
  const auth = { authorization: 'Bearer host-s3cret' };
  const rules = (await (await fetch(`http://127.0.0.1:${port}/sluice/api/rules`, { headers: auth })).json()) as Array<{ id: string; metrics: { matched: number } }>;
  expect(rules).toEqual([expect.objectContaining({ id: 'telemetry', metrics: expect.objectContaining({ matched: 1 }) })]);
  expect(await (await fetch(`http://127.0.0.1:${port}/sluice/api/session`, { headers: auth })).json()).toEqual({ tokenRequired: true, version: expect.any(String) });
  // what the console's Messages page reads: the record the rule wrote, through the Kafka connector
  const messages = await fetch(`http://127.0.0.1:${port}/sluice/api/connectors/kafka/messages?topic=${topic}&limit=5`, { headers: auth });
  expect([messages.status, await messages.json()]).toEqual([200, { records: [expect.objectContaining({ key: { text: 'boiler-3', encoding: 'utf8' }, value: { text: '{"device": "boiler-3", "temp": 71.5}', encoding: 'utf8' } })] }]);
});

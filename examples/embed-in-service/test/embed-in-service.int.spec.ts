// The embedding example against real Mosquitto and Kafka: the client id comes from a topic segment.
import { afterEach, expect, it } from '@jest/globals';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName } from '@sluice/testkit';
import { startService, type RunningService } from '../src/service';

let service: RunningService | undefined;
let topic: string | undefined;
afterEach(async () => {
  await service?.close();
  if (topic !== undefined) await deleteTopic(topic);
});

it('runs inside the host service, serves its health and pipeline metrics, and stops with it', async () => {
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
  });
  const port = (service.server.address() as { port: number }).port;

  await publish(mqttUrl(), `${root}/boiler-3/telemetry`, '{"temp": 71.5}', { qos: 1 });
  const [record] = await consumeRecords(topic, 1);
  expect([record?.key, record?.value]).toEqual(['boiler-3', '{"device": "boiler-3", "temp": 71.5}']);

  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);
  const pipeline = (await (await fetch(`http://127.0.0.1:${port}/pipeline`)).json()) as { rules: Record<string, { matched: number }> };
  expect(pipeline.rules['telemetry']?.matched).toBe(1);
});

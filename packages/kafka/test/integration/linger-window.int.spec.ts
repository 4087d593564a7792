// A full MQTT window ends the Kafka action's linger (the MQTT source's `stalled`, the action's `sendNow`), through
// the real path: Mosquitto, Sluice's at-least-once MQTT source with a window of 5 unacknowledged messages, and a
// Kafka action lingering 10 minutes. With the window full the broker sends nothing more until acknowledgements go
// out, and those wait for Kafka: without the stall the five records would wait out the whole linger.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, type Integration, silentLogger } from '@sluice/core';
import { mqttModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName } from '@sluice/testkit';
import { kafkaModule } from '../../src/kafka-module';

const WINDOW = 5;

let app: Integration | undefined;
let kafkaTopic: string;
let prefix: string;

beforeEach(async () => {
  kafkaTopic = randomName('linger-window');
  prefix = randomName('dev');
  await createTopic(kafkaTopic, 1);
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await deleteTopic(kafkaTopic);
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition() && Date.now() < end) await sleep(50);
}

describe('a full MQTT window ends the Kafka action\'s linger', () => {
  it('sends the window\'s records at once, while a window with room lingers until the action closes', async () => {
    app = await createIntegration({
      logger: silentLogger,
      modules: [
        mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('it-src'), protocolVersion: 5, maxInflight: WINDOW, session: { persistent: false } }),
        sqlModule(),
        kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }),
      ],
      rules: [{ id: 'r', sql: `SELECT payload FROM "${prefix}/#"`, actions: [{ connector: 'kafka', id: 'k', topic: kafkaTopic, value: '${payload}', maxLingerTime: '10m' }] }],
    });
    await app.start();
    const success = (): number => app?.metrics.action('k')?.success ?? 0;

    // Five messages fill the window: the last one handed over stalls the source, and the action sends all five.
    await publish(mqttUrl(), `${prefix}/a`, ['m1', 'm2', 'm3', 'm4', 'm5'], { qos: 1 });
    await until(() => success() === WINDOW, 15_000);
    expect(success()).toBe(WINDOW);
    const first = await consumeRecords(kafkaTopic, WINDOW);
    expect(first.map((r) => r.value)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);

    // Two more leave the window room: they linger (10 minutes) as the setting says, counted as queuing.
    await publish(mqttUrl(), `${prefix}/a`, ['m6', 'm7'], { qos: 1 });
    await until(() => app?.metrics.action('k')?.queuing === 2, 15_000);
    await sleep(1000);
    expect(app.metrics.action('k')).toMatchObject({ success: WINDOW, queuing: 2 });

    // Stopping sends what lingers at once: nothing more comes, and the drain waits for those two (it waited out
    // the runtime's stop timeout, 30 s, before the runtime told its actions that the stop had begun).
    await app.stop();
    app = undefined;
    const all = await consumeRecords(kafkaTopic, WINDOW + 2);
    expect(all.map((r) => r.value)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
  });
});

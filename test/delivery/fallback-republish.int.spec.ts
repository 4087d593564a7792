// Issue #4's other fallback: a record Kafka refuses for good (1.5 MB, above the broker's message.max.bytes)
// is republished to an MQTT dead-letter topic, between valid messages that all reach Kafka; the action's
// metrics count it exactly and every message is acknowledged.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, silentLogger, type Integration } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { mqttModule, mqttPublishModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, subscribeMqtt, type MqttSubscription } from '@sluice/testkit';
import { readBack, summary } from './support/load';

const VALID = 100;
const LARGE_AT = 50;

describe('a record Kafka refuses for good is republished to an MQTT dead-letter topic', () => {
  let app: Integration | undefined;
  let dead: MqttSubscription | undefined;
  let mainTopic: string;

  beforeEach(async () => {
    mainTopic = randomName('delivery-main');
    await createTopic(mainTopic, 3);
  });

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await dead?.close();
    dead = undefined;
    await deleteTopic(mainTopic);
  });

  it('valid messages reach Kafka, the refused one arrives on the dead-letter topic, metrics are exact', async () => {
    const prefix = randomName('big');
    dead = await subscribeMqtt(mqttUrl(), `dead/${prefix}/#`, { qos: 1, protocolVersion: 5 });
    app = await createIntegration({
      logger: silentLogger,
      modules: [
        mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('sluice'), session: { persistent: false } }),
        sqlModule(),
        kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }),
        mqttPublishModule({ id: 'dlq', url: mqttUrl() }),
      ],
      rules: [{
        id: 'seq',
        sql: `SELECT payload.seq as seq, payload as raw, topic FROM "${prefix}/#"`,
        actions: [{
          connector: 'kafka',
          topic: mainTopic,
          value: '${raw}',
          // The dead letter names the message, not the payload that was too large.
          fallbackActions: [{ connector: 'dlq', topic: 'dead/${topic}', payload: '{"seq": ${seq}, "reason": "refused by Kafka"}', qos: 1 }],
        }],
      }],
    });
    await app.start();

    const large = JSON.stringify({ seq: -1, pad: 'x'.repeat(1536 * 1024) });
    const payloads: string[] = [];
    for (let seq = 0; seq < VALID; seq++) {
      if (seq === LARGE_AT) payloads.push(large);
      payloads.push(JSON.stringify({ seq }));
    }
    await publish(mqttUrl(), `${prefix}/device`, payloads, { qos: 1 });

    const read = await readBack(mainTopic, Array.from({ length: VALID }, (_, i) => i), 30000);
    console.log(summary('too large, republished to MQTT', VALID, read));
    expect(read.missing).toEqual([]);
    expect(read.counts.has(-1)).toBe(false);

    const [letter] = await dead.waitFor(1, 30000);
    expect(letter?.topic).toBe(`dead/${prefix}/device`);
    expect(letter?.payload.toString('utf8')).toBe('{"seq": -1, "reason": "refused by Kafka"}');
    expect(letter?.qos).toBe(1);

    // The subscriber can see the dead letter before Sluice has the broker's PUBACK for it: wait for the count.
    const counted = app;
    const action = (): NonNullable<ReturnType<Integration['metrics']['action']>> => {
      const metrics = counted.metrics.action('seq:kafka');
      if (metrics === undefined) throw new Error('action seq:kafka has no metrics');
      return metrics;
    };
    const deadline = Date.now() + 15000;
    while (action()['fallback.success'] + action()['fallback.failed'] < 1 || (counted.metrics.source('plant')?.pending ?? 1) > 0) {
      if (Date.now() > deadline) throw new Error('the fallback was not counted within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(app.metrics.action('seq:kafka')).toMatchObject({ matched: VALID + 1, success: VALID, failed: 1, 'failed.retriable': 0, 'fallback.success': 1, 'fallback.failed': 0 });
    expect(app.metrics.source('plant')).toMatchObject({ received: VALID + 1, acknowledged: VALID + 1, leftToBroker: 0, pending: 0 });
    expect(dead.messages).toHaveLength(1);
  }, 120000);
});

// Issue 5, scenario 6: a message too large for Kafka between valid ones. The valid ones all arrive, the
// large one is refused for good (MESSAGE_TOO_LARGE), goes to the action's fallback action (a small
// record in a dead-letter topic), is acknowledged, and the metrics count it.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, silentLogger, type Integration } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { mqttModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName } from '@sluice/testkit';
import { readBack, summary } from './support/load';

const VALID = 300;
const LARGE_AT = 150;

describe('a record too large for Kafka goes to the fallback action (issue 5, scenario 6)', () => {
  let app: Integration | undefined;
  let mainTopic: string;
  let deadLetters: string;

  beforeEach(async () => {
    mainTopic = randomName('delivery-main');
    deadLetters = randomName('delivery-dlq');
    await createTopic(mainTopic, 3);
    await createTopic(deadLetters, 1);
  });

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await deleteTopic(mainTopic);
    await deleteTopic(deadLetters);
  });

  it('valid messages all arrive, the large one lands in the fallback topic, and metrics count it', async () => {
    const prefix = randomName('big');
    app = await createIntegration({
      logger: silentLogger,
      modules: [
        mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('sluice'), session: { persistent: false } }),
        sqlModule(),
        kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }),
      ],
      rules: [{
        id: 'seq',
        sql: `SELECT payload.seq as seq, payload as raw, topic FROM "${prefix}/#"`,
        actions: [{
          connector: 'kafka',
          topic: mainTopic,
          value: '${raw}',
          // The dead letter keeps what identifies the message, not the payload that was too large.
          fallbackActions: [{ connector: 'kafka', topic: deadLetters, value: '${seq}', key: '${topic}' }],
        }],
      }],
    });
    await app.start();

    // 1.5 MB: above the broker's default message.max.bytes (1 MiB) and the action's maxBatchBytes, so it
    // travels alone and only it is refused.
    const large = JSON.stringify({ seq: -1, pad: 'x'.repeat(1536 * 1024) });
    const payloads: string[] = [];
    for (let seq = 0; seq < VALID; seq++) {
      if (seq === LARGE_AT) payloads.push(large);
      payloads.push(JSON.stringify({ seq }));
    }
    // Each PUBACK waits for Sluice to settle the message (at-least-once): the stream keeps flowing past the refused one.
    await publish(mqttUrl(), `${prefix}/device`, payloads, { qos: 1 });

    const read = await readBack(mainTopic, Array.from({ length: VALID }, (_, i) => i), 30000);
    console.log(summary('too large between valid ones', VALID, read));
    expect(read.missing).toEqual([]);
    expect(read.counts.has(-1)).toBe(false);

    const [dead] = await consumeRecords(deadLetters, 1);
    expect(dead?.value).toBe('-1');
    expect(dead?.key).toBe(`${prefix}/device`);

    expect(app.metrics.action('seq:kafka')).toMatchObject({ matched: VALID + 1, success: VALID, failed: 1, 'failed.retriable': 0, 'fallback.success': 1, 'fallback.failed': 0 });
    expect(app.metrics.rule('seq')).toMatchObject({ matched: VALID + 1, 'actions.failed': 1 });
    // Reconciliation: everything received was acknowledged, nothing left to the broker.
    expect(app.metrics.source('plant')).toMatchObject({ received: VALID + 1, acknowledged: VALID + 1, leftToBroker: 0, pending: 0 });
  }, 120000);
});

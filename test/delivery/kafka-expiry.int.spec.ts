// buffer.maxBatchAge against a real broker: while Kafka is down (SIGKILLed), records wait in the action's
// buffer until they are older than maxBatchAge and are then dropped: counted `dropped.expired` (not
// `success`), handed to the action's fallback (here a republish to an MQTT dead-letter topic, which works
// while Kafka is away), and their MQTT messages acknowledged. Once the broker is back, new records are
// delivered, exactly once.
//
// Kills and restarts the Kafka broker the tests point at: run in band with the other delivery scenarios
// (jest's maxWorkers is 1), never beside other suites.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, silentLogger, type Integration } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { mqttModule, mqttPublishModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, subscribeMqtt, topicRecordCount, type MqttSubscription } from '@sluice/testkit';
import { readBack, summary } from './support/load';
import { pollUntil } from './support/poll';
import { kafkaAlive, killKafka, restartKafka } from './support/processes';

const BEFORE = 10;
const DURING = 30;
const AFTER = 20;
const MAX_BATCH_AGE_MS = 2000;

/** Sequence numbers of a phase: 0.., 1000.., 2000.. */
const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);

describe('buffer.maxBatchAge while the Kafka broker is down', () => {
  let app: Integration | undefined;
  let mainTopic: string;
  let dead: MqttSubscription | undefined;

  beforeEach(async () => {
    mainTopic = randomName('expiry-main');
    await createTopic(mainTopic, 1);
  });

  afterEach(async () => {
    // a failed test must not leave the broker dead for the suites after it
    if (!kafkaAlive()) await restartKafka();
    await app?.stop();
    app = undefined;
    await dead?.close();
    dead = undefined;
    await deleteTopic(mainTopic).catch(() => undefined);
  });

  it('drops the records that outlive maxBatchAge (dropped.expired, to the fallback) and delivers the ones sent after the broker is back', async () => {
    const prefix = randomName('expiry');
    dead = await subscribeMqtt(mqttUrl(), `dead/${prefix}/#`, { qos: 1 });
    app = await createIntegration({
      logger: silentLogger,
      modules: [
        mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('sluice'), session: { persistent: false } }),
        sqlModule(),
        // a refused connection fails a send after one quick kafkajs retry, so records come back to the buffer soon
        kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap], connectTimeout: 1000, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 } }),
        mqttPublishModule({ id: 'dlq', url: mqttUrl() }),
      ],
      rules: [{
        id: 'seq',
        sql: `SELECT payload.seq as seq, topic FROM "${prefix}/#"`,
        actions: [{
          connector: 'kafka',
          topic: mainTopic,
          key: '',
          value: '${seq}',
          buffer: { maxBatchAge: MAX_BATCH_AGE_MS },
          retryBackoff: { initial: 200, max: 500 },
          fallbackActions: [{ connector: 'dlq', topic: 'dead/${topic}', payload: '${seq}', qos: 1 }],
        }],
      }],
    });
    await app.start();
    const action = (): NonNullable<ReturnType<Integration['metrics']['action']>> => {
      const metrics = app?.metrics.action('seq:kafka');
      if (metrics === undefined) throw new Error('no metrics for action seq:kafka');
      return metrics;
    };
    const settledCount = (): number => action().success + action().failed + action().dropped;

    // Kafka up: the first records go through, and nothing is in flight when the broker dies.
    await publish(mqttUrl(), `${prefix}/device`, range(0, BEFORE).map((seq) => JSON.stringify({ seq })), { qos: 1 });
    await pollUntil('the records sent before the outage to be stored', () => ({ success: action().success, queuing: action().queuing }),
      (m) => m.success === BEFORE && m.queuing === 0);

    await killKafka();
    await publish(mqttUrl(), `${prefix}/device`, range(1000, DURING).map((seq) => JSON.stringify({ seq })), { qos: 1 });
    // Every record of the outage waits in the buffer until it is older than maxBatchAge, then is dropped.
    // (Mosquitto hands Sluice 20 messages at a time: the second lot comes once the first is dropped and acknowledged.)
    await pollUntil('the records sent during the outage to expire', () => ({ expired: action()['dropped.expired'], queuing: action().queuing }),
      (m) => m.expired === DURING && m.queuing === 0);
    // The fallback republishes each expired record; its send settles once Mosquitto acknowledged it.
    await pollUntil('the expired records to reach the fallback', () => ({ fallback: action()['fallback.success'], pending: app?.metrics.source('plant')?.pending }),
      (m) => m.fallback === DURING && m.pending === 0);
    expect(action()).toMatchObject({ matched: BEFORE + DURING, success: BEFORE, dropped: DURING, 'dropped.expired': DURING, 'dropped.queue_full': 0, failed: 0, 'fallback.success': DURING, 'fallback.failed': 0 });
    // A dropped record's send resolves (the loss was chosen), so its message is acknowledged, not left to the broker.
    expect(app.metrics.source('plant')).toMatchObject({ received: BEFORE + DURING, acknowledged: BEFORE + DURING, leftToBroker: 0, pending: 0 });
    const letters = await dead.waitFor(DURING, 15000);
    expect(letters.map((letter) => Number(letter.payload.toString('utf8'))).sort((a, b) => a - b)).toEqual(range(1000, DURING));
    expect(new Set(letters.map((letter) => letter.topic))).toEqual(new Set([`dead/${prefix}/device`]));

    await restartKafka();
    await publish(mqttUrl(), `${prefix}/device`, range(2000, AFTER).map((seq) => JSON.stringify({ seq })), { qos: 1 });
    await pollUntil('the records sent after the outage to settle', () => ({ settled: settledCount(), queuing: action().queuing }),
      (m) => m.settled === BEFORE + DURING + AFTER && m.queuing === 0);

    const delivered = [...range(0, BEFORE), ...range(2000, AFTER)];
    const read = await readBack(mainTopic, delivered, 30000);
    console.log(summary('maxBatchAge across a Kafka outage', delivered.length, read));
    expect(read.missing).toEqual([]);
    expect(range(1000, DURING).filter((seq) => read.counts.has(seq))).toEqual([]);
    // Exactly once: the topic holds as many records as distinct numbers were read (none doubled, none expired).
    expect(await topicRecordCount(mainTopic)).toBe(BEFORE + AFTER);
    expect(dead.messages).toHaveLength(DURING);

    // matched = success + failed + dropped: a dropped record is acknowledged but not counted stored.
    expect(action()).toMatchObject({
      matched: BEFORE + DURING + AFTER,
      success: BEFORE + AFTER,
      failed: 0,
      'failed.retriable': 0,
      dropped: DURING,
      'dropped.expired': DURING,
      'dropped.queue_full': 0,
      'dropped.other': 0,
      'fallback.success': DURING,
      'fallback.failed': 0,
      inflight: 0,
      queuing: 0,
    });
    expect(app.metrics.source('plant')).toMatchObject({ received: BEFORE + DURING + AFTER, acknowledged: BEFORE + DURING + AFTER, leftToBroker: 0, pending: 0 });
  }, 120000);
});

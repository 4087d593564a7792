import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ActionContext, isDropped, type SendResult, silentLogger } from '@sluice/core';
import { compileTemplate } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, randomName, topicRecordCount } from '@sluice/testkit';
import type { KafkaAction } from '../../src/kafka-action';
import { createKafkaProducer, KafkaConnector } from '../../src/kafka-connector';
import { type KafkaActionOptions, parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { mqttMessage } from '../fixtures/messages';

const broker = kafkaBroker();

describe('Kafka action buffer and retries against a real broker', () => {
  let topic: string;
  let connectors: KafkaConnector[];
  let drops: Array<[number, string]>;
  /** Estimated bytes of one `{ n }` record, set by actionHolding. */
  let recordBytes = 0;
  const topics: string[] = [];

  function newConnector(): KafkaConnector {
    const config = parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
    const connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
    connectors.push(connector);
    return connector;
  }

  function context(): ActionContext {
    return { id: 'r:kafka', ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped: (count, reason) => drops.push([count, reason]) };
  }

  /** An action whose buffer holds exactly `records` records of the form `{ n }` with n < 10. */
  async function actionHolding(connector: KafkaConnector, records: number, settings: Partial<KafkaActionOptions>): Promise<KafkaAction> {
    const base = { topic, key: '', value: '${n}' };
    // the renderer's estimate of one record (key + value + headers + overhead), measured on an action of a
    // connector that never connects, so the probe record cannot reach the topic
    const probe = newConnector().createAction({ ...base, maxRetries: 0 }, context());
    const probed = probe.send({ n: 0 }, mqttMessage()).catch(() => undefined);
    recordBytes = probe.queuedBytes();
    await probe.close();
    await probed;
    return connector.createAction({ ...base, ...settings, buffer: { limit: records * recordBytes, ...settings.buffer } }, context());
  }

  const sendAll = (action: KafkaAction, count: number): Array<Promise<SendResult>> =>
    Array.from({ length: count }, (_, i) => action.send({ n: i % 10 }, mqttMessage()));
  /** Sends resolved as dropped for `reason` (the runtime counts those; the context hears of none). */
  const droppedFor = (results: readonly SendResult[], reason: string): number => results.filter((r) => isDropped(r) && r.dropped === reason).length;
  /** The topic has one partition, so this is the order the records were stored in. */
  const consumedValues = async (count: number): Promise<string[]> =>
    (await consumeRecords(topic, count)).map((record) => String(record.value));

  beforeEach(async () => {
    connectors = [];
    drops = [];
    topic = randomName('kafka-buf');
    topics.push(topic);
    await createTopic(topic, 1);
  });

  afterEach(async () => {
    await Promise.all(connectors.map((connector) => connector.stop()));
    await Promise.all(topics.splice(0).map((name) => deleteTopic(name).catch(() => undefined)));
  });

  it("'drop_newest' stores exactly the records that fit and counts the rest queue_full", async () => {
    const connector = newConnector();
    await connector.start(new AbortController().signal);
    const action = await actionHolding(connector, 10, { buffer: { overflow: 'drop_newest' } });
    const results = await Promise.all(sendAll(action, 25));
    expect(await consumedValues(10)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(await topicRecordCount(topic)).toBe(10);
    expect(droppedFor(results, 'queue_full')).toBe(15);
    expect(results.slice(0, 10)).toEqual(Array(10).fill(undefined));
    expect(drops).toEqual([]);
  });

  it("'drop_oldest' stores exactly the newest records that fit and counts the rest queue_full", async () => {
    const connector = newConnector();
    await connector.start(new AbortController().signal);
    const action = await actionHolding(connector, 10, { buffer: { overflow: 'drop_oldest' } });
    const results = await Promise.all(sendAll(action, 25));
    expect(await consumedValues(10)).toEqual(['5', '6', '7', '8', '9', '0', '1', '2', '3', '4']);
    expect(await topicRecordCount(topic)).toBe(10);
    expect(droppedFor(results, 'queue_full')).toBe(15);
    expect(results.slice(15)).toEqual(Array(10).fill(undefined));
    expect(drops).toEqual([]);
  });

  it("'backpressure' holds the sends beyond the limit and then stores every record, none dropped", async () => {
    const connector = newConnector();
    await connector.start(new AbortController().signal);
    const action = await actionHolding(connector, 10, {});
    const sends = sendAll(action, 25);
    expect(action.queued()).toBe(25);
    // ten records in the buffer, fifteen sends held outside it
    expect(action.metrics().queuing_bytes).toBe(10 * recordBytes);
    await Promise.all(sends);
    expect(drops).toEqual([]);
    expect(await topicRecordCount(topic)).toBe(25);
    expect(action.metrics()['produce_latency.count']).toBeGreaterThanOrEqual(3);
  });

  it('keeps the records buffered while Kafka is unreachable and delivers them, in order, once it is back', async () => {
    const connector = newConnector();
    const action = connector.createAction({ topic, key: '', value: '${n}', retryBackoff: { initial: 50, max: 200 } }, context());
    // not connected yet: every try fails retriable ("the producer is disconnected")
    const sends = [1, 2, 3].map((n) => action.send({ n }, mqttMessage()));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(action.queued()).toBe(3);
    expect(action.metrics().retried).toBeGreaterThanOrEqual(3);
    await connector.start(new AbortController().signal);
    await Promise.all(sends);
    expect(await consumedValues(3)).toEqual(['1', '2', '3']);
    expect(action.metrics()['retried.success']).toBe(3);
    expect(connector.status()).toEqual({ state: 'connected' });
  });

  it('fails a record as retriable after maxRetries while Kafka stays unreachable', async () => {
    const connector = newConnector();
    const action = connector.createAction({ topic, maxRetries: 2, retryBackoff: { initial: 10, max: 10 } }, context());
    await expect(action.send({ n: 1 }, mqttMessage())).rejects.toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: true });
    expect(action.metrics()).toMatchObject({ 'retried': 2, 'retried.failed': 1, 'queuing': 0 });
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ActionContext, isDropped, type SendResult, silentLogger } from '@sluice/core';
import { compileTemplate } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, randomName, topicRecordCount } from '@sluice/testkit';
import { Kafka } from 'kafkajs';
import type { KafkaAction } from '../../src/kafka-action';
import { toKafkaConfig } from '../../src/kafka-client-config';
import { createKafkaProducer, KafkaConnector } from '../../src/kafka-connector';
import { type KafkaActionOptions, type KafkaConnectorConfig, parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { KafkaMetadataSource } from '../../src/kafka-metadata-source';
import { KafkaTopicDirectory } from '../../src/kafka-topic-directory';
import { routingPartitioner } from '../../src/partitioning';
import { KafkaCut } from '../fixtures/kafka-cut';
import { mqttMessage } from '../fixtures/messages';

const broker = kafkaBroker();

describe('Kafka action buffer and retries against a real broker', () => {
  let topic: string;
  let connectors: KafkaConnector[];
  let cuts: KafkaCut[];
  let drops: Array<[number, string]>;
  /** Estimated bytes of one `{ n }` record, set by actionHolding. */
  let recordBytes = 0;
  const topics: string[] = [];

  const connectorConfig = (): KafkaConnectorConfig =>
    parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });

  function newConnector(): KafkaConnector {
    const config = connectorConfig();
    const connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
    connectors.push(connector);
    return connector;
  }

  /**
   * A started connector whose every connection to Kafka (its producer's and its topic directory's) goes through
   * `cut`: the clients are built as the connector builds them (createKafkaProducer, KafkaMetadataSource.create),
   * with the cut's socketFactory added.
   */
  async function startConnectorThrough(cut: KafkaCut): Promise<KafkaConnector> {
    const config = connectorConfig();
    const client = { ...toKafkaConfig(config, silentLogger), socketFactory: cut.socketFactory };
    const producer = new Kafka(client).producer({
      createPartitioner: routingPartitioner,
      allowAutoTopicCreation: config.allowAutoTopicCreation,
      metadataMaxAge: config.partitionCountRefreshInterval,
      retry: { ...config.retry },
    });
    const admin = new Kafka({ ...client, requestTimeout: config.metadataRequestTimeout, retry: { retries: 0 } }).admin({ retry: { retries: 0 } });
    const directory = new KafkaTopicDirectory(new KafkaMetadataSource(admin, producer), {
      refreshInterval: config.partitionCountRefreshInterval,
      allowAutoTopicCreation: config.allowAutoTopicCreation,
      logger: silentLogger,
    });
    const connector = new KafkaConnector(config, producer, silentLogger, undefined, directory);
    connectors.push(connector);
    await connector.start(new AbortController().signal);
    return connector;
  }

  function context(): ActionContext {
    return { id: 'r:kafka', ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped: (count, reason) => drops.push([count, reason]) };
  }

  /** An action whose buffer holds exactly `records` records of the form `{ n }` with n < 10. */
  async function actionHolding(connector: KafkaConnector, records: number, settings: Partial<KafkaActionOptions>): Promise<KafkaAction> {
    const base = { topic, key: '', value: '${n}' };
    // the renderer's estimate of one record (key + value + headers + overhead), measured on an action of a
    // connector that never connects, so the probe record cannot reach the topic: it waits for the topic's
    // partitions, and expires 1 ms later (closing would otherwise wait for the topic's metadata)
    const probe = newConnector().createAction({ ...base, maxRetries: 0, buffer: { maxBatchAge: 1 } }, context());
    const probed = probe.send({ n: 0 }, mqttMessage()).catch(() => undefined);
    recordBytes = probe.queuedBytes();
    await probed;
    await probe.close();
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
    cuts = [];
    drops = [];
    topic = randomName('kafka-buf');
    topics.push(topic);
    await createTopic(topic, 1);
  });

  afterEach(async () => {
    await Promise.all(connectors.map((connector) => connector.stop()));
    await Promise.all(cuts.map((cut) => cut.cut()));
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

  it('keeps the records of a connector not connected yet waiting for their topic, and delivers them, in order, once it connects', async () => {
    const connector = newConnector();
    const action = connector.createAction({ topic, key: '', value: '${n}', retryBackoff: { initial: 50, max: 200 } }, context());
    // no metadata before the connector connects: the records wait for their topic's partitions, they are not
    // sent (so neither failed nor retried) and not lost
    const settled: number[] = [];
    const sends = [1, 2, 3].map((n) => action.send({ n }, mqttMessage()).finally(() => settled.push(n)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toEqual([]);
    expect(action.metrics()).toMatchObject({ 'queuing': 3, 'inflight': 0, 'topics.waiting': 1, 'partitions.failing': 0, 'retried': 0 });
    await connector.start(new AbortController().signal);
    await Promise.all(sends);
    expect(await consumedValues(3)).toEqual(['1', '2', '3']);
    expect(action.metrics()).toMatchObject({ 'queuing': 0, 'topics.waiting': 0, 'retried': 0, 'retried.success': 0 });
    expect(connector.status()).toEqual({ state: 'connected' });
  });

  it('fails a record as retriable after maxRetries while Kafka stays unreachable', async () => {
    const cut = await KafkaCut.open(broker.bootstrap);
    cuts.push(cut);
    const connector = await startConnectorThrough(cut);
    const action = connector.createAction({ topic, key: '', value: '${n}', maxRetries: 2, retryBackoff: { initial: 10, max: 10 } }, context());
    await action.send({ n: 1 }, mqttMessage());
    await cut.cut();
    await expect(action.send({ n: 2 }, mqttMessage())).rejects.toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: true });
    expect(action.metrics()).toMatchObject({ 'retried': 2, 'retried.success': 0, 'retried.failed': 1, 'queuing': 0, 'partitions.failing': 0 });
    expect(connector.status().state).toBe('connecting');
    expect(await consumedValues(1)).toEqual(['1']);
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ConnectionTestReport, IntegrationError, type RuleOutput, silentLogger } from '@sluice/core';
import { CompressionTypes, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { actionContext } from '../test/fixtures/fake-templates';
import { FakeMetadata, partitions } from '../test/fixtures/fake-metadata';
import { FakeProducer, turn } from '../test/fixtures/fake-producer';
import { mqttMessage } from '../test/fixtures/messages';
import { toActionWriteError } from './kafka-errors';
import { KafkaConnector } from './kafka-connector';
import { parseKafkaConnectorConfig } from './kafka-connector-config';
import { KafkaTopicDirectory } from './kafka-topic-directory';

const config = parseKafkaConnectorConfig({ id: 'upstash', bootstrapHosts: '127.0.0.1:1' });
const protocolError = (type: string, retriable: boolean): Error =>
  new KafkaJSProtocolError({ message: `broker says ${type}`, type, code: 0, retriable } as never);
const afterRetries = (cause: Error): Error => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 100 } as never);

/** The connector's directory over a fake cluster, probing every 5 ms so a spec need not wait 500 ms per probe. */
const directoryOf = (metadata: FakeMetadata, allowAutoTopicCreation = false): KafkaTopicDirectory =>
  new KafkaTopicDirectory(metadata, { refreshInterval: 60_000, allowAutoTopicCreation, logger: silentLogger, probeInterval: 5 });

/** Lets turns of the event loop pass until `done()` holds (the directory's probe runs on a timer). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function settled(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

describe(KafkaConnector.name, () => {
  let producer: FakeProducer;
  let metadata: FakeMetadata;
  let directory: KafkaTopicDirectory;
  let reports: Array<readonly string[]>;
  let connector: KafkaConnector;
  const out = (i: number): RuleOutput => ({ clientid: `dev-${i}`, n: i, site: i % 2 === 0 ? 'even' : 'odd' });
  const start = (): Promise<void> => connector.start(new AbortController().signal);
  /** Waits until the connector's directory knows the topic, so records are given partitions when sent. */
  const known = async (...topics: string[]): Promise<void> => {
    await until(() => topics.every((topic) => directory.partitions(topic) !== undefined));
  };

  beforeEach(() => {
    producer = new FakeProducer();
    metadata = new FakeMetadata({ emqx: 1, t: 1, 't-even': 1, 't-odd': 1, a: 1, b: 1 });
    reports = [];
    connector = new KafkaConnector(config, producer, silentLogger, async (topics): Promise<ConnectionTestReport> => {
      reports.push(topics);
      return { connectorId: 'upstash', ok: false, stages: [{ stage: 'tcp', ok: true, detail: 'reached' }, { stage: 'sasl', ok: false, detail: 'SASL authentication failed for user "u"' }] };
    }, directory = directoryOf(metadata));
  });

  afterEach(async () => {
    await connector.stop();
  });

  describe('.createAction', () => {
    it('throws ConfigError naming the action for bad settings', () => {
      expect(() => connector.createAction({ topic: 't', requiredAcks: 'some' }, actionContext('r:bad'))).toThrow(/kafka action "r:bad"[\s\S]*requiredAcks/);
    });
  });

  describe('.send', () => {
    beforeEach(start);

    it('puts records sent in the same turn into one request, with the configured acks and compression', async () => {
      const action = connector.createAction({ topic: 'emqx', value: '${n}', requiredAcks: 'leader', compression: 'gzip' }, actionContext());
      const sends = Array.from({ length: 100 }, (_, i) => action.send(out(i), mqttMessage()));
      expect(action.queued()).toBe(100);
      await Promise.all(sends);
      expect(producer.batches).toHaveLength(1);
      expect(producer.batches[0]).toMatchObject({ acks: 1, compression: CompressionTypes.GZIP, timeout: 30000 });
      expect(producer.records().map(([topic, key, value]) => `${topic}/${String(key)}/${String(value)}`).slice(0, 2)).toEqual(['emqx/dev-0/0', 'emqx/dev-1/1']);
      expect(action.queued()).toBe(0);
    });

    it('gives each record its partition, and sends the waiting batches of one leader\'s partitions in one request', async () => {
      metadata.topics.set('t-even', partitions(2));
      const action = connector.createAction({ topic: 't-${site}', partitionStrategy: 'round_robin' }, actionContext());
      await Promise.all([0, 1, 2, 3].map((i) => action.send(out(i), mqttMessage())));
      const placed = producer.batches.flatMap((batch) => (batch.topicMessages ?? []).flatMap((group) => group.messages.map((m) => `${group.topic}:${String(m.partition)}`)));
      expect(placed.sort()).toEqual(['t-even:0', 't-even:1', 't-odd:0', 't-odd:0']);
      // both partitions of t-even are led by broker 1: one request carried them
      const evenPartitions = producer.batches.map((batch) => new Set(batch.topicMessages?.find((g) => g.topic === 't-even')?.messages.map((m) => m.partition)));
      expect(evenPartitions.map((set) => set.size)).toContain(2);
    });

    it('sends a partition\'s batch once it holds maxLingerBytes, without waiting out maxLingerTime', async () => {
      const action = connector.createAction({ topic: 't', value: '${text}', maxLingerTime: '1h', maxLingerBytes: 1000 }, actionContext());
      await known('t');
      const sent = Array.from({ length: 12 }, () => action.send({ text: 'x'.repeat(100) }, mqttMessage()));
      await until(() => producer.batches.length > 0);
      expect(producer.batches[0]?.topicMessages?.[0]?.messages.length).toBeLessThan(12);
      await action.close();
      await Promise.all(sent);
    });

    it('splits by maxBatchBytes, and a record larger than the limit still goes alone', async () => {
      const action = connector.createAction({ topic: 't', value: '${text}', maxBatchBytes: 1000, maxInflight: 100 }, actionContext());
      const small = Array.from({ length: 20 }, () => action.send({ text: 'x'.repeat(100) }, mqttMessage()));
      const big = action.send({ text: 'y'.repeat(5000) }, mqttMessage());
      await Promise.all([...small, big]);
      const sizes = producer.batches.map((batch) => batch.topicMessages?.[0]?.messages.length);
      expect(sizes.reduce((a = 0, b = 0) => a + b, 0)).toBe(21);
      expect(Math.max(...sizes.map(Number))).toBeLessThanOrEqual(6);
      expect(sizes[sizes.length - 1]).toBe(1);
    });

    it('caps a request at maxBatchRecords', async () => {
      const action = connector.createAction({ topic: 't', maxBatchRecords: 40 }, actionContext());
      await Promise.all(Array.from({ length: 100 }, (_, i) => action.send(out(i), mqttMessage())));
      expect(producer.batches.map((batch) => batch.topicMessages?.[0]?.messages.length)).toEqual([40, 40, 20]);
    });

    it('keeps at most maxInflight requests open across partitions, one per partition, and batches what arrives meanwhile', async () => {
      producer.manual = true;
      // each partition led by a broker of its own, so that each has requests of its own
      metadata.topics.set('t', partitions(3).map((partition) => ({ ...partition, leader: partition.partitionId + 1 })));
      const action = connector.createAction({ topic: 't', maxInflight: 2, partitionStrategy: 'round_robin' }, actionContext());
      await known('t');
      const first = [0, 1, 2].map((i) => action.send(out(i), mqttMessage()));
      await turn();
      expect(producer.open).toHaveLength(2);
      expect(new Set(producer.open.map((call) => call.batch.topicMessages?.[0]?.messages[0]?.partition)).size).toBe(2);
      const rest = Array.from({ length: 30 }, (_, i) => action.send(out(i), mqttMessage()));
      await turn();
      expect(producer.open).toHaveLength(2);
      expect(action.queued()).toBe(33);
      expect(action.inflight()).toBe(2);
      while (producer.open.length > 0) {
        producer.settle();
        await turn();
        await turn();
      }
      await Promise.all([...first, ...rest]);
      expect(action.queued()).toBe(0);
      // 33 records in far fewer requests: what waited went together, per partition
      expect(producer.batches.length).toBeLessThanOrEqual(6);
    });

    it('waits maxLingerTime before sending', async () => {
      const action = connector.createAction({ topic: 't', maxLingerTime: '20ms' }, actionContext());
      const sent = action.send(out(1), mqttMessage());
      await turn();
      expect(producer.batches).toHaveLength(0);
      await sent;
      expect(producer.batches).toHaveLength(1);
    });

    it('drops a record whose topic placeholder is missing, not retriable, without sending it', async () => {
      const action = connector.createAction({ topic: 't-${nope}' }, actionContext());
      const error = await settled(action.send(out(1), mqttMessage()));
      expect(IntegrationError.is(error) && error.code === 'ERR_ACTION_WRITE' && error.retriable === false).toBe(true);
      expect(producer.batches).toHaveLength(0);
    });
  });

  describe('when Kafka refuses the records', () => {
    beforeEach(start);

    it.each([
      ['TOPIC_AUTHORIZATION_FAILED', /grant it WRITE/],
      ['MESSAGE_TOO_LARGE', /max\.message\.bytes/],
    ])('%s fails every record of the request, not retriable', async (type, hint) => {
      producer.failure = () => afterRetries(protocolError(type, true));
      const action = connector.createAction({ topic: 't' }, actionContext());
      const errors = await Promise.all([action.send(out(1), mqttMessage()), action.send(out(2), mqttMessage())].map(settled));
      for (const error of errors) {
        expect(IntegrationError.is(error)).toBe(true);
        expect(error).toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: false, connectorId: 'upstash', actionId: 'rule:kafka' });
        expect((error as Error).message).toMatch(hint);
        expect((error as Error).message).toContain(type);
      }
    });

    it.each([
      ['NOT_LEADER_FOR_PARTITION', afterRetries(protocolError('NOT_LEADER_FOR_PARTITION', true))],
      ['REQUEST_TIMED_OUT', afterRetries(protocolError('REQUEST_TIMED_OUT', true))],
      ['a closed connection', Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError', retriable: true })],
      ['a disconnected producer', Object.assign(new Error('The producer is disconnected'), { name: 'KafkaJSError', retriable: true })],
    ])('%s is retriable, and the connector shows connecting with the reason', async (_name, failure) => {
      producer.failure = () => failure;
      const action = connector.createAction({ topic: 't', maxRetries: 0 }, actionContext());
      const error = await settled(action.send(out(1), mqttMessage()));
      expect(error).toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: true });
      expect(connector.status()).toEqual({ state: 'connecting', reason: (error as Error).message });
      producer.failure = undefined;
      await action.send(out(2), mqttMessage());
      expect(connector.status()).toEqual({ state: 'connected' });
    });

    it('keeps the records of a topic that does not exist waiting, and sends them once it is created', async () => {
      const action = connector.createAction({ topic: 't-${site}' }, actionContext());
      metadata.topics.delete('t-odd');
      const even = action.send(out(0), mqttMessage());
      let oddDone = false;
      const odd = action.send(out(1), mqttMessage()).then(() => { oddDone = true; });
      await even;
      await until(() => metadata.requests.length >= 4);
      expect(oddDone).toBe(false);
      expect(producer.records().map(([topic]) => topic)).toEqual(['t-even']);
      metadata.topics.set('t-odd', partitions(1));
      await odd;
      expect(producer.records().map(([topic]) => topic)).toEqual(['t-even', 't-odd']);
    });
  });

  describe("when an action's topic does not exist", () => {
    it('is disconnected, without quoting the topic, until the topic is created; records wait meanwhile', async () => {
      metadata.topics.delete('emqx');
      const action = connector.createAction({ topic: 'emqx' }, actionContext());
      await start();
      expect(connector.status()).toEqual({
        state: 'disconnected',
        reason: 'kafka topic of an action (named in the log and by the connection test) does not exist: create it, or set allowAutoTopicCreation on the connector',
      });
      let done = false;
      const sent = action.send(out(1), mqttMessage()).then(() => { done = true; });
      await turn();
      expect(done).toBe(false);
      metadata.topics.set('emqx', partitions(1));
      await sent;
      expect(connector.status()).toEqual({ state: 'connected' });
    });

    it('counts the missing topics of several actions; templated topics are not watched', async () => {
      metadata.topics.delete('a');
      metadata.topics.delete('b');
      connector.createAction({ topic: 'a' }, actionContext('r:a'));
      connector.createAction({ topic: 'b' }, actionContext('r:b'));
      connector.createAction({ topic: 'b' }, actionContext('r:b2'));
      connector.createAction({ topic: 'x-${site}' }, actionContext('r:x'));
      await start();
      expect(connector.status().reason).toMatch(/does not exist: .* \(and 1 more topic of actions\)$/);
      expect(connector.status().reason).not.toMatch(/"a"|"b"|r:a|r:b/);
    });

    it('is connected again once the action is closed (its rule removed)', async () => {
      metadata.topics.delete('a');
      const action = connector.createAction({ topic: 'a' }, actionContext('r:a'));
      await start();
      expect(connector.status().state).toBe('disconnected');
      await action.close();
      expect(connector.status()).toEqual({ state: 'connected' });
    });

    it('is not reported while Kafka does not answer: the producer says so', async () => {
      metadata.down = new Error('Connection error: connect ECONNREFUSED');
      connector.createAction({ topic: 'a' }, actionContext('r:a'));
      await start();
      expect(connector.status()).toEqual({ state: 'connected' });
    });
  });

  describe('when the connector is idempotent', () => {
    const idempotent = parseKafkaConnectorConfig({ id: 'upstash', bootstrapHosts: '127.0.0.1:1', idempotent: true });

    it('refuses an action that does not require acks from all replicas', () => {
      const strict = new KafkaConnector(idempotent, producer, silentLogger);
      expect(() => strict.createAction({ topic: 't', requiredAcks: 'leader' }, actionContext())).toThrow(/requiredAcks: must be "all"/);
    });

    it('lets one request of the connector through at a time, across actions', async () => {
      producer.manual = true;
      const strict = new KafkaConnector(idempotent, producer, silentLogger, undefined, directoryOf(metadata));
      const a = strict.createAction({ topic: 'a' }, actionContext('r:a'));
      const b = strict.createAction({ topic: 'b' }, actionContext('r:b'));
      await strict.start(new AbortController().signal);
      const sent = [a.send(out(1), mqttMessage()), b.send(out(2), mqttMessage())];
      await turn();
      expect(producer.open).toHaveLength(1);
      producer.settle();
      await turn();
      expect(producer.open).toHaveLength(1);
      producer.settle();
      await Promise.all(sent);
      expect(producer.batches.map((batch) => batch.topicMessages?.[0]?.topic)).toEqual(['a', 'b']);
      await strict.stop();
    });

    it('needs at least one retry', () => {
      expect(() => parseKafkaConnectorConfig({ id: 'k', bootstrapHosts: 'a', idempotent: true, retry: { retries: 0 } })).toThrow(/retry\.retries/);
    });
  });

  describe('.close', () => {
    it('flushes what waits, then refuses new records as retriable', async () => {
      // created before start: its topic is known once start resolves
      const action = connector.createAction({ topic: 't', maxLingerTime: '1h' }, actionContext());
      await start();
      producer.manual = true;
      const sent = action.send(out(1), mqttMessage());
      const closed = action.close();
      expect(producer.open).toHaveLength(1);
      producer.settle();
      await Promise.all([sent, closed]);
      expect(await settled(action.send(out(2), mqttMessage()))).toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: true });
    });
  });

  describe('.start', () => {
    it('connects and reports connected', async () => {
      expect(connector.status().state).toBe('disconnected');
      await connector.start(new AbortController().signal);
      expect(producer.connected).toBe(true);
      expect(connector.status()).toEqual({ state: 'connected' });
    });

    it('rejects with a retriable NotConnectedError naming the failing stage of the connection test', async () => {
      producer.connectError = new Error('Connection error: ECONNREFUSED');
      const error = await settled(connector.start(new AbortController().signal));
      expect(error).toMatchObject({ code: 'ERR_NOT_CONNECTED', retriable: true });
      expect((error as Error).message).toContain('sasl stage failed: SASL authentication failed for user "u"');
      expect(connector.status().state).toBe('disconnected');
    });
  });

  describe('.test', () => {
    it("checks the actions' fixed topics, not templated ones", async () => {
      connector.createAction({ topic: 'emqx' }, actionContext('a:1'));
      connector.createAction({ topic: 'emqx' }, actionContext('a:2'));
      connector.createAction({ topic: 't-${site}' }, actionContext('a:3'));
      await connector.test();
      expect(reports).toEqual([['emqx']]);
    });
  });

  describe('.stop', () => {
    it('disconnects the producer, closes the topic directory and reports stopped', async () => {
      await connector.start(new AbortController().signal);
      await connector.stop();
      expect(producer.connected).toBe(false);
      expect(metadata.closed).toBe(true);
      expect(connector.status()).toEqual({ state: 'stopped' });
    });
  });
});

describe('error reasons', () => {
  it('names the root cause behind kafkajs wrappers', () => {
    const root = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:19092'), { name: 'KafkaJSConnectionError', retriable: true });
    const error = toActionWriteError({ connectorId: 'k' }, ['t'], afterRetries(root));
    expect(error.message).toBe('kafka produce to topic "t" failed (KafkaJSConnectionError, retriable): Connection error: connect ECONNREFUSED 127.0.0.1:19092');
    expect(error.retriable).toBe(true);
  });
});

describe(`${KafkaConnector.name} with valueSchema`, () => {
  const configError = (run: () => unknown): { path: string; message: string } | undefined => {
    try {
      run();
    } catch (error) {
      return (error as { issues?: Array<{ path: string; message: string }> }).issues?.[0];
    }
    return undefined;
  };

  it('refuses the action when the connector has no schemaRegistry', () => {
    const connector = new KafkaConnector(config, new FakeProducer(), silentLogger);
    expect(configError(() => connector.createAction({ topic: 't', valueSchema: { type: 'avro' } }, actionContext('r:k'))))
      .toEqual({ path: 'valueSchema', message: 'connector "upstash" has no schemaRegistry to register or read the schema in' });
  });

  it('refuses a schema that does not compile, when the action is created', () => {
    const withRegistry = parseKafkaConnectorConfig({ id: 'upstash', bootstrapHosts: '127.0.0.1:1', schemaRegistry: { url: 'http://127.0.0.1:1' } });
    const connector = new KafkaConnector(withRegistry, new FakeProducer(), silentLogger);
    expect(configError(() => connector.createAction({ topic: 't', valueSchema: { type: 'avro', schema: { type: 'record', name: 'R', fields: [{ name: 'a', type: 'strnig' }] } } }, actionContext('r:k'))))
      .toEqual({ path: 'valueSchema.schema', message: expect.stringMatching(/^is not an Avro schema: .*strnig/) });
  });
});

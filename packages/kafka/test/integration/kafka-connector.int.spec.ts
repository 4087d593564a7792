import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ActionContext, IntegrationError, type RuleOutput, silentLogger } from '@sluice/core';
import { checkConnectorContract } from '@sluice/core/testing';
import { compileRule, compileTemplate } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, dumpTopicWithJava, kafkaBroker, kafkaConfig, randomName, topicRecordCount } from '@sluice/testkit';
import { testKafkaConnection } from '../../src/connection-test';
import { createKafkaProducer, createRenewableProducer, KafkaConnector } from '../../src/kafka-connector';
import { type KafkaConnectorOptions, parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { javaKeyPartition } from '../../src/partitioning';
import { mqttMessage } from '../fixtures/messages';

const broker = kafkaBroker();
const scram256 = broker.users.scram256;

function context(id = 'temp_hum:kafka'): ActionContext {
  return { id, ruleId: 'temp_hum', templates: { compileTemplate }, logger: silentLogger, dropped: () => {} };
}

describe('KafkaConnector against a real broker', () => {
  let topic: string;
  let connectors: KafkaConnector[];
  const topics: string[] = [];

  /** A started connector with its own kafkajs producer, so a test can watch the producer's requests. */
  async function startConnector(options: Partial<KafkaConnectorOptions> = {}) {
    const config = parseKafkaConnectorConfig({
      id: 'it', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 }, ...options,
    } as KafkaConnectorOptions);
    const producer = createKafkaProducer(config, silentLogger);
    const connector = new KafkaConnector(config, producer, silentLogger);
    connectors.push(connector);
    await connector.start(new AbortController().signal);
    return { connector, producer };
  }

  beforeEach(async () => {
    connectors = [];
    topic = randomName('kafka-it');
    topics.push(topic);
    await createTopic(topic, 3);
  });

  afterEach(async () => {
    await Promise.all(connectors.map((connector) => connector.stop()));
    await Promise.all(topics.splice(0).map((name) => deleteTopic(name).catch(() => undefined)));
  });

  describe('over PLAINTEXT', () => {
    it('writes the issue-2 record: key = client id, value from the template, user properties as headers', async () => {
      const { connector } = await startConnector();
      const rule = compileRule('SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"');
      const action = connector.createAction({ topic, value: '{"temp": ${temp}, "hum": ${hum}}', extHeaders: [{ key: 'source', value: 'sluice-${clientid}' }] }, context());
      const message = mqttMessage({ userProperties: { site: 'north', tag: ['a', 'b'] } });
      const [output] = rule.evaluate({
        topic: message.topic, payload: message.payload.toString(), clientid: 'dev-1', timestamp: 1_700_000_000_123, qos: 1,
      });
      await action.send(output as RuleOutput, message);
      const [record] = await consumeRecords(topic, 1);
      expect(record).toMatchObject({
        key: 'dev-1',
        value: '{"temp": 27.5, "hum": 41.8}',
        timestamp: '1700000000123',
        headers: { site: 'north', tag: ['a', 'b'], source: 'sluice-dev-1' },
        partition: expect.any(Number),
      });
    });

    it("passes core's connector contract suite: success, concurrency, close with sends pending, retriable and final failures", async () => {
      const config = parseKafkaConnectorConfig({ id: 'contract', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
      // a record larger than the broker's message.max.bytes (1 MB by default): Kafka refuses it for good (a missing
      // topic no longer fails: its records wait for it, issue #11)
      const tooLarge = 'x'.repeat(1_100_000);
      // the retriable case: a connector whose connection to the broker drops, with no retries left to wait it out
      const flaky = createKafkaProducer(config, silentLogger);
      await checkConnectorContract(() => new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger), { topic }, { compileTemplate }, {
        stored: () => topicRecordCount(topic),
        invalidActionSettings: [{}, { topic: 42 }, { topic, maxRetries: -1 }],
        failures: {
          final: { actionSettings: { topic, value: tooLarge } },
          retriable: {
            makeConnector: () => new KafkaConnector(config, flaky, silentLogger),
            actionSettings: { topic, maxRetries: 0 },
            arrange: () => flaky.disconnect(),
            restore: () => flaky.connect(),
          },
        },
        settleTimeoutMs: 30_000,
      });
      // the suite's first output, as the suite's outputs are rendered by default (the topic has 3 partitions: look it up)
      const records = await consumeRecords(topic, await topicRecordCount(topic));
      expect(records.find((r) => r.value === '{"n":1,"clientid":"contract-client"}')?.key).toBe('contract-client');
    });

    it('sends the whole output as JSON with a null key when the output has no clientid', async () => {
      const { connector } = await startConnector();
      const action = connector.createAction({ topic }, context());
      await action.send({ a: 1, b: 'x' }, mqttMessage());
      const [record] = await consumeRecords(topic, 1);
      expect([record?.key, record?.value]).toEqual([null, '{"a":1,"b":"x"}']);
    });

    it('puts many records into one produce request per partition', async () => {
      const { connector, producer } = await startConnector();
      let produceRequests = 0;
      producer.on(producer.events.REQUEST, (event) => {
        if (event.payload.apiName === 'Produce') produceRequests += 1;
      });
      const action = connector.createAction({ topic, value: '${n}' }, context());
      await Promise.all(Array.from({ length: 500 }, (_, n) => action.send({ clientid: `dev-${n % 7}`, n }, mqttMessage())));
      // the topic has 3 partitions: one request each, the records of a partition in one batch
      expect(produceRequests).toBeLessThanOrEqual(3);
      const records = await consumeRecords(topic, 500);
      expect(new Set(records.map((r) => r.value)).size).toBe(500);
    });

    it('key_dispatch puts each key on the partition the Java client would pick', async () => {
      const { connector } = await startConnector();
      const action = connector.createAction({ topic, partitionStrategy: 'key_dispatch', compression: 'gzip' }, context());
      const keys = Array.from({ length: 30 }, (_, i) => `device-${i}`);
      await Promise.all(keys.map((clientid) => action.send({ clientid }, mqttMessage())));
      const records = await consumeRecords(topic, keys.length);
      for (const record of records) expect(record.partition).toBe(javaKeyPartition(record.key as string, 3));
    });

    it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)('writes %s-compressed batches the broker accepts and a consumer reads', async (compression) => {
      const { connector } = await startConnector();
      const action = connector.createAction({ topic, value: '${text}', compression }, context());
      const texts = Array.from({ length: 400 }, (_, i) => `record ${i} ${'compressible '.repeat(20)}`); // > 64 KB: several LZ4 blocks
      await Promise.all(texts.map((text, i) => action.send({ clientid: `dev-${i}`, text }, mqttMessage())));
      const records = await consumeRecords(topic, texts.length);
      expect(records.map((r) => r.value).sort()).toEqual([...texts].sort());
      // The consumer above decodes with the codecs this process registered; Kafka's own Java decoders must agree.
      const stored = await dumpTopicWithJava(topic);
      expect(new Set(stored.map((batch) => batch.codec))).toEqual(new Set([compression]));
      expect(stored.flatMap((batch) => batch.values).sort()).toEqual([...texts].sort());
    });

    it("queryMode 'sync' delivers what Kafka answers within syncQueryTimeout, with no late reply", async () => {
      const { connector } = await startConnector();
      const action = connector.createAction({ topic, value: '${n}', queryMode: 'sync', syncQueryTimeout: '10s', maxInflight: 1 }, context());
      await Promise.all(Array.from({ length: 50 }, (_, n) => action.send({ clientid: `dev-${n % 3}`, n }, mqttMessage())));
      const records = await consumeRecords(topic, 50);
      expect(records.map((r) => Number(r.value)).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n));
      expect(action.metrics()).toMatchObject({ late_reply: 0, retried: 0, queuing: 0 });
    });

    it('an idempotent connector delivers every record of concurrent actions exactly once', async () => {
      const { connector } = await startConnector({ idempotent: true });
      const actions = [connector.createAction({ topic, value: 'a-${n}' }, context('r:a')), connector.createAction({ topic, value: 'b-${n}' }, context('r:b'))];
      await Promise.all(Array.from({ length: 200 }, (_, n) => actions.map((action) => action.send({ clientid: `dev-${n % 5}`, n }, mqttMessage()))).flat());
      const records = await consumeRecords(topic, 400);
      expect(new Set(records.map((r) => r.value)).size).toBe(400);
      expect(await topicRecordCount(topic)).toBe(400);
    });

    it('routes a templated topic and drops a record whose placeholder is missing', async () => {
      const other = `${topic}-b`;
      topics.push(other);
      await createTopic(other, 1);
      const { connector } = await startConnector();
      const action = connector.createAction({ topic: `${topic}\${suffix}`, value: '${n}' }, context());
      const results = await Promise.allSettled([
        action.send({ suffix: '-b', n: 1 }, mqttMessage()),
        action.send({ n: 2 }, mqttMessage()),
      ]);
      expect(results[0].status).toBe('fulfilled');
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_ACTION_WRITE', retriable: false } });
      expect((await consumeRecords(other, 1)).map((r) => r.value)).toEqual(['1']);
    });

    it('keeps the records of an unknown topic waiting while a good one of the same turn is delivered, and sends them once the topic exists', async () => {
      const { connector } = await startConnector();
      const missing = randomName('kafka-it-missing');
      const action = connector.createAction({ topic: '${t}', value: '${n}' }, context());
      let waitingDone = false;
      const waiting = action.send({ t: missing, n: 2 }, mqttMessage()).then(() => { waitingDone = true; });
      await action.send({ t: topic, n: 1 }, mqttMessage());
      expect((await consumeRecords(topic, 1)).map((r) => r.value)).toEqual(['1']);
      expect(waitingDone).toBe(false);
      topics.push(missing);
      await createTopic(missing, 1);
      await waiting;
      expect((await consumeRecords(missing, 1)).map((r) => r.value)).toEqual(['2']);
    });

    it('keeps writing to a topic after another topic it wrote to was deleted (kafkajs fails every metadata refresh then)', async () => {
      // a 1 s metadata age makes kafkajs refresh (and fail, naming the deleted topic) at the next send
      const config = parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap, partitionCountRefreshInterval: 1_000 });
      const connector = new KafkaConnector(config, createRenewableProducer(config, silentLogger), silentLogger);
      connectors.push(connector);
      const doomed = randomName('kafka-it-doomed');
      topics.push(doomed);
      await createTopic(doomed, 1);
      const action = connector.createAction({ topic: '${t}', value: '${n}' }, context());
      await connector.start(new AbortController().signal);
      await action.send({ t: topic, n: 1 }, mqttMessage());
      await action.send({ t: doomed, n: 1 }, mqttMessage());
      await deleteTopic(doomed);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await action.send({ t: topic, n: 2 }, mqttMessage());
      await action.send({ t: topic, n: 3 }, mqttMessage());
      expect((await consumeRecords(topic, 3)).map((r) => r.value).sort()).toEqual(['1', '2', '3']);
    });

    it("is disconnected while an action's topic does not exist, and connected once it is created", async () => {
      const missing = randomName('kafka-it-missing');
      const config = parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap });
      const connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
      connectors.push(connector);
      connector.createAction({ topic: missing }, context());
      await connector.start(new AbortController().signal);
      expect(connector.status()).toMatchObject({ state: 'disconnected', reason: expect.stringContaining('does not exist') });
      expect(connector.status().reason).not.toContain(missing);
      topics.push(missing);
      await createTopic(missing, 1);
      while (connector.status().state !== 'connected') await new Promise((resolve) => setTimeout(resolve, 20));
    });

    it('the connection test passes and checks the fixed topics of the actions', async () => {
      const { connector } = await startConnector();
      connector.createAction({ topic }, context());
      connector.createAction({ topic: 'x-${site}' }, context('other'));
      const report = await connector.test();
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['handshake', true], ['metadata', true], [`topic ${topic}`, true]]);
      expect(report.ok).toBe(true);
    });

    it('the connection test names a topic that does not exist', async () => {
      const { connector } = await startConnector();
      const missing = randomName('kafka-it-missing');
      connector.createAction({ topic: missing }, context());
      const report = await connector.test();
      expect(report.ok).toBe(false);
      expect(report.stages.at(-1)).toEqual({ stage: `topic ${missing}`, ok: false, detail: `topic "${missing}" does not exist: create it, or set allowAutoTopicCreation on the connector` });
    });
  });

  describe('over SASL_SSL', () => {
    const saslSsl = (mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain'): Partial<KafkaConnectorOptions> => {
      const user = mechanism === 'scram-sha-256' ? broker.users.scram256 : mechanism === 'scram-sha-512' ? broker.users.scram512 : broker.users.plain;
      return { bootstrapHosts: broker.saslSsl, ssl: { caFile: broker.caFile }, authentication: { mechanism, ...user } };
    };

    it.each(['scram-sha-256', 'scram-sha-512', 'plain'] as const)('writes records with %s and the generated CA', async (mechanism) => {
      const { connector } = await startConnector(saslSsl(mechanism));
      const action = connector.createAction({ topic, value: '${n}' }, context());
      await action.send({ clientid: 'dev-9', n: 42 }, mqttMessage());
      const [record] = await consumeRecords(topic, 1, 20000, { config: kafkaConfig('sasl-ssl-scram-256') });
      expect([record?.key, record?.value]).toEqual(['dev-9', '42']);
    });

    it('the connection test walks TCP, TLS, SASL, metadata and the topic', async () => {
      const { connector } = await startConnector(saslSsl('scram-sha-256'));
      connector.createAction({ topic }, context());
      const report = await connector.test();
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['tls', true], ['sasl', true], ['metadata', true], [`topic ${topic}`, true]]);
      expect(report.stages[1]?.detail).toContain('certificate verified against the configured CA');
      expect(report.stages[2]?.detail).toBe(`authenticated as "${scram256.username}" with SCRAM-SHA-256`);
    });

    it('a wrong password fails the SASL stage and says what to check, without the password', async () => {
      const report = await testKafkaConnection({
        id: 'upstash', bootstrapHosts: broker.saslSsl, ssl: { caFile: broker.caFile },
        authentication: { mechanism: 'scram-sha-256', username: scram256.username, password: 'wrong-password-123' },
      });
      expect(report.ok).toBe(false);
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['tls', true], ['sasl', false]]);
      expect(report.stages[2]?.detail).toBe(
        `SASL authentication failed for user "${scram256.username}" with SCRAM-SHA-256: check the username/password and the mechanism`);
      expect(JSON.stringify(report)).not.toContain('wrong-password-123');
    });

    it('an untrusted certificate (no CA given, verification on) fails the TLS stage', async () => {
      const report = await testKafkaConnection({
        id: 'upstash', bootstrapHosts: broker.saslSsl, ssl: true, authentication: { mechanism: 'scram-sha-256', ...scram256 },
      });
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['tls', false]]);
      expect(report.stages[1]?.detail).toMatch(/^certificate not trusted: .* Give the CA that signed the broker certificate as ssl\.ca or ssl\.caFile/);
    });

    it('a CA that did not sign the broker certificate fails the TLS stage the same way', async () => {
      const report = await testKafkaConnection({
        id: 'upstash', bootstrapHosts: broker.saslSsl, ssl: { caFile: broker.untrustedCaFile }, authentication: { mechanism: 'scram-sha-256', ...scram256 },
      });
      expect(report.stages.at(-1)).toMatchObject({ stage: 'tls', ok: false, detail: expect.stringMatching(/^certificate not trusted/) });
    });

    it('SASL without TLS against the SASL_SSL port is named as such', async () => {
      const report = await testKafkaConnection({
        id: 'upstash', bootstrapHosts: broker.saslSsl, authentication: { mechanism: 'scram-sha-256', ...scram256 }, connectTimeout: 2000, metadataRequestTimeout: 2000,
      });
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['sasl', false]]);
      expect(report.stages[1]?.detail).toMatch(/expects TLS .* SASL was attempted without TLS: set ssl: true/);
    });

    it('SCRAM over SASL_PLAINTEXT passes the connection test without a TLS stage', async () => {
      const report = await testKafkaConnection({
        id: 'internal', bootstrapHosts: broker.saslPlaintext, authentication: { mechanism: 'scram-sha-512', ...broker.users.scram512 },
      }, { topics: [topic] });
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['sasl', true], ['metadata', true], [`topic ${topic}`, true]]);
    });

    it('TLS against the PLAINTEXT port says the port does not speak TLS', async () => {
      const report = await testKafkaConnection({ id: 'p', bootstrapHosts: broker.bootstrap, ssl: { caFile: broker.caFile }, connectTimeout: 2000 });
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['tls', false]]);
      expect(report.stages[1]?.detail).toMatch(/does not speak TLS/);
    });

    it('start() against a wrong password rejects with NotConnectedError naming the SASL stage', async () => {
      const config = parseKafkaConnectorConfig({
        id: 'upstash', bootstrapHosts: broker.saslSsl, ssl: { caFile: broker.caFile }, retry: { retries: 0 },
        authentication: { mechanism: 'scram-sha-256', username: scram256.username, password: 'nope-nope' },
      });
      const connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
      connectors.push(connector);
      await expect(connector.start(new AbortController().signal)).rejects.toMatchObject({
        code: 'ERR_NOT_CONNECTED', message: expect.stringContaining('sasl stage failed: SASL authentication failed for user'),
      });
    });
  });

  describe('when nothing listens', () => {
    it('the connection test fails the TCP stage', async () => {
      const report = await testKafkaConnection({ id: 'x', bootstrapHosts: '127.0.0.1:1' });
      expect(report.stages).toEqual([{ stage: 'tcp', ok: false, detail: expect.stringContaining('connection refused') }]);
    });
  });
});

// The real brokers the integration tests rely on, and the testkit helpers that reach them:
// if this suite fails, every other integration suite's failure is suspect.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CompressionTypes, Kafka, Partitioners, type Producer } from 'kafkajs';
import {
  consumeRecords,
  createTopic,
  deleteTopic,
  kafkaBroker,
  kafkaConfig,
  mqttUrl,
  publish,
  randomName,
  startMosquitto,
  subscribeMqtt,
  topicRecordCount,
  type MqttSubscription,
  type TestMosquitto,
} from '../../../../scripts/testkit';

jest.setTimeout(60_000);

describe('the Kafka test broker', () => {
  let topic: string;
  let producer: Producer | undefined;

  beforeEach(async () => {
    topic = randomName('it-brokers');
    await createTopic(topic, 3);
  });

  afterEach(async () => {
    await producer?.disconnect();
    producer = undefined;
    await deleteTopic(topic);
  });

  async function connectProducer(security: Parameters<typeof kafkaConfig>[0]): Promise<Producer> {
    producer = new Kafka({ ...kafkaConfig(security), retry: { retries: 0 } }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return producer;
  }

  it('describes itself in broker.json with every listener and user', () => {
    const broker = kafkaBroker();
    expect(broker.bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(broker.saslSsl).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(readFileSync(broker.caFile, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(Object.keys(broker.users).sort()).toEqual(['plain', 'scram256', 'scram512']);
  });

  it('round-trips key, value, headers and partition over PLAINTEXT (acks=all, gzip)', async () => {
    const p = await connectProducer('plaintext');
    await p.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: [
        { key: 'k1', value: 'v1', partition: 2, headers: { single: 'a', repeated: ['x', 'y'] } },
        { key: null, value: Buffer.from([0, 255]), partition: 0 },
      ],
    });

    const records = await consumeRecords(topic, 2);
    const byPartition = [...records].sort((a, b) => a.partition - b.partition);

    expect(byPartition.map((r) => [r.partition, r.key])).toEqual([[0, null], [2, 'k1']]);
    expect(byPartition[0]?.valueBytes).toEqual(Buffer.from([0, 255]));
    expect(byPartition[1]?.value).toBe('v1');
    expect(byPartition[1]?.headers).toEqual({ single: 'a', repeated: ['x', 'y'] });
    expect(await topicRecordCount(topic)).toBe(2);
  });

  it.each(['sasl-ssl-scram-256', 'sasl-ssl-scram-512', 'sasl-ssl-plain', 'sasl-plaintext-scram-256'] as const)(
    'accepts %s (TLS with the generated CA where SSL) and reads back over the same listener',
    async (security) => {
      const p = await connectProducer(security);
      await p.send({ topic, acks: -1, messages: [{ key: security, value: 'secure' }] });

      const [record] = await consumeRecords(topic, 1, 20000, { config: kafkaConfig(security) });

      expect(record?.key).toBe(security);
      expect(record?.value).toBe('secure');
    },
  );

  it('rejects a wrong SCRAM-SHA-256 password', async () => {
    const broker = kafkaBroker();
    const config = kafkaConfig('sasl-ssl-scram-256', {
      ...broker,
      users: { ...broker.users, scram256: { username: broker.users.scram256.username, password: 'wrong' } },
    });
    producer = new Kafka({ ...config, retry: { retries: 0 } }).producer();

    await expect(producer.connect()).rejects.toMatchObject({ name: 'KafkaJSSASLAuthenticationError' });
  });

  it('refuses TLS when the client trusts another CA', async () => {
    const broker = kafkaBroker();
    const config = kafkaConfig('sasl-ssl-scram-256', { ...broker, caFile: broker.untrustedCaFile });
    producer = new Kafka({ ...config, retry: { retries: 0 } }).producer();

    await expect(producer.connect()).rejects.toThrow(/certificate/i);
  });
});

describe('Mosquitto', () => {
  let subscription: MqttSubscription | undefined;
  let broker: TestMosquitto | undefined;

  afterEach(async () => {
    await subscription?.close();
    subscription = undefined;
    await broker?.dispose();
    broker = undefined;
  });

  it('round-trips a QoS 1 MQTT 5 publish with user properties on the shared broker', async () => {
    const topic = `it/${randomName('brokers')}`;
    subscription = await subscribeMqtt(mqttUrl(), topic, { protocolVersion: 5 });

    await publish(mqttUrl(), topic, ['one', 'two'], { qos: 1, protocolVersion: 5, properties: { userProperties: { k: 'v' } } });

    const received = await subscription.waitFor(2);
    expect(received.map((m) => m.payload.toString())).toEqual(['one', 'two']);
    expect(received[0]?.packet.properties?.userProperties).toEqual({ k: 'v' });
  });

  it('runs a test-owned broker whose persistent sessions survive a restart', async () => {
    broker = await startMosquitto({ settings: { persistence: true, max_queued_messages: 5000 } });
    const topic = `it/${randomName('durable')}`;
    const clientId = randomName('durable-sub');
    subscription = await subscribeMqtt(broker.url, topic, { clientId, clean: false, qos: 1 });
    await subscription.close();
    await publish(broker.url, topic, ['queued-1', 'queued-2'], { qos: 1 });

    await broker.restart();
    subscription = await subscribeMqtt(broker.url, topic, { clientId, clean: false, qos: 1 });

    const received = await subscription.waitFor(2);
    expect(received.map((m) => m.payload.toString())).toEqual(['queued-1', 'queued-2']);
  });
});

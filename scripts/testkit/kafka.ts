// Kafka helpers for integration tests: where the test broker is, client configs for each of its
// listeners, topic admin, and a real consumer that reads records back.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type IHeaders, type KafkaConfig } from 'kafkajs';
import { randomName } from './names';

export interface KafkaCredentials {
  readonly username: string;
  readonly password: string;
}

/** The contents of `.sluice/kafka/broker.json`, written by `node scripts/kafka.js start`. */
export interface KafkaBroker {
  readonly version: string;
  /** PLAINTEXT listener, `127.0.0.1:19092` by default. */
  readonly bootstrap: string;
  /** SASL_SSL listener (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN). */
  readonly saslSsl: string;
  /** SASL_PLAINTEXT listener (same mechanisms, no TLS). */
  readonly saslPlaintext: string;
  /** PEM of the broker's self-signed certificate: trust it as the CA. */
  readonly caFile: string;
  /** PEM of an unrelated certificate, for tests that must see TLS verification fail. */
  readonly untrustedCaFile: string;
  readonly users: { readonly scram256: KafkaCredentials; readonly scram512: KafkaCredentials; readonly plain: KafkaCredentials };
}

const ROOT = path.resolve(__dirname, '..', '..');

/** SLUICE_KAFKA_BROKER_FILE, else broker.json in SLUICE_KAFKA_STATE_DIR or `.sluice/kafka/`. */
export function kafkaBrokerFile(): string {
  const env = process.env;
  if (env['SLUICE_KAFKA_BROKER_FILE']) return path.resolve(env['SLUICE_KAFKA_BROKER_FILE']);
  const stateDir = env['SLUICE_KAFKA_STATE_DIR'] ? path.resolve(env['SLUICE_KAFKA_STATE_DIR']) : path.join(ROOT, '.sluice', 'kafka');
  return path.join(stateDir, 'broker.json');
}

/** The running test broker; throws, saying how to start one, when there is none. */
export function kafkaBroker(): KafkaBroker {
  const file = kafkaBrokerFile();
  if (!existsSync(file)) {
    throw new Error(
      `no test Kafka broker: ${file} does not exist. Run integration tests through jest's integration project ` +
        '(its global setup starts the broker), or run `node scripts/kafka.js start`, or set SLUICE_KAFKA_BROKER_FILE.',
    );
  }
  const state = JSON.parse(readFileSync(file, 'utf8')) as Partial<KafkaBroker>;
  for (const key of ['version', 'bootstrap', 'saslSsl', 'saslPlaintext', 'caFile', 'users'] as const) {
    if (state[key] === undefined) throw new Error(`${file} has no "${key}"; restart the broker with \`node scripts/kafka.js start\``);
  }
  return state as KafkaBroker;
}

/** How a test client reaches the broker: which listener, which SASL mechanism. */
export type KafkaSecurity =
  | 'plaintext'
  | 'sasl-ssl-scram-256'
  | 'sasl-ssl-scram-512'
  | 'sasl-ssl-plain'
  | 'sasl-plaintext-scram-256';

/** A kafkajs config for one listener of the test broker (quiet logs, a random client id). */
export function kafkaConfig(security: KafkaSecurity = 'plaintext', broker: KafkaBroker = kafkaBroker()): KafkaConfig {
  const base = { clientId: randomName('testkit'), logLevel: logLevel.NOTHING, connectionTimeout: 5000 };
  const ca = (): string[] => [readFileSync(broker.caFile, 'utf8')];
  switch (security) {
    case 'plaintext':
      return { ...base, brokers: [broker.bootstrap] };
    case 'sasl-ssl-scram-256':
      return { ...base, brokers: [broker.saslSsl], ssl: { ca: ca() }, sasl: { mechanism: 'scram-sha-256', ...broker.users.scram256 } };
    case 'sasl-ssl-scram-512':
      return { ...base, brokers: [broker.saslSsl], ssl: { ca: ca() }, sasl: { mechanism: 'scram-sha-512', ...broker.users.scram512 } };
    case 'sasl-ssl-plain':
      return { ...base, brokers: [broker.saslSsl], ssl: { ca: ca() }, sasl: { mechanism: 'plain', ...broker.users.plain } };
    case 'sasl-plaintext-scram-256':
      return { ...base, brokers: [broker.saslPlaintext], sasl: { mechanism: 'scram-sha-256', ...broker.users.scram256 } };
  }
}

async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka(kafkaConfig()).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates a topic and waits until every partition has a leader. Fails if it already exists.
 * kafkajs's wait for leaders gives up after a few hundred ms in test mode (NODE_ENV=test), so on a loaded
 * machine a new partition can still be unknown: try again (twice), and accept that an earlier attempt
 * created the topic when only its wait failed.
 */
export async function createTopic(name: string, partitions = 1, config: Record<string, string> = {}): Promise<void> {
  const configEntries = Object.entries(config).map(([configName, value]) => ({ name: configName, value }));
  for (let attempt = 1; ; attempt += 1) {
    try {
      const created = await withAdmin((admin) =>
        admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, configEntries }], waitForLeaders: true }),
      );
      if (created || attempt > 1) return;
      throw new Error(`topic ${name} already exists`);
    } catch (error) {
      if (attempt === 3 || (error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export async function deleteTopic(name: string): Promise<void> {
  await withAdmin((admin) => admin.deleteTopics({ topics: [name] }));
}

/** Records currently stored in a topic (sum over partitions of high watermark minus low watermark). */
export async function topicRecordCount(name: string): Promise<number> {
  const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(name));
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  /** UTF-8 text of the key/value; null when the record has none. */
  readonly key: string | null;
  readonly value: string | null;
  readonly keyBytes: Buffer | null;
  readonly valueBytes: Buffer | null;
  /** Header values as UTF-8 text; a header key that repeats maps to an array, in record order. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly rawHeaders: IHeaders;
}

export interface ConsumeOptions {
  /** Client config; the plaintext listener by default. */
  readonly config?: KafkaConfig;
  readonly groupId?: string;
}

const text = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('utf8'));

function decodeHeaders(raw: IHeaders | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? value.map(text) : text(value);
  }
  return out;
}

/**
 * Reads `count` records from `topic` with a real consumer in a fresh group, from the earliest offset,
 * and closes it. Records come in arrival order (per partition in offset order). Throws, listing what
 * did arrive, when fewer than `count` arrive within `timeoutMs`; records past `count` are not returned.
 */
export async function consumeRecords(topic: string, count: number, timeoutMs = 20000, opts: ConsumeOptions = {}): Promise<ConsumedRecord[]> {
  const consumer = new Kafka(opts.config ?? kafkaConfig()).consumer({
    groupId: opts.groupId ?? randomName('testkit-group'),
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
  });
  const records: ConsumedRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      if (count <= 0) return resolve();
      timer = setTimeout(() => {
        const got = records.map((r) => `${r.partition}@${r.offset} key=${r.key}`).join(', ');
        reject(new Error(`consumeRecords(${topic}): ${records.length} of ${count} records within ${timeoutMs} ms: [${got}]`));
      }, timeoutMs);
      // kafkajs reports retriable failures (e.g. a coordinator still loading) as a crash it restarts from.
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) reject(event.payload.error);
      });
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (records.length >= count) return;
            records.push({
              topic,
              partition,
              offset: message.offset,
              timestamp: message.timestamp,
              key: message.key === null ? null : message.key.toString('utf8'),
              value: message.value === null ? null : message.value.toString('utf8'),
              keyBytes: message.key,
              valueBytes: message.value,
              headers: decodeHeaders(message.headers),
              rawHeaders: message.headers ?? {},
            });
            if (records.length === count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    if (timer) clearTimeout(timer);
    await consumer.disconnect();
  }
  return records;
}

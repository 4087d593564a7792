// Numbered QoS 1 load for the delivery scenarios: several real MQTT publishers each send their share of
// sequence numbers, and a real Kafka consumer reads the topic back to find what is missing or doubled.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import mqtt, { type MqttClient } from 'mqtt';
import { kafkaConfig, randomName } from '@sluice/testkit';

/** Messages per scenario: 20,000 by default (issue 5's size); SLUICE_DELIVERY_MESSAGES=5000 for a quicker local loop. */
export function messageCount(): number {
  const fromEnv = Number(process.env['SLUICE_DELIVERY_MESSAGES']);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 20_000;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LoadOptions {
  readonly url: string;
  /** Messages go to `<topicPrefix>/<publisher index>`. */
  readonly topicPrefix: string;
  readonly total: number;
  readonly publishers: number;
  /** Messages per second over all publishers; the stream must last long enough to fail something mid-way. */
  readonly ratePerSecond: number;
  /** Extra bytes of padding per message (default none). */
  readonly padding?: number;
}

export interface Load {
  /** Sequence numbers whose PUBACK a publisher received: the broker accepted them. */
  readonly acknowledged: Set<number>;
  /** Sequence numbers handed to a publisher so far. */
  sent(): number;
  /** Resolves when every message was acknowledged (or `timeoutMs` passed); returns the acknowledged count. */
  finished(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts the publishers. Each is an mqtt.js client (MQTT 3.1.1, reconnecting): a message whose PUBACK is
 * outstanding when the broker goes away is sent again by mqtt.js after the reconnect.
 */
export async function startLoad(opts: LoadOptions): Promise<Load> {
  const acknowledged = new Set<number>();
  const clients: MqttClient[] = [];
  for (let p = 0; p < opts.publishers; p++) {
    const client = mqtt.connect(opts.url, { clientId: randomName(`delivery-pub${p}`), protocolVersion: 4, reconnectPeriod: 300, connectTimeout: 5000 });
    // A broker restart makes the client emit errors it recovers from; without a listener they would throw.
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    clients.push(client);
  }
  const padding = opts.padding ? 'x'.repeat(opts.padding) : '';
  let next = 0;
  let stopped = false;
  const started = Date.now();
  const pumps = clients.map(async (client, p) => {
    let outstanding = 0;
    for (let seq = p; seq < opts.total && !stopped; seq += opts.publishers) {
      // Pace the whole load to ratePerSecond, and keep at most 100 unacknowledged per publisher.
      while (!stopped && (next > ((Date.now() - started) / 1000) * opts.ratePerSecond || outstanding >= 100)) await sleep(5);
      next++;
      outstanding++;
      const payload = padding ? `{"seq":${seq},"pad":"${padding}"}` : `{"seq":${seq}}`;
      client.publish(`${opts.topicPrefix}/${p}`, payload, { qos: 1 }, (error) => {
        outstanding--;
        if (!error) acknowledged.add(seq);
      });
    }
  });
  return {
    acknowledged,
    sent: () => next,
    async finished(timeoutMs) {
      await Promise.all(pumps);
      const deadline = Date.now() + timeoutMs;
      while (acknowledged.size < opts.total && Date.now() < deadline) await sleep(50);
      return acknowledged.size;
    },
    async close() {
      stopped = true;
      await Promise.all(pumps);
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}

export interface ReadBack {
  /** How often each sequence number was read. */
  readonly counts: Map<number, number>;
  /** Expected numbers never read. */
  readonly missing: number[];
  /** Records read more than once (sum of extra copies). */
  readonly duplicates: number;
  readonly records: number;
  /** Every value read, in the order read. */
  readonly values: readonly string[];
}

/**
 * Reads `topic` from the beginning until every number in `expected` was seen, or nothing new arrived
 * for `quietMs` after `timeoutMs`. Values are sequence numbers, bare or as the `seq` of a JSON object.
 */
export async function readBack(topic: string, expected: Iterable<number>, timeoutMs = 120000, quietMs = 5000): Promise<ReadBack> {
  const want = new Set(expected);
  const counts = new Map<number, number>();
  const values: string[] = [];
  let records = 0;
  let lastProgress = Date.now();
  const consumer = await subscribed(topic);
  try {
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          records++;
          const value = message.value?.toString('utf8') ?? '';
          values.push(value);
          const seq = sequenceOf(value);
          counts.set(seq, (counts.get(seq) ?? 0) + 1);
          want.delete(seq);
        }
        lastProgress = Date.now();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (want.size > 0 && (Date.now() < deadline || Date.now() - lastProgress < quietMs)) await sleep(100);
  } finally {
    await consumer.disconnect();
  }
  let duplicates = 0;
  for (const n of counts.values()) if (n > 1) duplicates += n - 1;
  return { counts, missing: [...want].sort((a, b) => a - b), duplicates, records, values };
}

/**
 * A consumer subscribed to `topic` from the beginning. Right after a broker restart the topic's partitions
 * may not be served yet (UNKNOWN_TOPIC_OR_PARTITION, retriable): try again for up to a minute.
 */
async function subscribed(topic: string): Promise<Consumer> {
  const deadline = Date.now() + 60000;
  for (;;) {
    const consumer = new Kafka({ ...kafkaConfig(), logLevel: logLevel.NOTHING }).consumer({
      groupId: randomName('delivery-readback'),
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      return consumer;
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      if (Date.now() > deadline || !(error as { retriable?: unknown }).retriable) throw error;
      await sleep(500);
    }
  }
}

/** A record value is the bare sequence number, or a JSON object with a `seq` field. */
function sequenceOf(value: string): number {
  if (!value.startsWith('{')) return Number(value);
  const parsed = JSON.parse(value) as { seq?: unknown };
  return typeof parsed.seq === 'number' ? parsed.seq : Number.NaN;
}

/** A short printable summary of a read-back, for the test log. */
export function summary(name: string, expected: number, read: ReadBack): string {
  const missing = read.missing.length > 20 ? `${read.missing.slice(0, 20).join(',')},…` : read.missing.join(',');
  return `[delivery] ${name}: expected ${expected}, read ${read.records} records, missing ${read.missing.length}${missing ? ` (${missing})` : ''}, duplicates ${read.duplicates}`;
}

export { sleep };

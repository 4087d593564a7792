import { randomUUID } from 'node:crypto';
import { Kafka, type Admin, type Consumer, type IHeaders, type Producer } from 'kafkajs';
import type { Logger } from '@sluice/core';
import type { KafkaConnectorConfig } from './kafka-connector-config';
import { toKafkaConfig } from './kafka-client-config';

/** How long close() tries to delete the reader's consumer group. */
const CLOSE_GROUP_DELETE_MS = 3_000;

/** One record of a cluster topic as its reader gets it. */
export interface ClusterTopicRecord {
  readonly offset: bigint;
  readonly key: string;
  readonly value: Buffer;
}

export interface ClusterTopicOptions {
  /** `_sluice-<cluster>-config` or `-status`. */
  readonly topic: string;
  /** The topic's `cleanup.policy` and any other topic configs, used only when this member creates it. */
  readonly topicConfig: Readonly<Record<string, string>>;
  /** Names the throwaway consumer group of this reader (a uuid is appended). */
  readonly groupPrefix: string;
  /** Handed every record, in offset order, from the first one on; must not throw (a throw is logged and skipped). */
  readonly onRecord: (record: ClusterTopicRecord) => void;
  /** How long a fetch waits for new records: the floor of how fast a change reaches this reader. */
  readonly maxWaitMs?: number;
}

/**
 * A one-partition topic every cluster member writes to and reads whole, from the first record on: the
 * shared log of cluster mode (configuration revisions, member status). The Kafka connection is a
 * connector's own settings (TLS, SASL included) on clients of its own.
 *
 * kafkajs reads only through a consumer group, so each reader runs in a group of its own that never
 * commits offsets (so every start reads from the beginning) and is deleted, best effort, when the reader
 * closes. The topic is created on first use with `topicConfig` (one partition: one order for all members),
 * and replicated as the broker's `default.replication.factor` says.
 */
export class KafkaClusterTopic {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  private readonly groupId: string;
  /** The next offset onRecord will be given: every offset before it was handed over. */
  private next = 0n;
  private readonly waiters = new Set<{ readonly offset: bigint; readonly resolve: () => void }>();
  private crashed: Error | undefined;

  constructor(connector: KafkaConnectorConfig, private readonly options: ClusterTopicOptions, private readonly logger: Logger) {
    this.kafka = new Kafka({ ...toKafkaConfig(connector, logger), clientId: `${connector.clientId}-cluster` });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1 });
    this.groupId = `${options.groupPrefix}-${randomUUID()}`;
    this.consumer = this.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: options.maxWaitMs ?? 100,
      allowAutoTopicCreation: false,
      // The group has this one member. After Kafka restarts, the rejoin waits for the member's previous
      // session to expire: kafkajs's default 30 s kept every API change waiting that long (measured in
      // cluster-mode.int.spec.ts); 6 s is the broker's default minimum (group.min.session.timeout.ms).
      sessionTimeout: 6_000,
      rebalanceTimeout: 6_000,
      heartbeatInterval: 1_000,
    });
  }

  get topic(): string {
    return this.options.topic;
  }

  /**
   * Creates the topic when it is missing, connects, and starts reading from the first record. Resolves once
   * every record that was in the topic when it was called has been handed to onRecord.
   */
  async open(): Promise<void> {
    const admin = this.kafka.admin();
    let end: bigint;
    try {
      await admin.connect();
      await this.ensureTopic(admin);
      const [offsets] = await admin.fetchTopicOffsets(this.options.topic);
      end = BigInt(offsets?.high ?? '0');
      // records before the low watermark were deleted (retention): reading starts there, and an emptied
      // topic (low = high) has nothing to wait for
      this.next = BigInt(offsets?.low ?? '0');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await this.producer.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts a consumer after a retriable crash (Kafka restarted, a leader moved): it rejoins and
      // reads from the first record again, which `next` skips. Only a crash it will not restart from is final.
      if (payload.restart) {
        this.logger.warn('cluster topic reader restarting', { topic: this.options.topic, error: payload.error.message });
        return;
      }
      this.crashed = payload.error;
      this.logger.error('cluster topic reader stopped', { topic: this.options.topic, error: payload.error.message });
    });
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < this.next) continue; // a batch fetched again after a rebalance
          this.handOver({ offset, key: message.key?.toString('utf8') ?? '', value: message.value ?? Buffer.alloc(0) });
          this.next = offset + 1n;
          this.wakeWaiters();
        }
        // an empty batch at the end still moves the position (compaction or control records left a gap)
        const last = BigInt(batch.lastOffset());
        if (last + 1n > this.next) {
          this.next = last + 1n;
          this.wakeWaiters();
        }
        await heartbeat();
      },
    });
    await this.readUpTo(end);
  }

  /** Appends a record; answers its offset once Kafka stored it (acks all). */
  async write(key: string, value: Buffer, headers?: IHeaders): Promise<bigint> {
    const [meta] = await this.producer.send({ topic: this.options.topic, acks: -1, messages: [{ key, value, ...(headers === undefined ? {} : { headers }) }] });
    if (meta?.baseOffset === undefined) throw new Error(`Kafka answered no offset for the record written to ${this.options.topic}`);
    return BigInt(meta.baseOffset);
  }

  /**
   * Resolves once the record at `offset` (and every one before it) has been handed to onRecord. Meant for
   * a topic whose records compaction never removes (unique keys): a gap left at the end could hold it.
   */
  readThrough(offset: bigint): Promise<void> {
    return this.readUpTo(offset + 1n);
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    // best effort, and bounded: with Kafka away the admin's retries would hold a member's stop for long; an
    // empty group without offsets is removed by Kafka anyway
    const admin = this.kafka.admin();
    let timer: NodeJS.Timeout | undefined;
    const deleteGroup = admin.connect().then(() => admin.deleteGroups([this.groupId]));
    await Promise.race([deleteGroup, new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_GROUP_DELETE_MS); })]).catch(() => undefined);
    clearTimeout(timer);
    deleteGroup.catch(() => undefined).finally(() => void admin.disconnect().catch(() => undefined));
  }

  private readUpTo(end: bigint): Promise<void> {
    if (this.crashed !== undefined) return Promise.reject(this.crashed);
    if (this.next >= end) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ offset: end, resolve }));
  }

  private wakeWaiters(): void {
    for (const waiter of this.waiters) {
      if (this.next >= waiter.offset) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  private handOver(record: ClusterTopicRecord): void {
    try {
      this.options.onRecord(record);
    } catch (error) {
      this.logger.error('a cluster record could not be handled; skipped', { topic: this.options.topic, offset: record.offset.toString(), error: (error as Error).message });
    }
  }

  private async ensureTopic(admin: Admin): Promise<void> {
    const names = await admin.listTopics();
    if (names.includes(this.options.topic)) return;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic: this.options.topic,
          numPartitions: 1,
          configEntries: Object.entries(this.options.topicConfig).map(([name, value]) => ({ name, value })),
        }],
      });
      this.logger.info('cluster topic created', { topic: this.options.topic });
    } catch (error) {
      if (createdByAnother(error)) return;
      const reason = (error as Error).message;
      throw new Error(`cannot create the cluster topic ${this.options.topic} (${reason}): create it with one partition and ${Object.entries(this.options.topicConfig).map(([k, v]) => `${k}=${v}`).join(', ')}, or allow this principal to create topics`, { cause: error });
    }
  }
}

/** kafkajs reports a topic another member created between listTopics and createTopics as an aggregate error. */
function createdByAnother(error: unknown): boolean {
  const errors = (error as { errors?: ReadonlyArray<{ type?: string }> }).errors ?? [error as { type?: string }];
  return errors.length > 0 && errors.every((e) => e.type === 'TOPIC_ALREADY_EXISTS');
}

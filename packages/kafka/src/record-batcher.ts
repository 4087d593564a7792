import type { CompressionTypes, Message as KafkaMessage, ProducerBatch, RecordMetadata, TopicMessages } from 'kafkajs';
import { SinkWriteError } from '@sluice/core';
import { classifyKafkaError, toSinkWriteError } from './kafka-errors';
import type { MissingTopics } from './missing-topics';
import type { SendGate } from './send-gate';
import type { RenderedRecord } from './record-renderer';

/** The part of a kafkajs Producer the sink uses: the seam a second driver (or a test fake) implements. */
export interface ProducerClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}

export interface BatcherOptions {
  readonly acks: -1 | 0 | 1;
  readonly compression: CompressionTypes;
  /** How long the broker may take to gather the acks (the produce request's timeout). */
  readonly timeout: number;
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
  readonly maxLingerTime: number;
  readonly maxInflight: number;
  /** Shared by the connector's actions: topics Kafka just reported unknown fail at once. */
  readonly missingTopics?: MissingTopics;
  /** When set, every produce request of the connector passes through it, one at a time. */
  readonly gate?: SendGate;
  /** Told the outcome of every produce request (undefined on success), for the connector's status. */
  readonly onResult?: (error: SinkWriteError | undefined) => void;
}

interface Entry {
  readonly record: RenderedRecord;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * kafkajs has no linger or batch size: the caller batches. Records wait here until the next turn of the
 * event loop (or maxLingerTime), then go out together in one sendBatch of at most maxBatchBytes, with
 * at most maxInflight requests awaiting their acks. While every slot is busy, records accumulate, so
 * batches grow with the load instead of the request count.
 */
export class RecordBatcher {
  private pending: Entry[] = [];
  private pendingBytes = 0;
  private inflightRequests = 0;
  private inflightRecords = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly sinkId: string,
    private readonly producer: ProducerClient,
    private readonly options: BatcherOptions,
  ) {}

  /** Resolves when the batch holding the record is acknowledged as `acks` requires. */
  add(record: RenderedRecord): Promise<void> {
    if (this.closed) {
      return Promise.reject(new SinkWriteError(this.sinkId, 'the Kafka action is closed', { retriable: true }));
    }
    if (this.options.missingTopics?.has(record.topic) === true) {
      return Promise.reject(new SinkWriteError(this.sinkId,
        `kafka topic "${record.topic}" does not exist (Kafka said so moments ago; not asked again yet): create it, or set allowAutoTopicCreation on the connector`,
        { retriable: false }));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      this.pendingBytes += record.bytes;
      if (this.pendingBytes >= this.options.maxBatchBytes || this.pending.length >= this.options.maxBatchRecords) this.flush();
      else this.schedule();
    });
  }

  /** Records accepted and not yet acknowledged (waiting or in flight). */
  queued(): number {
    return this.pending.length + this.inflightRecords;
  }

  /** Estimated bytes of the records waiting to be sent (not those in flight). */
  queuedBytes(): number {
    return this.pendingBytes;
  }

  /** Records in produce requests awaiting their acknowledgement. */
  inflight(): number {
    return this.inflightRecords;
  }

  /** Sends what waits and resolves once nothing is waiting or in flight; refuses records from then on. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    if (this.pending.length === 0 && this.inflightRequests === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.timer !== undefined || this.inflightRequests >= this.options.maxInflight) return;
    this.timer = this.options.maxLingerTime === 0
      ? setImmediate(this.flushNow)
      : setTimeout(this.flushNow, this.options.maxLingerTime);
  }

  private flush(): void {
    if (this.timer !== undefined) {
      // each clear function only for its own kind: clearImmediate on a Timeout corrupts Node's immediate queue
      if (this.options.maxLingerTime === 0) clearImmediate(this.timer as NodeJS.Immediate);
      else clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = undefined;
    }
    while (this.pending.length > 0 && this.inflightRequests < this.options.maxInflight) {
      this.send(this.takeBatch());
    }
    this.notifyIdle();
  }

  private takeBatch(): Entry[] {
    const limit = this.options.maxBatchBytes;
    let bytes = 0;
    let count = 0;
    // a single record larger than the limit still goes, alone (the broker decides whether it fits)
    const maxRecords = Math.min(this.pending.length, this.options.maxBatchRecords);
    while (count < maxRecords) {
      const next = (this.pending[count] as Entry).record.bytes;
      if (count > 0 && bytes + next > limit) break;
      bytes += next;
      count += 1;
    }
    const batch = count === this.pending.length ? this.pending : this.pending.slice(0, count);
    this.pending = count === this.pending.length ? [] : this.pending.slice(count);
    this.pendingBytes -= bytes;
    return batch;
  }

  private send(batch: Entry[]): void {
    this.inflightRequests += 1;
    this.inflightRecords += batch.length;
    void this.produce(batch).finally(() => {
      this.inflightRequests -= 1;
      this.inflightRecords -= batch.length;
      if (this.pending.length > 0) this.flush();
      else this.notifyIdle();
    });
  }

  /** Never rejects: settles every entry of the batch. */
  private async produce(batch: Entry[]): Promise<void> {
    const groups = groupByTopic(batch);
    try {
      await this.sendBatch(groups);
      this.options.onResult?.(undefined);
      for (const entry of batch) entry.resolve();
      return;
    } catch (error) {
      if (groups.size > 1 && !classifyKafkaError(error).retriable) {
        // One bad topic (unknown, not authorized) must not fail the records of the others: retry per topic.
        // one after the other: concurrent sends would race kafkajs's metadata refresh for the bad topic
        for (const group of groups.values()) await this.produceOneTopic(group);
        return;
      }
      const failure = toSinkWriteError(this.sinkId, [...groups.keys()], error);
      if (groups.size === 1) this.rememberIfMissing([...groups.keys()][0] as string, error);
      this.options.onResult?.(failure);
      for (const entry of batch) entry.reject(failure);
    }
  }

  private async produceOneTopic(group: TopicGroup): Promise<void> {
    try {
      await this.sendBatch(new Map([[group.topic, group]]));
      this.options.onResult?.(undefined);
      for (const entry of group.entries) entry.resolve();
    } catch (error) {
      const failure = toSinkWriteError(this.sinkId, [group.topic], error);
      this.rememberIfMissing(group.topic, error);
      this.options.onResult?.(failure);
      for (const entry of group.entries) entry.reject(failure);
    }
  }

  private rememberIfMissing(topic: string, error: unknown): void {
    if (this.options.missingTopics !== undefined && classifyKafkaError(error).reason === 'UNKNOWN_TOPIC_OR_PARTITION') {
      this.options.missingTopics.mark(topic);
    }
  }

  private sendBatch(groups: ReadonlyMap<string, TopicGroup>): Promise<RecordMetadata[]> {
    const batch = this.request(groups);
    const gate = this.options.gate;
    return gate === undefined ? this.producer.sendBatch(batch) : gate.run(() => this.producer.sendBatch(batch));
  }

  private request(groups: ReadonlyMap<string, TopicGroup>): ProducerBatch {
    const topicMessages: TopicMessages[] = [];
    for (const group of groups.values()) topicMessages.push({ topic: group.topic, messages: group.messages });
    return { acks: this.options.acks, compression: this.options.compression, timeout: this.options.timeout, topicMessages };
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || this.pending.length > 0 || this.inflightRequests > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

interface TopicGroup {
  readonly topic: string;
  readonly messages: KafkaMessage[];
  readonly entries: Entry[];
}

function groupByTopic(batch: readonly Entry[]): Map<string, TopicGroup> {
  const groups = new Map<string, TopicGroup>();
  for (const entry of batch) {
    const topic = entry.record.topic;
    let group = groups.get(topic);
    if (group === undefined) {
      group = { topic, messages: [], entries: [] };
      groups.set(topic, group);
    }
    group.messages.push(entry.record.message);
    group.entries.push(entry);
  }
  return groups;
}

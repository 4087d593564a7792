import { randomUUID } from 'node:crypto';
import { type BrowsedRecord, type Logger, type RecordBrowser, ThrottledLog } from '@sluice/core';
import type { Admin, Consumer, EachBatchHandler, IHeaders, Kafka, KafkaMessage } from 'kafkajs';

/** How long latest() reads before it returns what it has (and how long it waits for metadata at all). */
const READ_TIMEOUT_MS = 10_000;
/**
 * How long one fetch waits for records. Closing a consumer waits for its fetch in flight, so this is also
 * about how long stopping a follow() or ending a latest() takes; a record that arrives ends the wait at once.
 */
const MAX_WAIT_MS = 250;
/**
 * A throwaway group has one member that leaves cleanly; these only matter when the process dies without
 * leaving: the broker then forgets the member after 10 s (brokers refuse less than 6 s by default).
 */
const SESSION_TIMEOUT_MS = 10_000;
/** DeleteGroups error code for a group the coordinator does not know (never joined, or gone). */
const GROUP_ID_NOT_FOUND = 69;

export interface RecordBrowserOptions {
  /** Upper bound of one latest() call in ms; it returns the records read so far when reached. */
  readonly readTimeout?: number;
  /** Names each throwaway consumer group; `sluice-browse-<uuid>` by default (the ACL prefix docs name). */
  readonly newGroupId?: () => string;
}

/** Kafka's own topics (`__consumer_offsets`, `__transaction_state`) and Sluice's internal ones. */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('__') || name.startsWith('_sluice-');
}

/** A partition of a latest() read: where it reads next, and the offset it stops at (see latestRanges). */
interface PartitionRange {
  next: bigint;
  readonly end: bigint;
}

/**
 * Reads a Kafka connector's topics back for an operator (the console's Messages page), off the message path.
 * Kafka needs a consumer group to read with kafkajs, so every read runs a consumer in a group of its own
 * (`sluice-browse-<uuid>`) that never commits offsets and is deleted afterwards (best effort). One admin
 * client, connected on first use, lists topics and deletes those groups; high watermarks come from an admin
 * of their own per read, because kafkajs keeps every topic an admin asked offsets for in its metadata
 * requests for good, and a topic deleted later would then fail every request of a shared admin.
 */
export class KafkaRecordBrowser implements RecordBrowser {
  private admin: Promise<Admin> | undefined;
  /** Aborted by close(): ends every read and follow in progress. */
  private readonly closing = new AbortController();
  /** Reads, follows, and consumers and admins being closed in the background: close() waits for them all. */
  private readonly running = new Set<Promise<unknown>>();
  private readonly warnings: ThrottledLog;
  private readonly readTimeout: number;
  private readonly newGroupId: () => string;

  constructor(
    private readonly connectorId: string,
    private readonly kafka: Kafka,
    private readonly logger: Logger,
    options: RecordBrowserOptions = {},
  ) {
    this.warnings = new ThrottledLog(logger, 60_000);
    this.readTimeout = options.readTimeout ?? READ_TIMEOUT_MS;
    this.newGroupId = options.newGroupId ?? ((): string => `sluice-browse-${randomUUID()}`);
  }

  topics(): Promise<string[]> {
    return this.run(() => this.listTopics());
  }

  latest(topic: string, limit: number, signal?: AbortSignal): Promise<BrowsedRecord[]> {
    if (!Number.isInteger(limit) || limit < 1) return Promise.reject(new RangeError(`limit must be a positive integer, not ${String(limit)}`));
    return this.run(() => this.readLatest(topic, limit, signal));
  }

  follow(topic: string, onRecord: (record: BrowsedRecord) => void, signal: AbortSignal): Promise<void> {
    return this.run(() => this.followFromEnd(topic, onRecord, signal));
  }

  /** Ends every read and follow in progress, waits for their consumers to leave, and disconnects. */
  async close(): Promise<void> {
    this.closing.abort(new Error(`the record browser of Kafka connector "${this.connectorId}" is closed`));
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    const admin = this.admin;
    this.admin = undefined;
    if (admin !== undefined) await admin.then((client) => client.disconnect(), () => undefined);
  }

  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closing.signal.aborted) return Promise.reject(this.closing.signal.reason);
    return this.track(operation());
  }

  private async listTopics(): Promise<string[]> {
    const names = await this.withinTime(this.sharedAdmin().then((admin) => admin.listTopics()), this.deadline());
    return names.filter((name) => !isInternalTopic(name)).sort();
  }

  private async readLatest(topic: string, limit: number, signal: AbortSignal | undefined): Promise<BrowsedRecord[]> {
    const timeout = AbortSignal.timeout(this.readTimeout);
    const stop = this.deadline(signal, timeout);
    await this.withinTime(this.assertTopic(topic), stop);
    const reader = new ThrowawayConsumer(this.kafka, this.newGroupId());
    // connecting needs no offsets: do it while they are fetched
    const connected = reader.connect();
    let ranges: Map<number, PartitionRange>;
    try {
      ranges = await this.withinTime(this.latestRanges(topic, limit), stop);
      await this.withinTime(connected, stop);
    } catch (error) {
      this.release(reader);
      throw error;
    }
    if (ranges.size === 0) {
      this.release(reader);
      return [];
    }
    const newest = new NewestRecords(limit);
    try {
      await this.readRanges(reader, topic, ranges, newest, stop, timeout);
    } finally {
      this.release(reader);
    }
    return newest.oldestFirst();
  }

  private async followFromEnd(topic: string, onRecord: (record: BrowsedRecord) => void, signal: AbortSignal): Promise<void> {
    const stop = AbortSignal.any([signal, this.closing.signal]);
    if (stop.aborted) return;
    let positions: Map<number, bigint>;
    try {
      await this.withinTime(this.assertTopic(topic), this.deadline(signal));
      // from the end as it is now: records written while the group is joined are not missed
      const watermarks = await this.withinTime(this.watermarks(topic), this.deadline(signal));
      positions = new Map(watermarks.map((p) => [p.partition, BigInt(p.high)]));
    } catch (error) {
      if (stop.aborted) return;
      throw error;
    }
    const reader = new ThrowawayConsumer(this.kafka, this.newGroupId());
    try {
      await new Promise<void>((resolve, reject) => {
        let ended = false;
        const done = (): void => {
          ended = true;
          resolve();
        };
        stop.addEventListener('abort', done, { once: true });
        const fail = (error: unknown): void => {
          ended = true;
          stop.removeEventListener('abort', done);
          reject(error);
        };
        this.watchPositions(reader.consumer, topic, positions, () => undefined, fail);
        reader.connect()
          .then(() => reader.run(topic, async ({ batch }) => {
            for (const message of batch.messages) {
              if (ended) return;
              try {
                onRecord(toBrowsedRecord(batch.partition, message));
              } catch (error) {
                // the caller's bug: stop following rather than let kafkajs fetch the batch again
                fail(error);
                return;
              }
            }
          }))
          .catch(fail);
      });
    } finally {
      await this.releaseNow(reader);
    }
  }

  private async assertTopic(topic: string): Promise<void> {
    const admin = await this.sharedAdmin();
    // listTopics asks about no topic in particular: an unknown one is an answer here, not a retried error
    const names = await admin.listTopics();
    if (!names.includes(topic)) throw new Error(`topic "${topic}" does not exist on the cluster`);
  }

  /**
   * Per partition with records: from max(low, high - limit) to `high` as it is now. kafkajs asks for offsets
   * read_committed, so `high` is the last stable offset: the high watermark, or the first record of a
   * transaction still open, which a read_committed consumer could not read past before the transaction ends.
   */
  private async latestRanges(topic: string, limit: number): Promise<Map<number, PartitionRange>> {
    const ranges = new Map<number, PartitionRange>();
    for (const { partition, low, high } of await this.watermarks(topic)) {
      const end = BigInt(high);
      const start = bigMax(BigInt(low), end - BigInt(limit));
      if (start < end) ranges.set(partition, { next: start, end });
    }
    return ranges;
  }

  private async watermarks(topic: string): Promise<Array<{ partition: number; low: string; high: string }>> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      return await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Reads every range to its end (or until `stop`), keeping the newest records; a timeout ends it early. */
  private readRanges(
    reader: ThrowawayConsumer, topic: string, ranges: Map<number, PartitionRange>, newest: NewestRecords,
    stop: AbortSignal, timeout: AbortSignal,
  ): Promise<void> {
    const unfinished = new Set(ranges.keys());
    const positions = new Map([...ranges].map(([partition, range]) => [partition, range.next]));
    return new Promise<void>((resolve, reject) => {
      const onStop = (): void => {
        if (stop.reason === timeout.reason) {
          this.warnings.warn('latest-timeout', 'stopped reading records back before the end of every partition', () => ({
            topic, timeoutMs: this.readTimeout, partitionsNotRead: [...unfinished],
          }));
          resolve();
        } else {
          reject(stop.reason);
        }
      };
      if (stop.aborted) return onStop();
      stop.addEventListener('abort', onStop, { once: true });
      const finish = (): void => {
        stop.removeEventListener('abort', onStop);
        resolve();
      };
      const fail = (error: unknown): void => {
        stop.removeEventListener('abort', onStop);
        reject(error);
      };
      this.watchPositions(reader.consumer, topic, positions, (partition, next) => {
        const range = ranges.get(partition);
        if (range === undefined) return;
        range.next = next;
        if (next >= range.end && unfinished.delete(partition) && unfinished.size === 0) finish();
      }, fail);
      reader.run(topic, async ({ batch }) => {
        const range = ranges.get(batch.partition);
        if (range === undefined) return;
        for (const message of batch.messages) {
          // records written after latest() began are past the end it reads to
          if (BigInt(message.offset) >= range.end) break;
          newest.offer(batch.partition, message);
        }
      }).catch(fail);
    });
  }

  /**
   * Seeks each partition the group assigns to its position (again after a rebalance or a restart of the
   * consumer, from where it got to) and moves the position on after every batch, including batches kafkajs
   * filtered to nothing (transaction markers). A crash kafkajs does not restart from is `fail`ed.
   */
  private watchPositions(
    consumer: Consumer, topic: string, positions: Map<number, bigint>,
    moved: (partition: number, next: bigint) => void, fail: (error: unknown) => void,
  ): void {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const partition of payload.memberAssignment[topic] ?? []) {
        const next = positions.get(partition);
        if (next !== undefined) consumer.seek({ topic, partition, offset: next.toString() });
      }
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic) return;
      const next = BigInt(payload.lastOffset) + 1n;
      positions.set(payload.partition, next);
      moved(payload.partition, next);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) fail(payload.error);
    });
  }

  /** Closes the consumer and deletes its group in the background; close() waits for it. */
  private release(reader: ThrowawayConsumer): void {
    void this.releaseNow(reader);
  }

  private releaseNow(reader: ThrowawayConsumer): Promise<void> {
    return this.track((async () => {
      await reader.close().catch((error: unknown) => {
        this.logger.debug('closing a browsing consumer failed', { error: messageOf(error) });
      });
      if (reader.joined) await this.deleteGroup(reader.groupId);
    })());
  }

  /**
   * Best effort. Without the Delete ACL, or when kafkajs could not leave the group (it swallows a failed
   * LeaveGroup: "The group is not empty" then, until the session times out), the broker removes the empty
   * group itself at its next offsets clean-up.
   */
  private async deleteGroup(groupId: string): Promise<void> {
    try {
      const admin = await this.sharedAdmin();
      await admin.deleteGroups([groupId]);
    } catch (error) {
      // KafkaJSDeleteGroupsError says only "Error in DeleteGroups": the reason is per group
      const groups = (error as { groups?: Array<{ errorCode?: number; error?: unknown }> }).groups ?? [];
      if (groups.length > 0 && groups.every((group) => group.errorCode === GROUP_ID_NOT_FOUND)) return;
      const reasons = groups.map((group) => messageOf(group.error ?? `error code ${String(group.errorCode)}`));
      this.warnings.warn('delete-group', 'cannot delete a consumer group used to read records back', () => ({
        groupId, error: reasons.length > 0 ? reasons.join('; ') : messageOf(error),
      }));
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    work.then(() => this.running.delete(work), () => this.running.delete(work));
    return work;
  }

  /** Connected on first use; close() waits for every operation before it disconnects it. */
  private sharedAdmin(): Promise<Admin> {
    if (this.admin === undefined) {
      const admin = this.kafka.admin();
      const connected = admin.connect().then(() => admin);
      this.admin = connected;
      // a failed connect is not kept: the next call tries again
      connected.catch(() => {
        if (this.admin === connected) this.admin = undefined;
      });
    }
    return this.admin;
  }

  /** Aborts with the caller's signal, close(), or the read timeout. */
  private deadline(signal?: AbortSignal, timeout: AbortSignal = AbortSignal.timeout(this.readTimeout)): AbortSignal {
    return AbortSignal.any(signal === undefined ? [timeout, this.closing.signal] : [signal, timeout, this.closing.signal]);
  }

  /**
   * `work`, unless `stop` aborts first: then its reason, or a timeout error that says what to check. Work
   * left behind goes on (kafkajs cannot cancel a request); close() waits for it.
   */
  private withinTime<T>(work: Promise<T>, stop: AbortSignal): Promise<T> {
    this.track(work);
    return new Promise<T>((resolve, reject) => {
      const onStop = (): void => {
        const reason: unknown = stop.reason;
        reject(reason instanceof DOMException && reason.name === 'TimeoutError'
          ? new Error(`Kafka connector "${this.connectorId}": the cluster did not answer within ${this.readTimeout} ms`)
          : reason);
      };
      if (stop.aborted) {
        work.catch(() => undefined);
        return onStop();
      }
      stop.addEventListener('abort', onStop, { once: true });
      work.then(resolve, reject).finally(() => stop.removeEventListener('abort', onStop));
    });
  }
}

/**
 * A kafkajs consumer in a consumer group of its own, that never commits. kafkajs's disconnect() does not stop
 * a connect or a group join in progress: the join fails on the closed connection, and kafkajs restarts the
 * consumer, which then joins after all and keeps running. So close() first lets them end (bounded).
 */
class ThrowawayConsumer {
  readonly consumer: Consumer;
  /** Whether run() was called: the group may exist on the cluster from then on. */
  joined = false;
  private readonly steps: Array<Promise<unknown>> = [];

  constructor(kafka: Kafka, readonly groupId: string) {
    this.consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: MAX_WAIT_MS,
      sessionTimeout: SESSION_TIMEOUT_MS,
      rebalanceTimeout: SESSION_TIMEOUT_MS,
    });
  }

  connect(): Promise<void> {
    return this.step(this.consumer.connect());
  }

  /** Subscribes to `topic` and joins the group; resolves once joined (positions are set on GROUP_JOIN). */
  run(topic: string, eachBatch: EachBatchHandler): Promise<void> {
    this.joined = true;
    return this.step(this.consumer.subscribe({ topic, fromBeginning: false })
      .then(() => this.consumer.run({ autoCommit: false, eachBatch })));
  }

  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SESSION_TIMEOUT_MS);
    });
    await Promise.race([Promise.allSettled(this.steps), bound]);
    clearTimeout(timer);
    await this.consumer.disconnect();
  }

  private step<T>(work: Promise<T>): Promise<T> {
    this.steps.push(work);
    return work;
  }
}

/**
 * The `limit` newest records offered, by timestamp (then partition and offset, for a stable order): a
 * min-heap whose root is the oldest kept, so memory stays at `limit` records however many are read.
 */
class NewestRecords {
  private readonly heap: Array<{ readonly time: number; readonly partition: number; readonly offset: bigint; readonly record: BrowsedRecord }> = [];

  constructor(private readonly limit: number) {}

  offer(partition: number, message: KafkaMessage): void {
    const time = Number(message.timestamp);
    const offset = BigInt(message.offset);
    const full = this.heap.length === this.limit;
    if (full && compare({ time, partition, offset }, this.heap[0]!) <= 0) return;
    const entry = { time, partition, offset, record: toBrowsedRecord(partition, message) };
    if (full) {
      this.heap[0] = entry;
      this.down(0);
    } else {
      this.heap.push(entry);
      this.up(this.heap.length - 1);
    }
  }

  oldestFirst(): BrowsedRecord[] {
    return [...this.heap].sort(compare).map((entry) => entry.record);
  }

  private up(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (compare(heap[index]!, heap[parent]!) >= 0) return;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private down(index: number): void {
    const heap = this.heap;
    for (;;) {
      let smallest = index;
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (child < heap.length && compare(heap[child]!, heap[smallest]!) < 0) smallest = child;
      }
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  }
}

function compare(a: { time: number; partition: number; offset: bigint }, b: { time: number; partition: number; offset: bigint }): number {
  if (a.time !== b.time) return a.time - b.time;
  if (a.partition !== b.partition) return a.partition - b.partition;
  return a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;
}

/**
 * Bytes of a key or a value, and of all the headers of a record together, that a BrowsedRecord keeps: what
 * the console shows of one (64 KiB). A latest() read holds up to 500 records for up to its timeout; kept
 * whole, 1 MB records would make that 500 MB per read.
 */
export const MAX_BROWSED_BYTES = 64 * 1024;

/**
 * The record as BrowsedRecord, with bytes of its own: kafkajs hands out slices of a whole fetch response
 * (up to 10 MB), which a record kept by latest() or queued for a slow follower would otherwise pin. Only the
 * first MAX_BROWSED_BYTES of the key and of the value are copied, and as much to the headers together; the
 * lengths of what was cut are in `originalSizes`. A header name that repeats keeps its last value (as Java's
 * lastHeader()): BrowsedRecord has one value per name. Names are data, so the maps have no prototype.
 */
export function toBrowsedRecord(partition: number, message: KafkaMessage): BrowsedRecord {
  let cut: { key?: number; value?: number; headers?: Record<string, number> } | undefined;
  const bytes = (value: Buffer | string | null | undefined, room: number, noteCut: (length: number) => void): Buffer => {
    if (value === null || value === undefined) return Buffer.alloc(0);
    const whole = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (whole.length <= room) return Buffer.from(whole);
    noteCut(whole.length);
    return Buffer.from(whole.subarray(0, room));
  };
  const headers: Record<string, Buffer> = Object.create(null) as Record<string, Buffer>;
  const raw: IHeaders = message.headers ?? {};
  let headerRoom = MAX_BROWSED_BYTES;
  for (const name of Object.keys(raw)) {
    const value = raw[name];
    const kept = bytes(Array.isArray(value) ? value[value.length - 1] : value, headerRoom, (length) => {
      cut ??= {};
      cut.headers ??= Object.create(null) as Record<string, number>;
      cut.headers[name] = length;
    });
    headers[name] = kept;
    headerRoom -= kept.length;
  }
  const key = message.key === null ? null : bytes(message.key, MAX_BROWSED_BYTES, (length) => { (cut ??= {}).key = length; });
  const value = message.value === null ? null : bytes(message.value, MAX_BROWSED_BYTES, (length) => { (cut ??= {}).value = length; });
  return {
    partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key,
    value,
    headers,
    ...(cut === undefined ? {} : { originalSizes: cut }),
  };
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import type { CompressionTypes, Message as KafkaMessage, ProducerBatch, RecordMetadata, TopicMessages } from 'kafkajs';
import { DROPPED, type SendResult, ActionWriteError, type ActionRef } from '@sluice/core';
import { classifyKafkaError, toActionWriteError } from './kafka-errors';
import type { MissingTopics } from './missing-topics';
import type { SendGate } from './send-gate';
import { recordProblem, type RenderedRecord, unencodableRecord } from './record-renderer';
import { LatencyHistogram } from './latency-histogram';

/** The part of a kafkajs Producer the connector uses: the seam a second driver (or a test fake) implements. */
export interface ProducerClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}

export type OverflowPolicy = 'backpressure' | 'drop_oldest' | 'drop_newest';

export interface BatcherOptions {
  readonly acks: -1 | 0 | 1;
  readonly compression: CompressionTypes;
  /** How long the broker may take to gather the acks (the produce request's timeout). */
  readonly timeout: number;
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
  readonly maxLingerTime: number;
  readonly maxInflight: number;
  /** Bytes of records accepted and not yet acknowledged (waiting, in flight, or waiting for a retry). */
  readonly bufferLimit: number;
  readonly overflow: OverflowPolicy;
  /** A record waiting longer than this (ms since accepted) is dropped instead of sent; Infinity: never. */
  readonly maxBatchAge: number;
  /** Times a record is sent again after a retriable failure before it fails (retriable); Infinity: never gives up. */
  readonly maxRetries: number;
  readonly retryBackoff: { readonly initial: number; readonly max: number };
  /** Shared by the connector's actions: topics Kafka just reported unknown fail at once. */
  readonly missingTopics?: MissingTopics;
  /** When set, every produce request of the connector passes through it, one at a time. */
  readonly gate?: SendGate;
  /** Told the outcome of every produce request (undefined on success), for the connector's status. */
  readonly onResult?: (error: ActionWriteError | undefined) => void;
  /**
   * `sync` query mode: a produce request Kafka has not answered within this many ms fails its records
   * (retriable, so they are retried or left to the MQTT broker); a reply that comes later is counted
   * `late_reply`. Undefined (`async`): wait for the reply as long as kafkajs does (requestTimeout, retries).
   */
  readonly replyTimeout?: number;
  /** Called when records leave the buffer (acknowledged, failed or dropped), so room may have freed. */
  readonly onRoom?: () => void;
  /** Called when a retriable failure makes the batcher back off (Kafka is away or unwell). */
  readonly onBackOff?: () => void;
  /** Milliseconds clock; tests pass their own. */
  readonly now?: () => number;
}

/** A produce request that outlived the `sync` query mode's reply timeout. */
export class ReplyTimeoutError extends Error {
  override readonly name = 'ReplyTimeoutError';

  constructor(timeoutMs: number) {
    super(`no reply from Kafka within syncQueryTimeout (${timeoutMs} ms); the records are retried as maxRetries allows: raise syncQueryTimeout if the cluster is slow but healthy`);
  }
}

interface Entry {
  readonly record: RenderedRecord;
  /** Settles the record's send; replaced when handOver() gives the record to a disk log. */
  resolve: (result?: SendResult) => void;
  reject: (error: Error) => void;
  /** Order of acceptance: a retried batch goes back among the waiting records in this order. */
  seq: number;
  acceptedAt: number;
  /** Retries so far. */
  attempts: number;
  /** Also kept on disk (read back from a log, or handed over): handOver() leaves it alone. */
  onDisk: boolean;
  /**
   * Acknowledged, failed or dropped: handOver() leaves it alone. A request being split (isolate) stays in
   * flight while its first records are already settled; writing those to a log would leave them there.
   */
  settled: boolean;
}

/** A send not yet in the buffer. */
interface Held {
  readonly record: RenderedRecord;
  readonly resolve: (result?: SendResult) => void;
  readonly reject: (error: Error) => void;
  readonly onAccepted?: (() => void) | undefined;
  readonly onDisk?: boolean;
}

/** What a disk log makes of a record handed over to it: when it is written, and where Kafka's outcome goes. */
export interface HandedOver {
  readonly written: Promise<void>;
  readonly settled: (outcome: SendResult | Error) => void;
}

/** Counters of the action at EMQX's names, plus the produce latency. */
export interface BatcherCounters {
  /** Records sent again after a retriable failure (one per record per retry). */
  retried: number;
  /** Records acknowledged after at least one retry. */
  retriedSuccess: number;
  /** Records that failed after at least one retry (retries exhausted, or a final error on a retry). */
  retriedFailed: number;
  /** Records whose request's reply came after the `sync` reply timeout had failed them (EMQX's late_reply). */
  lateReply: number;
}

/**
 * kafkajs has no linger or batch size: the caller batches. Records wait here until the next turn of the
 * event loop (or maxLingerTime), then go out together in one sendBatch of at most maxBatchBytes, with
 * at most maxInflight requests awaiting their acks. While every slot is busy, records accumulate, so
 * batches grow with the load instead of the request count.
 *
 * The buffer is bounded by bufferLimit bytes. When it is full, `backpressure` keeps new sends waiting
 * (their promises pending, so the source holds the acknowledgement and the MQTT broker keeps the data);
 * `drop_oldest` / `drop_newest` drop a record instead and resolve its send with `DROPPED.queue_full` (a record
 * older than maxBatchAge: `DROPPED.expired`), so the runtime counts it and its fallbacks get it. A retriable failure puts the
 * batch back in order and pauses sending for a back-off; the records stay buffered.
 */
export class RecordBatcher {
  private pending: Entry[] = [];
  private pendingBytes = 0;
  /** Bytes of every accepted record not yet settled: pending, in flight or back for a retry. */
  private bufferedBytes = 0;
  /** Sends held back by a full buffer (backpressure), oldest first. */
  private waiting: Held[] = [];
  /** Requests awaiting their reply, for handOver(). */
  private readonly inflightBatches = new Set<Entry[]>();
  private inflightRequests = 0;
  /** `sync` requests past their deadline whose reply has not come yet: they still hold an in-flight slot. */
  private lateRequests = 0;
  private inflightRecords = 0;
  private nextSeq = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly flushNow = (): void => this.flush();
  private readonly now: () => number;
  readonly counters: BatcherCounters = { retried: 0, retriedSuccess: 0, retriedFailed: 0, lateReply: 0 };
  readonly latency = new LatencyHistogram();

  constructor(
    /** The connector and action this batcher sends for, named in its errors. */
    readonly where: ActionRef,
    private readonly producer: ProducerClient,
    private readonly options: BatcherOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Resolves when the batch holding the record is acknowledged as `acks` requires, or the record is dropped.
   * `onAccepted` is called when the record enters the buffer (at once, or once back-pressure lets it in).
   * `onDisk`: the record was read back from a disk log (it is checked before it is sent, see below).
   */
  add(record: RenderedRecord, onAccepted?: () => void, onDisk = false): Promise<SendResult> {
    if (this.closed) {
      return Promise.reject(new ActionWriteError(this.where, 'the Kafka action is closed', { retriable: true }));
    }
    // A record read back from a disk log (written by an earlier run, or damaged) is checked before it joins
    // a request: kafkajs encodes a request whole, and one value it cannot write would fail every record in
    // it, other devices' too. Records the renderer built are text or bytes by construction and are not
    // checked again (the check costs as much as half a render with a few headers); should one slip through
    // anyway, the request is split (isolate) and it fails alone.
    if (onDisk) {
      const problem = recordProblem(record.message);
      if (problem !== undefined) return Promise.reject(unencodableRecord(this.where, record.topic, problem));
    }
    if (this.options.missingTopics?.has(record.topic) === true) {
      return Promise.reject(new ActionWriteError(this.where,
        `kafka topic "${record.topic}" does not exist (Kafka said so moments ago; not asked again yet): create it, or set allowAutoTopicCreation on the connector`,
        { retriable: false }));
    }
    if (!this.fits(record.bytes) || this.waiting.length > 0) {
      if (this.options.overflow === 'drop_newest') return this.dropNew();
      if (this.options.overflow === 'drop_oldest') {
        this.dropOldestFor(record.bytes);
        if (!this.fits(record.bytes)) return this.dropNew();
      } else {
        return new Promise<SendResult>((resolve, reject) => this.waiting.push({ record, resolve, reject, onAccepted, onDisk }));
      }
    }
    return new Promise<SendResult>((resolve, reject) => {
      this.accept({ record, resolve, reject, onAccepted, onDisk });
      if (this.pendingBytes >= this.options.maxBatchBytes || this.pending.length >= this.options.maxBatchRecords) this.flush();
      else this.schedule();
    });
  }

  /**
   * Gives every record whose send still waits for Kafka (waiting to be sent, in flight, or back for a retry)
   * to `persist`, which writes it to a disk log: its send then resolves once written instead of once Kafka
   * has it, and Kafka's outcome goes to the `settled` that `persist` returned. The record is still sent from
   * here. A hybrid buffer calls this when it starts to spill, so that the records held in memory do not hold
   * back the MQTT acknowledgements behind them (those go out in arrival order).
   */
  handOver(persist: (record: RenderedRecord) => HandedOver): void {
    const hand = (entry: Entry): void => {
      if (entry.onDisk || entry.settled) return;
      entry.onDisk = true;
      const { written, settled } = persist(entry.record);
      const { resolve, reject } = entry;
      written.then(() => resolve(), reject);
      entry.resolve = (result) => settled(result);
      entry.reject = (error) => settled(error);
    };
    for (const entry of this.pending) hand(entry);
    for (const batch of this.inflightBatches) for (const entry of batch) hand(entry);
  }

  /** Since a retriable failure and until the next request Kafka acknowledges. */
  failing(): boolean {
    return this.consecutiveFailures > 0;
  }

  /** Whether a record of this size would be accepted at once (nothing held back, and it fits). */
  hasRoomFor(bytes: number): boolean {
    return !this.closed && this.waiting.length === 0 && this.fits(bytes);
  }

  /** Records accepted and not yet acknowledged (waiting, in flight, or held back by a full buffer). */
  queued(): number {
    return this.pending.length + this.inflightRecords + this.waiting.length;
  }

  /** Estimated bytes of the records in the buffer (waiting, in flight or back for a retry); `queuing_bytes`. */
  queuedBytes(): number {
    return this.bufferedBytes;
  }

  /** Records in produce requests awaiting their acknowledgement. */
  inflight(): number {
    return this.inflightRecords;
  }

  /**
   * Sends what waits and resolves once nothing is waiting or in flight; refuses records from then on.
   * Sends held back by a full buffer, and records waiting for a retry, are rejected as retriable (the
   * MQTT broker keeps those messages) rather than holding the close for as long as Kafka is away.
   */
  async close(): Promise<void> {
    this.closed = true;
    const closing = new ActionWriteError(this.where, 'the Kafka action closed before the record was sent', { retriable: true });
    const held = this.waiting;
    this.waiting = [];
    for (const entry of held) entry.reject(closing);
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      const abandoned = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      for (const entry of abandoned) {
        this.bufferedBytes -= entry.record.bytes;
        entry.reject(closing);
      }
    }
    this.flush();
    if (this.pending.length === 0 && this.inflightRequests === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private fits(bytes: number): boolean {
    // a record larger than the whole limit still goes when the buffer is empty, or it could never go
    return this.bufferedBytes === 0 || this.bufferedBytes + bytes <= this.options.bufferLimit;
  }

  private accept(held: Held): void {
    const entry: Entry = {
      record: held.record, resolve: held.resolve, reject: held.reject, seq: this.nextSeq++, acceptedAt: this.now(), attempts: 0, onDisk: held.onDisk === true,
      settled: false,
    };
    this.pending.push(entry);
    this.pendingBytes += entry.record.bytes;
    this.bufferedBytes += entry.record.bytes;
    held.onAccepted?.();
  }

  private dropNew(): Promise<SendResult> {
    return Promise.resolve(DROPPED.queue_full);
  }

  /** Drops waiting records, oldest first, until `bytes` fit; records in flight cannot be taken back. */
  private dropOldestFor(bytes: number): void {
    let count = 0;
    let left = this.bufferedBytes;
    while (count < this.pending.length && left !== 0 && left + bytes > this.options.bufferLimit) {
      left -= (this.pending[count] as Entry).record.bytes;
      count += 1;
    }
    if (count > 0) this.dropHead(count, 'queue_full');
  }

  private dropHead(count: number, reason: 'queue_full' | 'expired'): void {
    const dropped = this.pending.slice(0, count);
    this.pending = this.pending.slice(count);
    for (const entry of dropped) {
      this.pendingBytes -= entry.record.bytes;
      this.bufferedBytes -= entry.record.bytes;
      entry.settled = true;
      entry.resolve(DROPPED[reason]);
    }
    this.options.onRoom?.();
  }

  /** Drops records older than maxBatchAge from the head (the oldest: pending is in acceptance order). */
  private expire(): void {
    if (this.options.maxBatchAge === Number.POSITIVE_INFINITY || this.pending.length === 0) return;
    const oldest = this.now() - this.options.maxBatchAge;
    let count = 0;
    while (count < this.pending.length && (this.pending[count] as Entry).acceptedAt < oldest) count += 1;
    if (count > 0) this.dropHead(count, 'expired');
  }

  /** Lets sends held back by a full buffer in, oldest first, while they fit. */
  private admit(): void {
    if (this.closed) return;
    let admitted = false;
    while (this.waiting.length > 0 && this.fits((this.waiting[0] as Entry).record.bytes)) {
      this.accept(this.waiting.shift() as Held);
      admitted = true;
    }
    if (admitted) this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.retryTimer !== undefined || this.inflightRequests + this.lateRequests >= this.options.maxInflight) return;
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
    if (this.retryTimer !== undefined) return; // backing off: the retry timer flushes
    this.expire();
    while (this.pending.length > 0 && this.inflightRequests + this.lateRequests < this.options.maxInflight) {
      this.send(this.takeBatch());
    }
    this.admit();
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
    this.inflightBatches.add(batch);
    void this.produce(batch).finally(() => {
      this.inflightBatches.delete(batch);
      this.inflightRequests -= 1;
      this.inflightRecords -= batch.length;
      if (this.pending.length > 0 || this.waiting.length > 0) this.flush();
      else this.notifyIdle();
      this.options.onRoom?.();
    });
  }

  /**
   * Never rejects: settles, drops or requeues every entry of the batch. Resolves to the retriable failure
   * that put records back for a retry, if there was one.
   */
  private async produce(batch: Entry[]): Promise<ActionWriteError | undefined> {
    const groups = groupByTopic(batch);
    try {
      await this.sendBatch(groups);
      this.succeeded(batch);
      return undefined;
    } catch (error) {
      const { retriable, reason } = classifyKafkaError(error);
      if (!retriable && batch.length > 1 && RECORD_LEVEL.has(reason)) return this.isolate(batch);
      if (groups.size > 1 && !retriable) {
        // One bad topic (unknown, not authorized) must not fail the records of the others: retry per topic,
        // each as a request of its own (split in turn if one of its records is refused). One after the
        // other: concurrent sends would race kafkajs's metadata refresh for the bad topic. A retriable
        // failure is passed up, so a request being split holds back its later records behind those retried.
        let retry: ActionWriteError | undefined;
        for (const group of groups.values()) retry = (await this.produce(group.entries)) ?? retry;
        return retry;
      }
      if (groups.size === 1) this.rememberIfMissing([...groups.keys()][0] as string, error);
      const failure = toActionWriteError(this.where, [...groups.keys()], error);
      this.failed(batch, failure);
      return failure.retriable ? failure : undefined;
    }
  }

  /**
   * A request failed for something one of its records may have alone (too large, refused by the broker,
   * not encodable): its two halves go again, one after the other (order kept), each halved again while it
   * fails so, until the records at fault fail by themselves and the others are delivered. n records with
   * one culprit take about 2·log2(n) requests. A record may reach Kafka twice when a request that failed
   * had been partly written (at-least-once, as with any retry).
   */
  private async isolate(entries: Entry[]): Promise<ActionWriteError | undefined> {
    const middle = entries.length >>> 1;
    const second = entries.slice(middle);
    const failure = await this.produce(entries.slice(0, middle));
    if (failure === undefined) return this.produce(second);
    // Kafka went away meanwhile: the second half waits for the retry too, behind the first (order kept)
    this.failed(second, failure, false);
    return failure;
  }

  private succeeded(entries: readonly Entry[]): void {
    this.consecutiveFailures = 0;
    this.options.onResult?.(undefined);
    for (const entry of entries) {
      if (entry.attempts > 0) this.counters.retriedSuccess += 1;
      this.bufferedBytes -= entry.record.bytes;
      entry.settled = true;
      entry.resolve();
    }
  }

  /**
   * A retriable failure puts the records back (in order) for a retry after a back-off, while retries remain.
   * `counted` false: the failure was already reported and backed off for (records held back with a failed request).
   */
  private failed(entries: readonly Entry[], failure: ActionWriteError, counted = true): void {
    if (counted) this.options.onResult?.(failure);
    const again: Entry[] = [];
    for (const entry of entries) {
      if (failure.retriable && !this.closed && entry.attempts < this.options.maxRetries) {
        entry.attempts += 1;
        this.counters.retried += 1;
        again.push(entry);
        continue;
      }
      if (entry.attempts > 0) this.counters.retriedFailed += 1;
      this.bufferedBytes -= entry.record.bytes;
      entry.settled = true;
      entry.reject(failure);
    }
    if (again.length === 0) return;
    this.requeue(again);
    if (counted) this.backOff();
  }

  /** Merges retried entries back into the waiting ones by acceptance order, so a retry keeps the order. */
  private requeue(again: Entry[]): void {
    let bytes = 0;
    for (const entry of again) bytes += entry.record.bytes;
    this.pendingBytes += bytes;
    if (this.pending.length === 0 || (again[again.length - 1] as Entry).seq < (this.pending[0] as Entry).seq) {
      this.pending = again.concat(this.pending);
      return;
    }
    const merged: Entry[] = [];
    let i = 0;
    let j = 0;
    while (i < again.length || j < this.pending.length) {
      const a = again[i];
      const p = this.pending[j];
      if (p === undefined || (a !== undefined && a.seq < p.seq)) {
        merged.push(a as Entry);
        i += 1;
      } else {
        merged.push(p);
        j += 1;
      }
    }
    this.pending = merged;
  }

  private backOff(): void {
    this.consecutiveFailures += 1;
    this.options.onBackOff?.();
    if (this.retryTimer !== undefined) return;
    if (this.timer !== undefined) {
      if (this.options.maxLingerTime === 0) clearImmediate(this.timer as NodeJS.Immediate);
      else clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = undefined;
    }
    const { initial, max } = this.options.retryBackoff;
    const delay = Math.min(max, initial * 2 ** Math.min(this.consecutiveFailures - 1, 30));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, delay);
  }

  private rememberIfMissing(topic: string, error: unknown): void {
    if (this.options.missingTopics !== undefined && classifyKafkaError(error).reason === 'UNKNOWN_TOPIC_OR_PARTITION') {
      this.options.missingTopics.mark(topic);
    }
  }

  private sendBatch(groups: ReadonlyMap<string, TopicGroup>): Promise<RecordMetadata[]> {
    const batch = this.request(groups);
    const gate = this.options.gate;
    let left = (): void => undefined;
    const leaving = new Promise<void>((resolve) => (left = resolve));
    // timed (and given its `sync` deadline) from the request leaving, not from entering the gate: a request
    // queued behind others must not time out before it was even sent
    const timed = async (): Promise<RecordMetadata[]> => {
      left();
      const started = this.now();
      const metadata = await this.producer.sendBatch(batch);
      this.latency.record(this.now() - started);
      return metadata;
    };
    const reply = gate === undefined ? timed() : gate.run(timed);
    return this.options.replyTimeout === undefined ? reply : this.withDeadline(reply, leaving, batch, this.options.replyTimeout);
  }

  /**
   * The reply, or a ReplyTimeoutError once `timeoutMs` passed after the request left. A request that timed
   * out keeps its in-flight slot until its reply does come (counted late_reply then): kafkajs still has it
   * open, and sending more would break maxInflight, and with it the order per partition when it is 1.
   */
  private withDeadline(reply: Promise<RecordMetadata[]>, leaving: Promise<void>, batch: ProducerBatch, timeoutMs: number): Promise<RecordMetadata[]> {
    return new Promise((resolve, reject) => {
      let late = false;
      let timer: NodeJS.Timeout | undefined;
      void leaving.then(() => {
        timer = setTimeout(() => {
          late = true;
          this.lateRequests += 1;
          reject(new ReplyTimeoutError(timeoutMs));
        }, timeoutMs);
      });
      const settle = (outcome: () => void): void => {
        if (late) {
          this.lateRequests -= 1;
          this.counters.lateReply += recordCount(batch);
          if (this.pending.length > 0 || this.waiting.length > 0) this.flush();
          return;
        }
        clearTimeout(timer);
        outcome();
      };
      reply.then((metadata) => settle(() => resolve(metadata)), (error: unknown) => settle(() => reject(error)));
    });
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

/**
 * Failures that may come from one record of a request rather than from the connection or the topic: the
 * request is split to find the record(s) at fault. Encoding errors (TypeError, RangeError) should not
 * happen since add() checks each record, but if kafkajs ever throws one it is one record's fault too.
 */
const RECORD_LEVEL: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP', 'TypeError', 'RangeError',
]);

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

function recordCount(batch: ProducerBatch): number {
  let count = 0;
  for (const group of batch.topicMessages ?? []) count += group.messages.length;
  return count;
}

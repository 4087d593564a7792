import type { CompressionTypes } from 'kafkajs';
import { type SendResult, ActionWriteError, type ActionRef, quoteExcerpt } from '@sluice/core';
import { classifyKafkaError, toActionWriteError } from '../kafka-errors';
import type { SendGate } from '../send-gate';
import { partitionById } from '../partitioning';
import { recordProblem, type RenderedRecord, unencodableRecord } from '../record-renderer';
import type { TopicDirectory } from '../topic-directory';
import { Admission, type OverflowPolicy } from './admission';
import { Entry, promiseOf } from './entry';
import type { PartitionCounters, PartitionQueue } from './partition-queue';
import { PartitionRouter, type TopicRoute } from './partition-router';
import { type ProducerClient, type RequestPart, RequestSender } from './request-sender';

export interface PipelineOptions {
  readonly acks: -1 | 0 | 1;
  readonly compression: CompressionTypes;
  /** How long the broker may take to gather the acks (the produce request's timeout). */
  readonly timeout: number;
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
  readonly maxLingerTime: number;
  /** A partition's batch goes once its waiting records reach this many bytes (capped by maxBatchBytes); default maxBatchBytes. */
  readonly maxLingerBytes?: number | undefined;
  /** Requests in flight across all the action's partitions (each partition has at most one). */
  readonly maxInflight: number;
  /** Heap estimate (RenderedRecord.held) of records accepted and not yet acknowledged (waiting, in flight, or waiting for a retry). */
  readonly bufferLimit: number;
  readonly overflow: OverflowPolicy;
  /** Heap estimate one partition may hold (its overflow policy then applies to its own records); default: bufferLimit. */
  readonly perPartitionLimit?: number | undefined;
  /** The cluster's topics and partitions: a record's partition is chosen from it when the record is admitted. */
  readonly directory: TopicDirectory;
  /** A record waiting longer than this (ms since accepted) is dropped instead of sent; Infinity: never. */
  readonly maxBatchAge: number;
  /** Times a record is sent again after a retriable failure before it fails (retriable); Infinity: never gives up. */
  readonly maxRetries: number;
  readonly retryBackoff: { readonly initial: number; readonly max: number };
  /** When set, every produce request of the connector passes through it, one at a time. */
  readonly gate?: SendGate | undefined;
  /** Told the outcome of every produce request (undefined on success), for the connector's status. */
  readonly onResult?: ((error: ActionWriteError | undefined) => void) | undefined;
  /**
   * `sync` query mode: a produce request Kafka has not answered within this many ms fails its records
   * (retriable, so they are retried or left to the MQTT broker); a reply that comes later is counted
   * `late_reply`. Undefined (`async`): wait for the reply as long as kafkajs does (requestTimeout, retries).
   */
  readonly replyTimeout?: number | undefined;
  /** Called when records leave the buffer (acknowledged, failed or dropped), so room may have freed. */
  readonly onRoom?: (() => void) | undefined;
  /**
   * Called when a topic's records cannot go for now (see blocked()): a retriable failure made one of its
   * partitions back off (Kafka is away or unwell), or Kafka says it has no such topic (missing, deleted).
   */
  readonly onBlocked?: ((topic: string) => void) | undefined;
  /** Called when a topic that may have been blocked can go again: the directory learned it, or its last failing partition recovered. */
  readonly onUnblocked?: ((topic: string) => void) | undefined;
  /** Milliseconds clock; tests pass their own. */
  readonly now?: (() => number) | undefined;
}

/** What a disk log makes of a record handed over to it: when it is written, and where Kafka's outcome goes. */
export interface HandedOver {
  readonly written: Promise<void>;
  readonly settled: (outcome: SendResult | Error) => void;
}

/** Counters of the action at EMQX's names. */
export interface PipelineCounters {
  /** Records sent again after a retriable failure (one per record per retry). */
  retried: number;
  /** Records acknowledged after at least one retry. */
  retriedSuccess: number;
  /** Records that failed after at least one retry (retries exhausted, or a final error on a retry). */
  retriedFailed: number;
  /** Records whose request's reply came after the `sync` reply timeout had failed them (EMQX's late_reply). */
  lateReply: number;
}

/** One partition as `partitions()` reports it. */
export interface PartitionSnapshot {
  readonly topic: string;
  readonly partition: number;
  readonly queued: number;
  readonly queuedBytes: number;
  readonly inflight: number;
  /** Backing off after a retriable failure, or retrying. */
  readonly failing: boolean;
  readonly counters: Readonly<PartitionCounters>;
}

/**
 * Failures that may come from one record of a request rather than from the connection or the topic: the
 * request is split to find the record(s) at fault. Encoding errors (TypeError, RangeError) should not
 * happen since add() checks records read back from disk, but if kafkajs ever throws one it is one record's fault too.
 */
/** How often a closing pipeline looks again at records waiting for their topic's metadata. */
const CLOSE_CHECK_MS = 100;
/** Checks before a closing pipeline gives up on a topic whose metadata never came (5 s). */
const CLOSE_CHECKS = 50;

/** Ready partitions looked at for companions of a request (bounds the scan when thousands of partitions are ready). */
const COMPANION_SCAN = 256;

const RECORD_LEVEL: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP', 'TypeError', 'RangeError',
]);

/** The leader broker of the queue's partition as last read from the directory; undefined if unknown or leaderless. */
function leaderOf(queue: PartitionQueue): number | undefined {
  const metadata = queue.route.metadata;
  const leader = metadata === undefined ? undefined : partitionById(metadata, queue.partition)?.leader;
  return leader !== undefined && leader >= 0 ? leader : undefined;
}

/**
 * The Kafka action's producer pipeline. A record's partition is chosen when it is admitted (PartitionRouter);
 * it waits in its partition's queue (PartitionQueue), and each partition has at most one produce request in
 * flight (order per partition at any maxInflight, and across retries), with maxInflight requests in flight
 * for the whole action. A partition's batch goes when its waiting bytes reach maxLingerBytes or its count
 * maxBatchRecords, or when the linger time (one timer for the pipeline) passes. A retriable failure backs off
 * that partition only; records of a topic whose partitions are not known yet wait, in order, until the
 * directory learns it. The buffer's limit, overflow policy and maxBatchAge are the action's totals (Admission).
 */
export class RecordPipeline {
  private readonly router: PartitionRouter;
  private readonly admission: Admission;
  private readonly sender: RequestSender;
  private readonly now: () => number;
  private readonly lingerBytes: number;
  /** Whether the ready batches of one topic's partitions led by one broker share a produce request (see start()). */
  private readonly coalescing: boolean;
  /**
   * Partitions waiting for a request slot, in the order they became ready (fair across partitions); a hole
   * (undefined) is a partition that went early, as the companion of another's request.
   */
  private ready: Array<PartitionQueue | undefined> = [];
  private readyHead = 0;
  /** Partitions backing off after a retriable failure. */
  private readonly backingOff = new Set<PartitionQueue>();
  /** Partitions with failures > 0 (backing off, or retrying): `partitions.failing`. */
  private failingPartitions = 0;
  /** Topics with records waiting for their partitions: `topics.waiting`. */
  private topicsWaiting = 0;
  /** Records waiting in partition queues (not in flight, not waiting for their topic). */
  private pendingRecords = 0;
  /** produce() calls running: each holds one of maxInflight (late `sync` replies hold one more each). */
  private requests = 0;
  private inflightRecords = 0;
  private nextSeq = 0;
  private lingerTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** When the linger timer fires (maxLingerTime > 0 only). */
  private lingerDue = 0;
  /** sendLingering() came while records waited for their topic's partitions: they go once placed, without a linger. */
  private sendPlacedNow = false;
  /** One timer for back-offs ending and waiting records expiring. */
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly unsubscribe: () => void;
  /** While closing with records waiting for their topic's metadata. */
  private closeCheck: NodeJS.Timeout | undefined;
  private closeChecks = 0;
  private readonly flushNow = (): void => this.flush();
  private readonly wakeNow = (): void => this.wake();
  private readonly dropped = (entry: Entry): void => this.forget(entry);
  readonly counters: PipelineCounters = { retried: 0, retriedSuccess: 0, retriedFailed: 0, lateReply: 0 };

  constructor(
    /** The connector and action this pipeline sends for, named in its errors. */
    readonly where: ActionRef,
    producer: ProducerClient,
    private readonly options: PipelineOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.lingerBytes = Math.min(options.maxLingerBytes ?? options.maxBatchBytes, options.maxBatchBytes);
    // Not through the idempotent gate (a shared request's partitions would have to be retried together to keep
    // their sequence numbers) nor with `sync` reply deadlines (a late reply is tracked per partition).
    this.coalescing = options.gate === undefined && options.replyTimeout === undefined;
    this.router = new PartitionRouter(options.directory);
    this.admission = new Admission({
      bufferLimit: options.bufferLimit,
      perPartitionLimit: options.perPartitionLimit ?? Number.POSITIVE_INFINITY,
      overflow: options.overflow,
      maxBatchAge: options.maxBatchAge,
    }, this.router);
    this.sender = new RequestSender(producer, {
      acks: options.acks, compression: options.compression, timeout: options.timeout, gate: options.gate,
      replyTimeout: options.replyTimeout, now: this.now,
      onLateReply: (queue, records) => this.lateReplied(queue, records),
    });
    this.unsubscribe = options.directory.onChange((topic) => this.topicChanged(topic));
  }

  get latency(): RequestSender['latency'] {
    return this.sender.latency;
  }

  /**
   * Resolves when the batch holding the record is acknowledged as `acks` requires, or the record is dropped.
   * `onAccepted` is called when the record enters the buffer (at once, or once back-pressure lets it in).
   * `onDisk`: the record was read back from a disk log (it is checked before it is sent, see below).
   */
  add(record: RenderedRecord, onAccepted?: () => void, onDisk = false): Promise<SendResult> {
    return this.admit(record, onAccepted, onDisk, undefined);
  }

  /**
   * As add(), for a record a disk log keeps as well (a hybrid buffer's record of a blocked topic): `persist`
   * writes it at once, its send resolves once written, and Kafka's outcome goes to the `settled` it returned.
   */
  addPersisted(record: RenderedRecord, persist: (record: RenderedRecord) => HandedOver): Promise<SendResult> {
    return this.admit(record, undefined, false, persist);
  }

  private admit(record: RenderedRecord, onAccepted: (() => void) | undefined, onDisk: boolean, persist: ((record: RenderedRecord) => HandedOver) | undefined): Promise<SendResult> {
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
    const route = this.router.route(record.topic);
    if (route === undefined) {
      // Waiting is for a topic that may yet exist; this name never will (INVALID_TOPIC_EXCEPTION), and held it
      // would hold back its device's acknowledgements for ever
      return Promise.reject(new ActionWriteError(this.where,
        `kafka topic ${quoteExcerpt(record.topic)} is not a valid Kafka topic name (letters, digits, ".", "_", "-"; at most 249 characters): the record is not sent`,
        { retriable: false }));
    }
    const entry = new Entry(record, onAccepted, onDisk);
    const promise = promiseOf(entry);
    if (persist !== undefined) handOverEntry(entry, persist);
    entry.route = route;
    // Behind records still waiting for the topic, never ahead of them: the directory may know the partitions
    // already while its onChange (which gives the waiting records theirs, in order) has not come yet.
    entry.queue = route.unrouted.length > 0 ? undefined : this.router.place(route, record.message);
    if (this.admission.offer(entry, this.dropped)) this.accept(entry);
    return promise;
  }

  /**
   * Gives every record whose send still waits for Kafka (waiting to be sent, waiting for its topic, in flight,
   * or back for a retry) to `persist`, which writes it to a disk log: its send then resolves once written
   * instead of once Kafka has it, and Kafka's outcome goes to the `settled` that `persist` returned. The
   * record is still sent from here. A hybrid buffer calls this when it starts to spill, so that the records
   * held in memory do not hold back the MQTT acknowledgements behind them (those go out in arrival order),
   * and with `topic` when that topic is blocked (only its records are written then).
   */
  handOver(persist: (record: RenderedRecord) => HandedOver, topic?: string): void {
    // Only what is not on disk yet, in acceptance order as the log must hold them: a blocked topic is handed
    // over at each back-off of each of its partitions, and by then nearly all its records are written already
    // (sorting them all each time cost O(n log n) per retry during an outage with a full buffer).
    const pending: Entry[] = [];
    const collect = (entry: Entry): void => {
      if (!entry.onDisk && !entry.settled) pending.push(entry);
    };
    const visit = (route: TopicRoute): void => {
      route.unrouted.forEach(collect);
      for (const queue of route.partitions) {
        if (queue === undefined) continue;
        queue.inflight?.forEach(collect);
        queue.forEach(collect);
      }
    };
    if (topic === undefined) this.router.forEachRoute(visit);
    else {
      const route = this.router.find(topic);
      if (route !== undefined) visit(route);
    }
    pending.sort((a, b) => a.seq - b.seq);
    // a failed request's records are in its queue again and still in `inflight` until finished() runs: once each
    for (const entry of pending) if (!entry.onDisk) handOverEntry(entry, persist);
  }

  /**
   * Whether the topic's records cannot go now: one of its partitions is failing, or the directory has no
   * partitions for it and says why (missing, deleted, unauthorized, Kafka not answering). A record merely
   * waiting for its topic's first lookup is not blocked. A hybrid buffer writes a blocked topic's records to
   * disk as they come, so they do not hold back the MQTT acknowledgements of the other topics' messages.
   */
  blocked(topic: string): boolean {
    const route = this.router.route(topic);
    if (route === undefined) return false;
    if (route.failingPartitions > 0) return true;
    return route.metadata === undefined && !this.router.refresh(route) && this.options.directory.problem(topic) !== undefined;
  }

  /**
   * Whether a record of the topic would wait for the topic's partitions (its lookup not answered yet, or answered
   * without any) rather than join a partition's queue; asks the directory about the topic then. False for a name
   * that can never be a Kafka topic (add() refuses those).
   */
  awaitsPartitions(topic: string): boolean {
    const route = this.router.route(topic);
    return route !== undefined && route.metadata === undefined && !this.router.refresh(route);
  }

  /** Since a retriable failure of some partition and until Kafka acknowledges that partition's next request. */
  failing(): boolean {
    return this.failingPartitions > 0;
  }

  /** Whether a record holding `held` bytes (RenderedRecord.held) would be accepted at once (nothing held back, and it fits the buffer). */
  hasRoomFor(held: number): boolean {
    return !this.closed && this.admission.held.length === 0 && this.admission.fits(held, undefined);
  }

  /** Records accepted and not yet acknowledged (waiting, in flight, waiting for their topic, or held back by a full buffer). */
  queued(): number {
    return this.admission.bufferedRecords + this.admission.held.length;
  }

  /** Heap estimate (RenderedRecord.held) of the records in the buffer (waiting, in flight or back for a retry); `queuing_bytes`. */
  queuedBytes(): number {
    return this.admission.bufferedBytes;
  }

  /** Records in produce requests awaiting their acknowledgement. */
  inflight(): number {
    return this.inflightRecords;
  }

  /** Partitions backing off after a retriable failure, or retrying (`partitions.failing`). */
  failingPartitionCount(): number {
    return this.failingPartitions;
  }

  /** Topics whose records wait for the topic's partitions to be known (`topics.waiting`). */
  waitingTopicCount(): number {
    return this.topicsWaiting;
  }

  /** Topics the pipeline keeps queues for (idle ones are removed past a bound, see MIN_SWEEP_AT). */
  routeCount(): number {
    return this.router.size;
  }

  /** Every partition the pipeline keeps a queue for, as it stands now (for metrics and diagnostics; not per record). */
  partitions(): PartitionSnapshot[] {
    const snapshot: PartitionSnapshot[] = [];
    this.router.forEachQueue((queue) => snapshot.push({
      topic: queue.topic,
      partition: queue.partition,
      queued: queue.length + (queue.inflight?.length ?? 0),
      queuedBytes: queue.bufferedBytes,
      inflight: queue.inflight?.length ?? 0,
      failing: queue.failures > 0,
      counters: { ...queue.counters },
    }));
    return snapshot;
  }

  /**
   * Sends what waits and resolves once nothing is waiting or in flight; refuses records from then on.
   * Sends held back by a full buffer, records waiting for a retry and records of a topic the directory has a
   * problem with (missing, Kafka away) are rejected as retriable (the MQTT broker keeps those messages) rather
   * than holding the close for as long as Kafka or the topic is away. Records of a topic whose metadata is
   * merely being fetched wait for it (an action closed right after its first records must still send them).
   */
  async close(): Promise<void> {
    this.closed = true;
    const closing = this.closingError();
    for (const entry of this.admission.held.drain()) entry.reject(closing);
    for (const queue of this.backingOff) {
      this.endBackOff(queue);
      const abandoned = queue.drain();
      this.pendingRecords -= abandoned.length;
      for (const entry of abandoned) this.fail(entry, closing);
      this.settleFailing(queue);
    }
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    this.abandonUnrouted();
    this.flush();
    if (!this.idle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.unsubscribe();
  }

  private closingError(): ActionWriteError {
    return new ActionWriteError(this.where, 'the Kafka action closed before the record was sent', { retriable: true });
  }

  /**
   * While closing: rejects the records waiting for a topic the directory has a problem with, and checks again
   * shortly for those whose topic is still being fetched (the directory sets a problem when a fetch fails).
   */
  private abandonUnrouted(): void {
    this.closeCheck = undefined;
    this.closeChecks += 1;
    let waiting = false;
    this.router.forEachRoute((route) => {
      if (route.unrouted.length === 0) return;
      // bounded: a directory that never answers must not hold the close for ever
      if (this.options.directory.problem(route.topic) === undefined && this.closeChecks <= CLOSE_CHECKS) {
        waiting = true;
        return;
      }
      this.topicsWaiting -= 1;
      const closing = this.closingError();
      for (const entry of route.unrouted.drain()) this.fail(entry, closing);
    });
    if (waiting) this.closeCheck = setTimeout(() => this.abandonUnrouted(), CLOSE_CHECK_MS);
    else this.notifyIdle();
  }

  private abandonUntracked(route: TopicRoute): void {
    this.topicsWaiting -= 1;
    const error = this.untrackedError(route.topic);
    for (const entry of route.unrouted.drain()) this.fail(entry, error);
    this.options.onRoom?.();
    this.notifyIdle();
  }

  private untrackedError(topic: string): ActionWriteError {
    const why = this.options.directory.problem(topic) ?? `kafka topic ${quoteExcerpt(topic)} is not looked up`;
    return new ActionWriteError(this.where, `${why}: the record is not sent`, { retriable: false });
  }

  private accept(entry: Entry): void {
    entry.seq = this.nextSeq++;
    entry.acceptedAt = this.now();
    this.admission.count(entry);
    const queue = entry.queue;
    if (queue === undefined) {
      const route = entry.route as TopicRoute;
      const unrouted = route.unrouted;
      if (unrouted.length === 0 && !this.options.directory.tracks(route.topic)) {
        // the directory tracks as many topics as it may (a templated topic fed thousands of names): nothing
        // would ever tell this record its partitions, and waiting it would hold its acknowledgement for ever
        this.fail(entry, this.untrackedError(route.topic));
        return;
      }
      compactWaiting(entry);
      unrouted.push(entry);
      if (unrouted.length === 1) {
        this.topicsWaiting += 1;
        this.scheduleWake(this.admission.expiresAt(unrouted)); // Infinity (no timer) unless maxBatchAge is finite
      }
    } else {
      if (queue.failures > 0) compactWaiting(entry);
      queue.push(entry);
      this.pendingRecords += 1;
      this.joined(queue);
    }
    entry.onAccepted?.();
  }

  /** A record joined the partition's queue: send it now if the batch is full, else after the linger. */
  private joined(queue: PartitionQueue): void {
    if (!queue.sendable) return;
    if (!queue.ready) this.markReady(queue);
    if ((queue.bytes >= this.lingerBytes || queue.length >= this.options.maxBatchRecords) && this.slotFree()) {
      this.start(queue);
      return;
    }
    this.scheduleLinger();
  }

  /**
   * Sends what lingers now rather than when maxLingerTime ends: a source's window is full (the runtime's
   * stalled()), so no record will come to join the batches, and their acknowledgements are what it waits for.
   */
  sendLingering(): void {
    if (this.options.maxLingerTime === 0) return;
    if (this.topicsWaiting > 0) this.sendPlacedNow = true;
    if (this.lingerTimer !== undefined) this.flush();
  }

  private markReady(queue: PartitionQueue): void {
    queue.ready = true;
    this.ready.push(queue);
  }

  private slotFree(): boolean {
    return this.requests + this.sender.late < this.options.maxInflight;
  }

  private scheduleLinger(delay = this.options.maxLingerTime): void {
    if (!this.slotFree()) return;
    if (this.lingerTimer !== undefined) {
      // the timer set already stands unless this one is due first
      if (this.options.maxLingerTime === 0 || this.lingerDue <= this.now() + delay) return;
      this.cancelLinger();
    }
    if (this.options.maxLingerTime === 0) {
      this.lingerTimer = setImmediate(this.flushNow);
      return;
    }
    this.lingerDue = this.now() + delay;
    this.lingerTimer = setTimeout(this.flushNow, delay);
  }

  private cancelLinger(): void {
    if (this.lingerTimer === undefined) return;
    // each clear function only for its own kind: clearImmediate on a Timeout corrupts Node's immediate queue
    if (this.options.maxLingerTime === 0) clearImmediate(this.lingerTimer as NodeJS.Immediate);
    else clearTimeout(this.lingerTimer as NodeJS.Timeout);
    this.lingerTimer = undefined;
  }

  /** Sends a batch of every ready partition while request slots are free; lets held sends in. */
  private flush(): void {
    this.cancelLinger();
    while (this.readyHead < this.ready.length && this.slotFree()) {
      const queue = this.ready[this.readyHead];
      this.ready[this.readyHead] = undefined;
      this.readyHead += 1;
      if (queue === undefined) continue; // went as a companion
      queue.ready = false;
      if (queue.sendable) this.start(queue);
    }
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    } else if (this.readyHead >= 1024 && this.readyHead * 2 >= this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    this.admitHeld();
    this.notifyIdle();
  }

  /**
   * Sends the partition's next batch (its only request in flight), with the batches of the topic's other ready
   * partitions that the same broker leads, while they fit maxBatchBytes: one request per topic and broker rather
   * than per partition. Per-request costs (the socket write, kafkajs's request, the broker's handling) were about
   * a tenth of the CPU of each member of a two-member shared-subscription group, whose batches are small. Not across topics:
   * kafkajs fails a request as a whole, and a topic deleted or refused would then have its records' failure
   * resend (and duplicate) the records of healthy topics beside them (see produceTogether()).
   */
  private start(queue: PartitionQueue): void {
    const alone = queue.alone;
    queue.alone = false;
    const before = queue.bytes;
    const entries = this.take(queue);
    if (entries === undefined) return;
    this.requests += 1;
    const parts: RequestPart[] = [{ queue, entries }];
    if (this.coalescing && !alone && queue.failures === 0) this.addCompanions(parts, queue, before - queue.bytes);
    if (parts.length === 1) void this.produce(queue, entries).then(() => this.finished(parts));
    else void this.produceTogether(parts).then(() => this.finished(parts));
  }

  /** Takes the partition's next batch and marks it in flight; undefined when nothing is left (all expired). */
  private take(queue: PartitionQueue): Entry[] | undefined {
    if (this.admission.expire(queue, this.now(), this.dropped) > 0) this.options.onRoom?.();
    if (queue.length === 0) {
      this.settleFailing(queue);
      return undefined;
    }
    // One Map lookup per request, not per record: the directory sees the topic in use (it forgets topics nobody
    // asked about for 10 minutes, and records would then wait a metadata round trip), and a partition count that
    // grew is used from the next record on
    const route = (queue.peek() as Entry).route as TopicRoute;
    const partitions = this.options.directory.partitions(queue.topic);
    if (partitions !== undefined && partitions.length > 0) route.metadata = partitions;
    // A failed batch goes again exactly as it was: Kafka may have written it without answering, and the
    // idempotent producer's broker recognises only the same batch (same first sequence and length) as a
    // duplicate; a longer one starting at the same sequence is OUT_OF_ORDER_SEQUENCE_NUMBER for ever.
    const retry = queue.retrySize;
    queue.retrySize = 0;
    const entries = retry > 0
      ? queue.take(retry, Number.POSITIVE_INFINITY)
      : queue.take(this.options.maxBatchRecords, this.options.maxBatchBytes);
    this.pendingRecords -= entries.length;
    queue.inflight = entries;
    this.inflightRecords += entries.length;
    return entries;
  }

  /**
   * Adds to `parts` the whole waiting batch of ready partitions of `first`'s topic led by the same broker, healthy
   * and with no retry pending, in ready order, while the request stays within maxBatchBytes and maxBatchRecords per
   * partition. They leave the ready list (a hole stays in their place).
   */
  private addCompanions(parts: RequestPart[], first: PartitionQueue, firstBytes: number): void {
    const leader = leaderOf(first);
    if (leader === undefined) return;
    let room = this.options.maxBatchBytes - firstBytes;
    const end = Math.min(this.ready.length, this.readyHead + COMPANION_SCAN);
    for (let i = this.readyHead; i < end && room > 0; i += 1) {
      const queue = this.ready[i];
      if (queue === undefined || queue === first || queue.route !== first.route || !queue.sendable || queue.failures > 0 || queue.alone || queue.retrySize > 0) continue;
      if (queue.bytes > room || queue.length > this.options.maxBatchRecords || leaderOf(queue) !== leader) continue;
      this.ready[i] = undefined;
      queue.ready = false;
      room -= queue.bytes;
      const entries = this.take(queue);
      if (entries !== undefined) parts.push({ queue, entries });
    }
  }

  private finished(parts: readonly RequestPart[]): void {
    this.requests -= 1;
    for (const { queue, entries } of parts) {
      queue.inflight = undefined;
      this.inflightRecords -= entries.length;
      this.settleFailing(queue);
      if (queue.sendable && !queue.ready) this.markReady(queue);
    }
    this.flushLingered();
    this.options.onRoom?.();
  }

  /**
   * After a request: the records that waited for it go once the oldest of a ready partition has waited
   * maxLingerTime (at once with 0, or when the request took longer), as the Java producer's batches do. Sent the
   * moment the request returned, each request after the first held only what came during one round trip to Kafka:
   * with a 5 ms linger, a member of a two-member group sent ~40 records per request where a 5 ms batch was ~60,
   * and the single Kafka broker spent its CPU on requests.
   */
  private flushLingered(): void {
    const linger = this.options.maxLingerTime;
    if (linger === 0 || this.closed) {
      this.flush();
      return;
    }
    const now = this.now();
    let due = Number.POSITIVE_INFINITY;
    const end = Math.min(this.ready.length, this.readyHead + COMPANION_SCAN);
    for (let i = this.readyHead; i < end && due > now; i += 1) {
      const queue = this.ready[i];
      if (queue === undefined || !queue.sendable) continue;
      const full = queue.bytes >= this.lingerBytes || queue.length >= this.options.maxBatchRecords;
      due = full ? now : Math.min(due, (queue.peek() as Entry).acceptedAt + linger);
    }
    // past the scan, a partition may have lingered long enough already: flush rather than guess
    if (due <= now || end < this.ready.length) {
      this.flush();
      return;
    }
    if (due !== Number.POSITIVE_INFINITY) this.scheduleLinger(due - now);
    this.admitHeld();
    this.notifyIdle();
  }

  /**
   * A request of several partitions of one topic. kafkajs rejects it as a whole, without saying which partition
   * failed: each partition's batch then goes again alone, at once and without spending one of its retries, so
   * that a partition at fault fails (and backs off) by itself and the others are delivered. Those that Kafka had
   * written may be stored twice (at-least-once, as any retry): a failure of one partition but not its topic's
   * others is a leader moving, or a record refused for its size or content.
   */
  private async produceTogether(parts: readonly RequestPart[]): Promise<void> {
    for (const { queue } of parts) queue.counters.requests += 1;
    try {
      await this.sender.sendTogether(parts);
    } catch {
      for (const { queue, entries } of parts) this.retryAlone(queue, entries);
      return;
    }
    for (const { queue, entries } of parts) this.succeeded(queue, entries);
  }

  private retryAlone(queue: PartitionQueue, entries: readonly Entry[]): void {
    this.counters.retried += entries.length;
    queue.counters.retried += entries.length;
    for (const entry of entries) compactWaiting(entry);
    queue.requeue(entries);
    this.pendingRecords += entries.length;
    queue.retrySize = entries.length;
    queue.alone = true;
  }

  /**
   * Never rejects: settles, drops or requeues every entry of the batch. Resolves to the retriable failure
   * that put records back for a retry, if there was one.
   */
  private async produce(queue: PartitionQueue, entries: Entry[]): Promise<ActionWriteError | undefined> {
    queue.counters.requests += 1;
    try {
      await this.sender.send(queue, entries);
      this.succeeded(queue, entries);
      return undefined;
    } catch (error) {
      const { retriable, reason } = classifyKafkaError(error);
      if (!retriable && entries.length > 1 && RECORD_LEVEL.has(reason)) return this.isolate(queue, entries);
      const failure = this.failureOf(queue.topic, error, reason);
      this.failed(queue, entries, failure);
      return failure.retriable ? failure : undefined;
    }
  }

  /**
   * A topic Kafka says it does not know (deleted, or not created yet) is not a reason to throw its records away:
   * they are retried like records of a partition whose leader is away, while the directory fetches the topic
   * again (issue #11). Everything else is as classified.
   */
  private failureOf(topic: string, error: unknown, reason: string): ActionWriteError {
    const failure = toActionWriteError(this.where, [topic], error);
    if (failure.retriable || reason !== 'UNKNOWN_TOPIC_OR_PARTITION') return failure;
    return new ActionWriteError(this.where, failure.message, { retriable: true, cause: error });
  }

  /**
   * A request failed for something one of its records may have alone (too large, refused by the broker,
   * not encodable): its two halves go again, one after the other (order kept), each halved again while it
   * fails so, until the records at fault fail by themselves and the others are delivered. n records with
   * one culprit take about 2·log2(n) requests. A record may reach Kafka twice when a request that failed
   * had been partly written (at-least-once, as with any retry).
   */
  private async isolate(queue: PartitionQueue, entries: Entry[]): Promise<ActionWriteError | undefined> {
    const middle = entries.length >>> 1;
    const second = entries.slice(middle);
    const failure = await this.produce(queue, entries.slice(0, middle));
    if (failure === undefined) return this.produce(queue, second);
    // Kafka went away meanwhile: the second half waits for the retry too, behind the first (order kept)
    this.failed(queue, second, failure, false);
    return failure;
  }

  private succeeded(queue: PartitionQueue, entries: readonly Entry[]): void {
    if (queue.failures > 0) this.recovered(queue);
    queue.earlyAllowed = true;
    queue.earlyAttempt = false;
    queue.counters.acknowledged += entries.length;
    this.options.onResult?.(undefined);
    for (const entry of entries) {
      if (entry.attempts > 0) this.counters.retriedSuccess += 1;
      this.admission.release(entry);
      entry.settled = true;
      entry.resolve();
    }
  }

  /**
   * A retriable failure puts the records back (in order) for a retry after a back-off, while retries remain.
   * `counted` false: the failure was already reported and backed off for (records held back with a failed request).
   */
  private failed(queue: PartitionQueue, entries: readonly Entry[], failure: ActionWriteError, counted = true): void {
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
      this.fail(entry, failure);
    }
    if (again.length === 0) return;
    for (const entry of again) compactWaiting(entry);
    queue.counters.retried += again.length;
    queue.requeue(again);
    this.pendingRecords += again.length;
    if (counted) {
      queue.retrySize = again.length;
      this.backOff(queue);
    }
  }

  private fail(entry: Entry, error: Error): void {
    this.admission.release(entry);
    if (entry.queue !== undefined) entry.queue.counters.failed += 1;
    entry.settled = true;
    entry.reject(error);
  }

  /**
   * The partition waits at least retryBackoff.initial, doubling per consecutive failure up to max; the
   * directory is told the topic failed, and when it says the topic answers again (onChange), the retry goes
   * early, once per back-off: if that early retry fails too, Kafka answers but the produce does not, and the
   * next back-off runs its course.
   */
  private backOff(queue: PartitionQueue): void {
    const now = this.now();
    if (queue.failures === 0) {
      this.failingPartitions += 1;
      queue.route.failingPartitions += 1;
    }
    queue.failures += 1;
    queue.failedAt = now;
    const { initial, max } = this.options.retryBackoff;
    queue.retryAt = now + Math.min(max, initial * 2 ** Math.min(queue.failures - 1, 30));
    queue.earlyAt = Number.POSITIVE_INFINITY;
    queue.earlyAllowed = !queue.earlyAttempt;
    queue.earlyAttempt = false;
    if (!queue.backingOff) {
      queue.backingOff = true;
      this.backingOff.add(queue);
    }
    this.options.directory.suspect(queue.topic);
    this.options.onBlocked?.(queue.topic);
    this.scheduleWake(Math.min(queue.retryAt, this.admission.expiresAt(queue)));
  }

  private endBackOff(queue: PartitionQueue): void {
    queue.backingOff = false;
    queue.earlyAt = Number.POSITIVE_INFINITY;
    this.backingOff.delete(queue);
  }

  /** A partition with nothing left to send or in flight is not failing any more (its records went, or were dropped). */
  private settleFailing(queue: PartitionQueue): void {
    if (queue.failures > 0 && !queue.backingOff && queue.length === 0 && !queue.busy) this.recovered(queue);
  }

  private recovered(queue: PartitionQueue): void {
    queue.failures = 0;
    this.failingPartitions -= 1;
    queue.route.failingPartitions -= 1;
    if (queue.route.failingPartitions === 0) this.options.onUnblocked?.(queue.topic);
  }

  private scheduleWake(at: number): void {
    if (this.closed || at >= this.wakeAt || at === Number.POSITIVE_INFINITY) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(this.wakeNow, Math.max(0, at - this.now()));
  }

  /** Ends the back-offs that are over, expires records waiting for their topic, and sets the timer for what is next. */
  private wake(): void {
    this.wakeTimer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    let freed = false;
    const expiring = this.options.maxBatchAge !== Number.POSITIVE_INFINITY;
    for (const queue of this.backingOff) {
      // maxBatchAge holds while a partition backs off too, not only when it sends again
      if (expiring && this.admission.expire(queue, now, this.dropped) > 0) freed = true;
      if (!queue.backingOff) continue; // all its records expired: forget() ended the back-off
      const at = queue.wakeAt;
      if (at > now) {
        next = Math.min(next, at, this.admission.expiresAt(queue));
        continue;
      }
      queue.earlyAttempt = queue.earlyAt <= now && queue.retryAt > now;
      this.endBackOff(queue);
      if (queue.sendable && !queue.ready) this.markReady(queue);
      else this.settleFailing(queue);
    }
    if (expiring) {
      this.router.forEachRoute((route) => {
        if (route.unrouted.length === 0) return;
        if (this.admission.expire(route.unrouted, now, this.dropped) > 0) freed = true;
        next = Math.min(next, this.admission.expiresAt(route.unrouted));
      });
    }
    if (freed) this.options.onRoom?.();
    this.scheduleWake(next);
    this.flush();
  }

  /**
   * The directory (re)learned the topic, or found Kafka answering again: records waiting for the topic get
   * their partitions, in order, and its partitions backing off may retry early.
   */
  private topicChanged(topic: string): void {
    const route = this.router.find(topic);
    if (route === undefined) return;
    if (!this.router.refresh(route)) {
      // forgotten by a full directory and not taken back: its waiting records fail rather than wait for ever
      if (route.unrouted.length > 0 && !this.options.directory.tracks(topic)) this.abandonUntracked(route);
      else if (!this.closed && this.options.directory.problem(topic) !== undefined) this.options.onBlocked?.(topic);
      return;
    }
    if (route.unrouted.length > 0) {
      this.topicsWaiting -= 1;
      for (const entry of route.unrouted.drain()) {
        const queue = this.router.place(route, entry.record.message) as PartitionQueue;
        entry.queue = queue;
        queue.bufferedBytes += entry.record.held;
        queue.push(entry);
        this.pendingRecords += 1;
        // as a newly admitted record: a partition whose batch is full (maxLingerBytes, maxBatchRecords) goes now
        this.joined(queue);
      }
    }
    const now = this.now();
    for (const queue of route.partitions) {
      if (queue === undefined || !queue.backingOff || !queue.earlyAllowed) continue;
      queue.earlyAt = Math.max(now, queue.failedAt + this.options.retryBackoff.initial);
      this.scheduleWake(queue.earlyAt);
    }
    this.options.onUnblocked?.(topic);
    if (this.closed || this.sendPlacedNow) {
      // a closing pipeline lingers no more; nor records a stalled source waited for while they had no partition
      if (this.topicsWaiting === 0) this.sendPlacedNow = false;
      this.flush();
    } else this.scheduleLinger();
  }

  private lateReplied(queue: PartitionQueue, records: number): void {
    this.counters.lateReply += records;
    if (queue.sendable && !queue.ready) this.markReady(queue);
    else this.settleFailing(queue);
    this.flush();
  }

  /** Lets sends held back by a full buffer in, oldest first, while they fit. */
  private admitHeld(): void {
    const held = this.admission.held;
    if (this.closed || held.length === 0) return;
    for (let next = held.peek(); next !== undefined; next = held.peek()) {
      // its route was removed as idle while it was held (PartitionRouter.sweep): it takes the topic's current one,
      // so a partition never has two queues (two requests in flight)
      if ((next.route as TopicRoute).removed) {
        next.route = this.router.route(next.record.topic) as TopicRoute;
        next.queue = this.router.place(next.route, next.record.message);
      }
      if (!this.admission.fits(next.record.held, next.queue)) break;
      held.shift();
      // its topic may have become known while it was held
      if (next.queue === undefined && (next.route as TopicRoute).unrouted.length === 0) next.queue = this.router.place(next.route as TopicRoute, next.record.message);
      this.accept(next);
    }
  }

  /** A record dropped (queue_full, expired) from the head of its partition's queue, or of its topic's unrouted queue. */
  private forget(entry: Entry): void {
    const queue = entry.queue;
    if (queue !== undefined) {
      queue.counters.dropped += 1;
      this.pendingRecords -= 1;
      if (queue.retrySize > 0) queue.retrySize -= 1; // drops are taken from the head, where a failed batch waits
      if (queue.backingOff && queue.length === 0) {
        // nothing left to retry: the partition is not failing any more (a hybrid buffer reads failing() to spill)
        this.endBackOff(queue);
        this.settleFailing(queue);
      }
    } else if ((entry.route as TopicRoute).unrouted.length === 0) {
      this.topicsWaiting -= 1;
    }
  }

  private idle(): boolean {
    return this.pendingRecords === 0 && this.requests === 0 && this.topicsWaiting === 0;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.idle()) return;
    if (this.closeCheck !== undefined) clearTimeout(this.closeCheck);
    this.closeCheck = undefined;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

/**
 * A record about to wait (for its topic's partitions, or while its partition fails): its value made one flat
 * string. A rendered template is a rope, a node per piece, that V8 flattens only when the text is read whole;
 * waiting, it holds about 4 × the memory of its text (345 bytes against 89 for the bench's value; 858 against
 * 603 bytes per waiting record in all, `npm run bench:kafka-memory`). Reading one character flattens it. Not
 * done for records that go at once: kafkajs writes a rope out without flattening it, so there it would only
 * cost a copy.
 */
function compactWaiting(entry: Entry): void {
  const value = entry.record.message.value;
  if (typeof value === 'string') value.charCodeAt(0);
}

/** Gives the entry to a disk log: its send resolves once written there, and Kafka's outcome goes to the log's `settled`. */
function handOverEntry(entry: Entry, persist: (record: RenderedRecord) => HandedOver): void {
  entry.onDisk = true;
  const { written, settled } = persist(entry.record);
  const { resolve, reject } = entry;
  written.then(() => resolve(), reject);
  entry.resolve = (result) => settled(result);
  entry.reject = (error) => settled(error);
}

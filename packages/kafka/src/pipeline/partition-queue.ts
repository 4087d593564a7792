import { type Entry, EntryQueue } from './entry';
import type { TopicRoute } from './partition-router';

/** What one partition did since the action was created (read into `partitions()` snapshots). */
export interface PartitionCounters {
  /** Produce requests sent (each half of a split request counts). */
  requests: number;
  /** Records Kafka acknowledged. */
  acknowledged: number;
  /** Records put back for a retry. */
  retried: number;
  /** Records that failed (not retriable, retries exhausted, or the action closing). */
  failed: number;
  /** Records dropped (queue_full, expired). */
  dropped: number;
}

/**
 * The records of one (topic, partition): those waiting in admission order (the EntryQueue), the one request
 * in flight, and the back-off after a retriable failure. One request at a time keeps the partition's order
 * whatever the action's maxInflight: kafkajs has many awaits between sendBatch() and the socket write, so two
 * requests of one partition in flight can reach the broker swapped.
 */
export class PartitionQueue extends EntryQueue {
  /** Heap estimate (RenderedRecord.held) of the records accepted for this partition and not yet settled (perPartitionLimit). */
  bufferedBytes = 0;
  /** The records of the request in flight (a split request's halves are subsets of it), for handOver(). */
  inflight: Entry[] | undefined = undefined;
  /** `sync` requests of this partition past their deadline whose reply has not come: the partition waits for them. */
  late = 0;
  /** Records at the head that are a failed request's, to be sent again as one request of exactly these; 0: none. */
  retrySize = 0;
  /** Its next request goes alone: the last one it shared with other partitions failed, and whose fault that was is not known. */
  alone = false;
  /** Listed in the pipeline's ready list (waiting for a request slot). */
  ready = false;
  /** Consecutive failed requests; 0 once Kafka acknowledges one (or nothing is left to send). */
  failures = 0;
  /** Waiting after a retriable failure until `retryAt` (or an early wake). */
  backingOff = false;
  failedAt = 0;
  retryAt = 0;
  /** When the directory said the topic answers again: the retry may go from then (still >= failedAt + initial). */
  earlyAt = Number.POSITIVE_INFINITY;
  /** The retry under way was woken early by the directory (if it fails too, the next back-off is not cut short). */
  earlyAttempt = false;
  /** An early wake may cut this back-off short (not after an early retry failed: Kafka answers, the produce does not). */
  earlyAllowed = true;
  readonly counters: PartitionCounters = { requests: 0, acknowledged: 0, retried: 0, failed: 0, dropped: 0 };

  readonly topic: string;

  constructor(
    /** The topic's queues this partition belongs to (its count of failing partitions). */
    readonly route: TopicRoute,
    readonly partition: number,
  ) {
    super();
    this.topic = route.topic;
  }

  /** A request of this partition is in flight, or a late reply is awaited. */
  get busy(): boolean {
    return this.inflight !== undefined || this.late > 0;
  }

  /** Can send now: records waiting, no request in flight, not backing off. */
  get sendable(): boolean {
    return this.length > 0 && !this.backingOff && this.inflight === undefined && this.late === 0;
  }

  /** When the back-off ends: its timer, or an early wake. */
  get wakeAt(): number {
    return Math.min(this.retryAt, this.earlyAt);
  }
}

import { DROPPED } from '@sluice/core';
import { type Entry, EntryQueue } from './entry';
import type { PartitionQueue } from './partition-queue';
import type { PartitionRouter } from './partition-router';

export type OverflowPolicy = 'backpressure' | 'drop_oldest' | 'drop_newest';

export interface AdmissionLimits {
  /** Heap estimate (RenderedRecord.held) of records accepted and not yet settled (waiting, in flight, back for a retry, waiting for their topic). */
  readonly bufferLimit: number;
  /** Heap estimate one partition may hold; Infinity: only bufferLimit. */
  readonly perPartitionLimit: number;
  readonly overflow: OverflowPolicy;
  /** ms since accepted after which a waiting record is dropped `expired`; Infinity: never. */
  readonly maxBatchAge: number;
}

/**
 * The buffer's totals and what happens at its limits: which records are accepted, held back (backpressure),
 * or dropped (drop_newest, drop_oldest, expired). A record larger than a whole limit still goes when that
 * buffer is empty, or it could never go.
 */
export class Admission {
  bufferedBytes = 0;
  bufferedRecords = 0;
  /** Sends held back by a full buffer (backpressure), oldest first. */
  readonly held = new EntryQueue();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly router: PartitionRouter,
  ) {}

  /** Room for a record holding `bytes` (its `held` estimate) in the whole buffer, and in the partition's share when it is known. */
  fits(bytes: number, queue: PartitionQueue | undefined): boolean {
    if (this.bufferedBytes !== 0 && this.bufferedBytes + bytes > this.limits.bufferLimit) return false;
    return queue === undefined || queue.bufferedBytes === 0 || queue.bufferedBytes + bytes <= this.limits.perPartitionLimit;
  }

  /**
   * Whether the new entry may be accepted now. Otherwise it is held (backpressure) or dropped and resolved
   * `queue_full` here; drop_oldest first drops older waiting records to make room (`dropped` is told each).
   */
  offer(entry: Entry, dropped: (entry: Entry) => void): boolean {
    const bytes = entry.record.held;
    if (this.held.length === 0 && this.fits(bytes, entry.queue)) return true;
    switch (this.limits.overflow) {
      case 'backpressure':
        this.held.push(entry);
        return false;
      case 'drop_oldest':
        if (this.held.length === 0) {
          this.dropOldestFor(bytes, entry.queue, dropped);
          if (this.fits(bytes, entry.queue)) return true;
        }
        break;
      case 'drop_newest':
        break;
    }
    entry.settled = true;
    entry.resolve(DROPPED.queue_full);
    return false;
  }

  /** Counts an accepted entry in the totals and its partition's share. */
  count(entry: Entry): void {
    const bytes = entry.record.held;
    this.bufferedBytes += bytes;
    this.bufferedRecords += 1;
    if (entry.queue !== undefined) entry.queue.bufferedBytes += bytes;
  }

  /** Takes a settled entry out of the totals. */
  release(entry: Entry): void {
    const bytes = entry.record.held;
    this.bufferedBytes -= bytes;
    this.bufferedRecords -= 1;
    if (entry.queue !== undefined) entry.queue.bufferedBytes -= bytes;
  }

  /** Drops the head of a queue (its oldest) while older than maxBatchAge; the count dropped. */
  expire(queue: EntryQueue, now: number, dropped: (entry: Entry) => void): number {
    if (this.limits.maxBatchAge === Number.POSITIVE_INFINITY) return 0;
    const oldest = now - this.limits.maxBatchAge;
    let count = 0;
    for (let head = queue.peek(); head !== undefined && head.acceptedAt < oldest; head = queue.peek()) {
      queue.shift();
      this.drop(head, 'expired', dropped);
      count += 1;
    }
    return count;
  }

  /** When the oldest entry of the queue expires (the first ms it is older than maxBatchAge); Infinity if never. */
  expiresAt(queue: EntryQueue): number {
    const head = queue.peek();
    return head === undefined ? Number.POSITIVE_INFINITY : head.acceptedAt + this.limits.maxBatchAge + 1;
  }

  /**
   * Drops waiting records, oldest first, until `bytes` fit: the partition's own first when its share is full,
   * then the oldest of the whole buffer (records waiting for their topic included). Records in flight cannot
   * be taken back.
   */
  private dropOldestFor(bytes: number, queue: PartitionQueue | undefined, dropped: (entry: Entry) => void): void {
    if (queue !== undefined) {
      while (queue.length > 0 && queue.bufferedBytes !== 0 && queue.bufferedBytes + bytes > this.limits.perPartitionLimit) {
        this.drop(queue.shift() as Entry, 'queue_full', dropped);
      }
    }
    while (this.bufferedBytes !== 0 && this.bufferedBytes + bytes > this.limits.bufferLimit) {
      const oldest = this.oldestWaiting();
      if (oldest === undefined) return;
      this.drop(oldest.shift() as Entry, 'queue_full', dropped);
    }
  }

  /** The queue whose head was accepted first: a scan of the queues, on the overflow path only. */
  private oldestWaiting(): EntryQueue | undefined {
    let best: EntryQueue | undefined;
    let bestSeq = Number.POSITIVE_INFINITY;
    const consider = (queue: EntryQueue): void => {
      const head = queue.peek();
      if (head !== undefined && head.seq < bestSeq) {
        best = queue;
        bestSeq = head.seq;
      }
    };
    this.router.forEachRoute((route) => {
      consider(route.unrouted);
      for (const partition of route.partitions) if (partition !== undefined) consider(partition);
    });
    return best;
  }

  private drop(entry: Entry, reason: 'queue_full' | 'expired', dropped: (entry: Entry) => void): void {
    this.release(entry);
    entry.settled = true;
    dropped(entry);
    entry.resolve(DROPPED[reason]);
  }
}

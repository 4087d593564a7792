import type { SendResult } from '@sluice/core';
import type { RenderedRecord } from '../record-renderer';
import type { PartitionQueue } from './partition-queue';
import type { TopicRoute } from './partition-router';

/**
 * One record from add() until it is settled: the record, the resolve/reject of the one Promise the Action
 * contract needs for it, and where it waits. The only object the pipeline makes per record (besides that
 * Promise): held sends, waiting records, requests and retries all refer to it.
 */
export class Entry {
  /** Settles the record's send; replaced when handOver() gives the record to a disk log. */
  resolve: (result?: SendResult) => void = noop;
  reject: (error: Error) => void = noop;
  /** Order of acceptance across the pipeline: a retried batch goes back in this order; drop_oldest drops the smallest. */
  seq = 0;
  acceptedAt = 0;
  /** Retries so far. */
  attempts = 0;
  /** The topic's queues, and the partition's once the topic's partitions are known (undefined: it waits for them). */
  route: TopicRoute | undefined = undefined;
  queue: PartitionQueue | undefined = undefined;
  /**
   * Acknowledged, failed or dropped: handOver() leaves it alone. A request being split (isolate) stays in
   * flight while its first records are already settled; writing those to a log would leave them there.
   */
  settled = false;

  constructor(
    readonly record: RenderedRecord,
    /** Called when the record enters the buffer (at once, or once back-pressure lets it in). */
    readonly onAccepted: (() => void) | undefined,
    /** Also kept on disk (read back from a log, or handed over): handOver() leaves it alone. */
    public onDisk: boolean,
  ) {}
}

function noop(): void {}

// One executor for every record's Promise: it runs synchronously inside `new Promise`, so the two functions it
// captures are taken at once, and no closure is made per record.
let capturedResolve: (result?: SendResult) => void = noop;
let capturedReject: (error: Error) => void = noop;
function capture(resolve: (result?: SendResult) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** The Promise of the entry's send; the entry holds its resolve and reject. */
export function promiseOf(entry: Entry): Promise<SendResult> {
  const promise = new Promise<SendResult>(capture);
  entry.resolve = capturedResolve;
  entry.reject = capturedReject;
  return promise;
}

/**
 * Entries in order, taken from the front by an index cursor instead of shift()/slice() (which copy): the
 * array is reset when emptied and compacted once the consumed part is most of it.
 */
export class EntryQueue {
  private items: Entry[] = [];
  private head = 0;
  /** Bytes of the entries in the queue. */
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): Entry | undefined {
    return this.items[this.head];
  }

  at(index: number): Entry | undefined {
    return this.items[this.head + index];
  }

  push(entry: Entry): void {
    this.items.push(entry);
    this.bytes += entry.record.bytes;
  }

  shift(): Entry | undefined {
    const entry = this.items[this.head];
    if (entry === undefined) return undefined;
    this.items[this.head] = undefined as unknown as Entry; // let it be collected
    this.head += 1;
    this.bytes -= entry.record.bytes;
    this.compact();
    return entry;
  }

  /** Takes up to `maxRecords` entries from the front, stopping before `maxBytes` is passed (the first goes anyway). */
  take(maxRecords: number, maxBytes: number): Entry[] {
    const count = this.countFitting(maxRecords, maxBytes);
    const taken = new Array<Entry>(count);
    let bytes = 0;
    for (let i = 0; i < count; i += 1) {
      const entry = this.items[this.head + i] as Entry;
      this.items[this.head + i] = undefined as unknown as Entry;
      taken[i] = entry;
      bytes += entry.record.bytes;
    }
    this.head += count;
    this.bytes -= bytes;
    this.compact();
    return taken;
  }

  /** How many entries from the front fit `maxRecords` and `maxBytes` (at least one when not empty). */
  countFitting(maxRecords: number, maxBytes: number): number {
    const available = Math.min(this.length, maxRecords);
    let bytes = 0;
    let count = 0;
    while (count < available) {
      const next = (this.items[this.head + count] as Entry).record.bytes;
      if (count > 0 && bytes + next > maxBytes) break;
      bytes += next;
      count += 1;
    }
    return count;
  }

  /**
   * Puts entries back by acceptance order (`seq`): a retried batch goes before the records accepted after it.
   * Rare (a failure), so it may copy.
   */
  requeue(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) this.bytes += entry.record.bytes;
    const rest = this.items.slice(this.head);
    const first = rest[0];
    if (first === undefined || (entries[entries.length - 1] as Entry).seq < first.seq) {
      this.items = entries.concat(rest);
      this.head = 0;
      return;
    }
    const merged: Entry[] = [];
    let i = 0;
    let j = 0;
    while (i < entries.length || j < rest.length) {
      const a = entries[i];
      const p = rest[j];
      if (p === undefined || (a !== undefined && a.seq < p.seq)) {
        merged.push(a as Entry);
        i += 1;
      } else {
        merged.push(p);
        j += 1;
      }
    }
    this.items = merged;
    this.head = 0;
  }

  /** Empties the queue, returning what it held in order. */
  drain(): Entry[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return rest;
  }

  forEach(visit: (entry: Entry) => void): void {
    for (let i = this.head; i < this.items.length; i += 1) visit(this.items[i] as Entry);
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

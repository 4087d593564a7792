import { Fifo } from '@sluice/core';
import { type DiskBuffer, FrameReader, type FramePlace } from './disk-buffer';

/** A record of a blocked topic kept on disk only: where its frame is, and what the buffer's limits count of it. */
export interface ParkedRecord extends FramePlace {
  seq: number;
  readonly bytes: number;
  /** When it was parked (ms), for maxBatchAge. */
  readonly parkedAt: number;
  /** Its write failed: it was never stored, and is passed over (already taken out of the totals). */
  unstored: boolean;
}

/** One topic's parked records, oldest first, and the reader that brings them back. */
export interface ParkedQueue {
  readonly records: Fifo<ParkedRecord>;
  readonly reader: FrameReader;
}

/**
 * How often, while records are parked, a hybrid buffer on the log looks whether their topics can go again even
 * if nothing else happens (no traffic, no request finishing): it keeps asking the directory about them, which
 * otherwise forgets a topic nobody asks about and would not see it created.
 */
const PARKED_CHECK_MS = 1000;

/**
 * The records of blocked topics that a hybrid buffer keeps on disk only ("parked"), per topic in arrival order,
 * with their totals. Kept with the log rather than with one action (see parkedTopicsOf): an action replaced by
 * a config change shares its log with its replacement, which reads back what the old one parked. So is the
 * once-a-second check: it calls the newest buffer still open on the log, whichever of them parked the records.
 */
export class ParkedTopics {
  records = 0;
  bytes = 0;
  private readonly queues = new Map<string, ParkedQueue>();
  /** The pump of each hybrid buffer open on the log, oldest first. */
  private readonly buffers = new Set<() => void>();
  private check: NodeJS.Timeout | undefined;

  constructor(private readonly dir: string) {}

  /** A hybrid buffer opened on the log; returns what it calls when it closes. */
  open(pump: () => void): () => void {
    this.buffers.add(pump);
    this.scheduleCheck();
    return () => {
      this.buffers.delete(pump);
      if (this.buffers.size === 0) this.stopCheck();
    };
  }

  queueOf(topic: string): ParkedQueue | undefined {
    return this.queues.size === 0 ? undefined : this.queues.get(topic);
  }

  add(topic: string, record: ParkedRecord): void {
    let queue = this.queues.get(topic);
    if (queue === undefined) {
      queue = { records: new Fifo<ParkedRecord>(), reader: new FrameReader(this.dir) };
      this.queues.set(topic, queue);
    }
    queue.records.push(record);
    this.records += 1;
    this.bytes += record.bytes;
    this.scheduleCheck();
  }

  /** The head record of the queue left it (read back, expired, or unreadable). */
  taken(queue: ParkedQueue): void {
    const record = queue.records.shift() as ParkedRecord;
    if (record.unstored) return;
    this.records -= 1;
    this.bytes -= record.bytes;
  }

  /** A record whose write failed: it was never stored. It stays in its queue until reached, passed over. */
  unstored(record: ParkedRecord): void {
    record.unstored = true;
    this.records -= 1;
    this.bytes -= record.bytes;
  }

  /** Forgets an emptied topic: its next records take the usual way again. */
  drop(topic: string, queue: ParkedQueue): void {
    queue.reader.close();
    this.queues.delete(topic);
  }

  entries(): IterableIterator<[string, ParkedQueue]> {
    return this.queues.entries();
  }

  /** Closes the readers; what is parked stays on disk, unacknowledged, for the log's next user or the next start. */
  closeReaders(): void {
    for (const queue of this.queues.values()) queue.reader.close();
  }

  private scheduleCheck(): void {
    if (this.check !== undefined || this.queues.size === 0 || this.buffers.size === 0) return;
    this.check = setInterval(() => this.runCheck(), PARKED_CHECK_MS).unref();
  }

  private runCheck(): void {
    if (this.queues.size === 0) {
      this.stopCheck();
      return;
    }
    let newest: (() => void) | undefined;
    for (const pump of this.buffers) newest = pump;
    newest?.();
  }

  private stopCheck(): void {
    if (this.check === undefined) return;
    clearInterval(this.check);
    this.check = undefined;
  }
}

const byLog = new WeakMap<DiskBuffer, ParkedTopics>();

/** The parked records of a log, shared by every hybrid buffer on it. */
export function parkedTopicsOf(log: DiskBuffer): ParkedTopics {
  let parked = byLog.get(log);
  if (parked === undefined) {
    parked = new ParkedTopics(log.dir);
    byLog.set(log, parked);
  }
  return parked;
}

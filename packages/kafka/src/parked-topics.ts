import { FrameReader, type FramePlace } from './disk-buffer';

/** A record of a blocked topic kept on disk only: where its frame is, and what the buffer's limits count of it. */
export interface ParkedRecord extends FramePlace {
  seq: number;
  readonly bytes: number;
  /** When it was parked (ms), for maxBatchAge. */
  readonly parkedAt: number;
}

/** One topic's parked records, oldest first, and the reader that brings them back. */
export class ParkedQueue {
  private items: ParkedRecord[] = [];
  private head = 0;
  readonly reader: FrameReader;

  constructor(dir: string) {
    this.reader = new FrameReader(dir);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(record: ParkedRecord): void {
    this.items.push(record);
  }

  peek(): ParkedRecord | undefined {
    return this.items[this.head];
  }

  shift(): void {
    this.items[this.head] = undefined as unknown as ParkedRecord;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Takes out a record whose write failed (never stored): it is among the last parked, so searched from the end. */
  remove(record: ParkedRecord): boolean {
    const at = this.items.lastIndexOf(record);
    if (at < this.head) return false;
    this.items.splice(at, 1);
    return true;
  }
}

/**
 * The records of blocked topics that a hybrid buffer keeps on disk only ("parked"), per topic in arrival order,
 * with their totals. Kept with the log rather than with one action (see parkedTopicsOf): an action replaced by
 * a config change shares its log with its replacement, which reads back what the old one parked.
 */
export class ParkedTopics {
  records = 0;
  bytes = 0;
  private readonly queues = new Map<string, ParkedQueue>();

  constructor(private readonly dir: string) {}

  queueOf(topic: string): ParkedQueue | undefined {
    return this.queues.size === 0 ? undefined : this.queues.get(topic);
  }

  add(topic: string, record: ParkedRecord): void {
    let queue = this.queues.get(topic);
    if (queue === undefined) {
      queue = new ParkedQueue(this.dir);
      this.queues.set(topic, queue);
    }
    queue.push(record);
    this.records += 1;
    this.bytes += record.bytes;
  }

  /** The head record of the queue left it (read back, expired, or unreadable). */
  taken(queue: ParkedQueue): void {
    const record = queue.peek() as ParkedRecord;
    queue.shift();
    this.records -= 1;
    this.bytes -= record.bytes;
  }

  /** A record whose write failed: it was never stored. */
  unstored(topic: string, record: ParkedRecord): void {
    const queue = this.queues.get(topic);
    if (queue === undefined || !queue.remove(record)) return;
    this.records -= 1;
    this.bytes -= record.bytes;
    if (queue.length === 0) this.drop(topic, queue);
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
}

const byLog = new WeakMap<object, ParkedTopics>();

/** The parked records of a log (one per DiskBuffer), shared by every hybrid buffer on it. */
export function parkedTopicsOf(log: object, dir: string): ParkedTopics {
  let parked = byLog.get(log);
  if (parked === undefined) {
    parked = new ParkedTopics(dir);
    byLog.set(log, parked);
  }
  return parked;
}

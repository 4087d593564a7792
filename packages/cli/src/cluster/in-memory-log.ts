import type { SharedLog, SharedLogFactory, SharedLogRecord } from './shared-log';

/**
 * A shared log in memory, for unit tests of the cluster logic: every reader made by `factory()` is handed
 * each record in append order, on a later tick (as a Kafka consumer gets records after the write returned).
 */
export class InMemoryLog {
  readonly records: SharedLogRecord[] = [];
  private readonly readers = new Set<Reader>();

  factory(): SharedLogFactory {
    return (onRecord) => new Reader(this, onRecord);
  }

  append(key: string, value: Buffer): bigint {
    const offset = BigInt(this.records.length);
    this.records.push({ offset, key, value });
    for (const reader of this.readers) setImmediate(() => reader.catchUp());
    return offset;
  }

  attach(reader: Reader): void {
    this.readers.add(reader);
  }

  detach(reader: Reader): void {
    this.readers.delete(reader);
  }
}

class Reader implements SharedLog {
  private next = 0;
  private readonly waiters: Array<{ offset: bigint; resolve: () => void }> = [];

  constructor(private readonly log: InMemoryLog, private readonly onRecord: (record: SharedLogRecord) => void) {}

  async open(): Promise<void> {
    this.log.attach(this);
    this.catchUp();
  }

  async write(key: string, value: Buffer): Promise<bigint> {
    return this.log.append(key, value);
  }

  readThrough(offset: bigint): Promise<void> {
    if (BigInt(this.next) > offset) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ offset, resolve }));
  }

  async close(): Promise<void> {
    this.log.detach(this);
  }

  catchUp(): void {
    while (this.next < this.log.records.length) {
      const record = this.log.records[this.next] as SharedLogRecord;
      this.next += 1;
      this.onRecord(record);
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i] as { offset: bigint; resolve: () => void };
      if (BigInt(this.next) > waiter.offset) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }
}

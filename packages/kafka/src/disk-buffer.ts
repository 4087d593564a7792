import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { type FileHandle, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Message as KafkaMessage } from 'kafkajs';

/** What a disk buffer keeps of a record: enough to send it again after a restart. */
export interface StoredRecord {
  readonly seq: number;
  readonly topic: string;
  readonly bytes: number;
  readonly message: KafkaMessage;
}

/** A segment file of the log. */
export interface Segment {
  readonly file: string;
  lastSeq: number;
  /** Bytes of whole frames on disk (written and synced); what a reader may read. */
  size: number;
}

/** Where the reader of a hybrid buffer is: a segment file, an offset in it, and the bytes read ahead. */
interface ReadCursor {
  file: string;
  fd: number;
  offset: number;
  chunk: Buffer;
  /** File offset of chunk[0]. */
  chunkAt: number;
}

/**
 * What a hybrid buffer has on disk and not yet back in memory. Kept with the log, not with an action: an
 * action replaced by a config change shares the log with its replacement, which takes over from there.
 */
export interface SpillState {
  records: number;
  bytes: number;
  /** Read from disk, not yet taken into memory (it did not fit). */
  next: StoredRecord | undefined;
  /** Sequence numbers of records written while also held in memory (handed over): reading skips them. */
  readonly inMemory: Set<number>;
}

/**
 * Where a frame lies in the log, filled in by append() once the frame is written (segment undefined until
 * then): a hybrid buffer's parked record is read back alone from there (FrameReader), not by reading the log.
 */
export interface FramePlace {
  segment: Segment | undefined;
  /** Offset of the frame's length prefix in the segment file. */
  offset: number;
  /** Bytes of the frame, its 4-byte length prefix included. */
  length: number;
}

/** Bytes read from a segment at a time when a hybrid buffer moves records back into memory. */
const READ_CHUNK = 256 * 1024;

const COMMITTED = 'committed';
const SEGMENT = /^(\d{16})\.seg$/;

/**
 * An append-only log of records under one directory: segment files of length-prefixed JSON frames, and
 * a `committed` file naming the lowest sequence number Kafka has not yet acknowledged. Appends made in
 * the same turn of the event loop share one write and one fdatasync (group commit). After a crash,
 * records from the committed number on are sent again: at least once, a few may be sent twice.
 */
export class DiskBuffer {
  private segments: Segment[] = [];
  private current: FileHandle | undefined;
  private currentBytes = 0;
  private nextSeq = 0;
  /** Sequence numbers appended and not yet acknowledged, in order; `head` skips the acknowledged prefix. */
  private outstanding: number[] = [];
  private head = 0;
  private readonly acked = new Set<number>();
  private batch: Buffer[] = [];
  /** Where each frame of `batch` is to be told its place (undefined for most: only parked records ask). */
  private batchPlaces: Array<FramePlace | undefined> = [];
  /** Sequence number of the first frame in `batch`. */
  private batchFirst = 0;
  private waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private writing: Promise<void> | undefined;
  private scheduled = false;
  /** The committed number last written to the `committed` file. */
  private committedWritten = -1;
  /** Records below this were acknowledged before the log was opened: the reader skips them. */
  private readFrom = 0;
  private cursor: ReadCursor | undefined;
  /** The segment and offset of the frame readNext() returned last (placeOfLastRead). */
  private lastReadSegment: Segment | undefined;
  private lastReadOffset = 0;
  private lastReadLength = 0;
  /** The hybrid buffer's bookkeeping (unused in disk mode). */
  readonly spill: SpillState = { records: 0, bytes: 0, next: undefined, inMemory: new Set() };

  constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  /** Reads what an earlier run left unacknowledged; call once, before any append. */
  open(): StoredRecord[] {
    mkdirSync(this.dir, { recursive: true });
    const committedFile = path.join(this.dir, COMMITTED);
    const committed = existsSync(committedFile) ? Number(readFileSync(committedFile, 'utf8')) || 0 : 0;
    const files = readdirSync(this.dir).filter((name) => SEGMENT.test(name)).sort();
    const records: StoredRecord[] = [];
    for (const name of files) {
      const file = path.join(this.dir, name);
      const segment: Segment = { file, lastSeq: -1, size: 0 };
      const { records: frames, end } = readFrames(readFileSync(file));
      if (frames.length === 0) {
        // Created just before a crash, its first frame not (wholly) written: nothing in it counts. Left listed, it
        // would be opened again under the same name by the next write (its name is that write's first number)
        // and then deleted as acknowledged while it is the segment being written.
        rmQuietly(file);
        continue;
      }
      segment.size = end;
      for (const record of frames) {
        segment.lastSeq = record.seq;
        this.nextSeq = Math.max(this.nextSeq, record.seq + 1);
        if (record.seq >= committed) {
          records.push(record);
          this.outstanding.push(record.seq);
        }
      }
      this.segments.push(segment);
    }
    this.nextSeq = Math.max(this.nextSeq, committed);
    this.readFrom = committed;
    return records;
  }

  /**
   * The next record of the log in order, read from disk: the hybrid buffer's way back into memory, so the
   * records it spilled need not stay in memory too. Starts at the oldest record not acknowledged when the
   * log was opened; returns undefined when it has caught up with what is on disk (more may come).
   */
  readNext(): StoredRecord | undefined {
    for (;;) {
      const cursor = this.readCursor();
      if (cursor === undefined) return undefined;
      const segment = this.segments.find((s) => s.file === cursor.file);
      const at = this.segments.indexOf(segment as Segment);
      if (segment === undefined || cursor.offset + 4 > segment.size) {
        // the end of a segment: go on to the next one, if there is one yet
        if (segment !== undefined && at === this.segments.length - 1) return undefined;
        const next = this.segments[segment === undefined ? 0 : at + 1];
        this.closeCursor();
        if (next === undefined) return undefined;
        this.cursor = { file: next.file, fd: openSync(next.file, 'r'), offset: 0, chunk: Buffer.alloc(0), chunkAt: 0 };
        continue;
      }
      const length = readThrough(cursor, cursor.offset, 4, segment.size, this.dir).readUInt32BE(0);
      const frame = readThrough(cursor, cursor.offset + 4, length, segment.size, this.dir);
      this.lastReadSegment = segment;
      this.lastReadOffset = cursor.offset;
      this.lastReadLength = 4 + length;
      cursor.offset += 4 + length;
      const record = parseFrame(frame);
      if (record === undefined) {
        // the reader is past it already: the frames after it can still be read
        throw Object.assign(new Error(`disk buffer ${this.dir}: unreadable record in ${cursor.file} before offset ${cursor.offset}`), { frameSkipped: true });
      }
      if (record.seq >= this.readFrom) return record;
    }
  }

  /** Where the record readNext() returned last lies: a hybrid buffer parks it there rather than take it into memory. */
  placeOfLastRead(): FramePlace {
    return { segment: this.lastReadSegment, offset: this.lastReadOffset, length: this.lastReadLength };
  }

  /**
   * The reader goes on from the next record appended: every record before it is acknowledged, or held in memory
   * or parked by a hybrid buffer, so none is read back (a restart still sends them, from the committed number on).
   */
  skipReaderToEnd(): void {
    this.readFrom = this.nextSeq;
    this.closeCursor();
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) return;
    try {
      this.cursor = { file: last.file, fd: openSync(last.file, 'r'), offset: last.size, chunk: Buffer.alloc(0), chunkAt: 0 };
    } catch {
      // the reader then starts at the first segment and passes over the records before readFrom
    }
  }

  /** After readNext() threw on a damaged frame: the reader goes on after the last whole frame of its segment. */
  skipRestOfSegment(): void {
    const cursor = this.cursor;
    if (cursor === undefined) return;
    const segment = this.segments.find((s) => s.file === cursor.file);
    if (segment !== undefined) cursor.offset = Math.max(cursor.offset, segment.size);
    else this.closeCursor();
  }

  private readCursor(): ReadCursor | undefined {
    if (this.cursor !== undefined) return this.cursor;
    const first = this.segments[0];
    if (first === undefined) return undefined;
    this.cursor = { file: first.file, fd: openSync(first.file, 'r'), offset: 0, chunk: Buffer.alloc(0), chunkAt: 0 };
    return this.cursor;
  }

  private closeCursor(): void {
    if (this.cursor === undefined) return;
    closeSync(this.cursor.fd);
    this.cursor = undefined;
  }

  /**
   * Appends a record; `written` resolves once it is on disk (fdatasync). `place`, when given, is filled in
   * with where the frame lies before `written` resolves.
   */
  append(topic: string, bytes: number, message: KafkaMessage, place?: FramePlace): { readonly seq: number; readonly written: Promise<void> } {
    const seq = this.nextSeq++;
    this.outstanding.push(seq);
    const frameObject = { s: seq, t: topic, b: bytes, m: message };
    // the replacer runs for every key of the frame: only when there is a Buffer for it to keep
    const json = Buffer.from(holdsBuffers(message) ? JSON.stringify(frameObject, keepBuffers) : JSON.stringify(frameObject), 'utf8');
    const frame = Buffer.allocUnsafe(4 + json.length);
    frame.writeUInt32BE(json.length, 0);
    json.copy(frame, 4);
    if (this.batch.length === 0) this.batchFirst = seq;
    this.batch.push(frame);
    this.batchPlaces.push(place);
    if (place !== undefined) place.length = frame.length;
    const written = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
    }
    return { seq, written };
  }

  /** Kafka has the record: it need not be sent again after a restart. */
  ack(seq: number): void {
    this.acked.add(seq);
    while (this.head < this.outstanding.length && this.acked.has(this.outstanding[this.head] as number)) {
      this.acked.delete(this.outstanding[this.head] as number);
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.outstanding.length) {
      this.outstanding = this.outstanding.slice(this.head);
      this.head = 0;
    }
  }

  /** Lowest sequence number not yet acknowledged. */
  committed(): number {
    return this.head < this.outstanding.length ? this.outstanding[this.head] as number : this.nextSeq;
  }

  /** Waits for pending writes, records the committed number, closes the segment. */
  async close(): Promise<void> {
    // a failed write was reported to its appends already
    while (this.scheduled || this.writing !== undefined) await (this.writing ?? new Promise((resolve) => setImmediate(resolve))).catch(() => undefined);
    await this.current?.close();
    this.current = undefined;
    this.closeCursor();
    writeFileSync(path.join(this.dir, COMMITTED), String(this.committed()));
    this.dropAckedSegments(true);
  }

  private async drain(): Promise<void> {
    if (this.writing !== undefined) return;
    this.scheduled = false;
    const frames = this.batch;
    const places = this.batchPlaces;
    const waiters = this.waiters;
    const first = this.batchFirst;
    this.batch = [];
    this.batchPlaces = [];
    this.waiters = [];
    this.writing = this.write(frames, places, first, first + frames.length - 1);
    try {
      await this.writing;
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error as Error);
    } finally {
      this.writing = undefined;
    }
    if (this.batch.length > 0) {
      this.scheduled = true;
      void this.drain();
    }
  }

  private async write(frames: readonly Buffer[], places: ReadonlyArray<FramePlace | undefined>, first: number, last: number): Promise<void> {
    const data = Buffer.concat(frames);
    if (this.current === undefined || this.currentBytes >= this.segmentBytes) {
      await this.current?.close();
      const file = path.join(this.dir, `${String(first).padStart(16, '0')}.seg`);
      this.current = await open(file, 'a');
      this.currentBytes = 0;
      this.segments.push({ file, lastSeq: -1, size: 0 });
    }
    try {
      await this.current.write(data);
      await this.current.datasync();
    } catch (error) {
      // Part of the batch may be in the file: never append after it. The next write starts a new segment,
      // and readers stop at this one's last whole frame (its size is not advanced).
      const failed = this.current;
      this.current = undefined;
      await failed.close().catch(() => undefined);
      throw error;
    }
    const segment = this.segments[this.segments.length - 1] as Segment;
    let offset = this.currentBytes;
    for (let i = 0; i < frames.length; i += 1) {
      const place = places[i];
      if (place !== undefined) {
        place.segment = segment;
        place.offset = offset;
      }
      offset += (frames[i] as Buffer).length;
    }
    this.currentBytes += data.length;
    segment.lastSeq = last;
    segment.size = this.currentBytes;
    // a stale committed number only means records sent twice after a crash, so no fsync for it; and no write when
    // it has not moved (a parked topic's oldest record holds it while the other records are written)
    const committed = this.committed();
    if (committed !== this.committedWritten) {
      try {
        await writeFile(path.join(this.dir, COMMITTED), String(committed));
        this.committedWritten = committed;
      } catch {
        // The frames are on disk and readable already: failing their appends now would have them sent again by
        // the MQTT broker while the log still holds them. A stale number is harmless; the next write tries again.
      }
    }
    this.dropAckedSegments(false);
  }

  /** Deletes segments whose every record Kafka has (never the one being written). */
  private dropAckedSegments(all: boolean): void {
    const committed = this.committed();
    const keep: Segment[] = [];
    this.segments.forEach((segment, i) => {
      const writing = !all && i === this.segments.length - 1 && this.current !== undefined;
      if (writing || segment.lastSeq >= committed) keep.push(segment);
      else rmQuietly(segment.file);
    });
    this.segments = keep;
  }
}

/**
 * Reads records back one at a time from where append() put them, in log order (a parked topic's records); one
 * per parked topic. Between a topic's frames lie the other topics' (a templated topic over thousands of Kafka
 * topics, all parked while Kafka was away): reading 256 KB ahead for each would read the log once per topic. So
 * it reads ahead only while most of what it reads is its own: once less than an eighth of a chunk was its
 * topic's, it reads each frame alone, and goes back to chunks when its frames lie close together again.
 */
export class FrameReader {
  private cursor: ReadCursor | undefined;
  /** Reading frame by frame: the topic's frames are sparse in the log. */
  private sparse = false;
  /** Bytes of the current chunk that were this topic's frames. */
  private used = 0;
  /** End offset of the last frame read, to see how far apart the topic's frames lie. */
  private lastEnd = 0;
  /** Bytes read from disk so far (a figure for tests and diagnostics). */
  bytesRead = 0;

  constructor(private readonly dir: string) {}

  /** The record written at `place` (its write has resolved); throws if the frame cannot be read or parsed. */
  read(place: FramePlace): StoredRecord {
    const segment = place.segment as Segment;
    let cursor = this.cursor;
    if (cursor === undefined || cursor.file !== segment.file) {
      this.close();
      cursor = { file: segment.file, fd: openSync(segment.file, 'r'), offset: 0, chunk: Buffer.alloc(0), chunkAt: 0 };
      this.cursor = cursor;
    }
    const from = place.offset - cursor.chunkAt;
    let frame: Buffer;
    if (from >= 0 && from + place.length <= cursor.chunk.length) {
      frame = cursor.chunk.subarray(from + 4, from + place.length);
    } else {
      this.chooseReadAhead(place);
      const want = this.sparse ? place.length : Math.max(place.length, Math.min(READ_CHUNK, segment.size - place.offset));
      cursor.chunk = readExactly(cursor, place.offset, want, place.length, this.dir);
      cursor.chunkAt = place.offset;
      this.bytesRead += cursor.chunk.length;
      this.used = 0;
      frame = cursor.chunk.subarray(4, place.length);
    }
    this.used += place.length;
    this.lastEnd = place.offset + place.length;
    const record = parseFrame(frame);
    if (record === undefined) throw new Error(`disk buffer ${this.dir}: unreadable record in ${segment.file} at offset ${place.offset}`);
    return record;
  }

  close(): void {
    if (this.cursor === undefined) return;
    closeSync(this.cursor.fd);
    this.cursor = undefined;
  }

  /** Before a refill: chunks while the last one was mostly this topic's, single frames while its frames lie far apart. */
  private chooseReadAhead(place: FramePlace): void {
    const chunk = this.cursor?.chunk.length ?? 0;
    if (!this.sparse) {
      if (chunk > place.length && this.used * 8 < chunk) this.sparse = true;
    } else if (place.offset - this.lastEnd < 4 * place.length) {
      this.sparse = false;
    }
  }
}

/** Reads `want` bytes at `offset` (fewer if the file ends first, but at least `need`). */
function readExactly(cursor: ReadCursor, offset: number, want: number, need: number, dir: string): Buffer {
  const chunk = Buffer.allocUnsafe(want);
  let got = 0;
  while (got < want) {
    const n = readSync(cursor.fd, chunk, got, want - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  if (got < need) throw new Error(`disk buffer ${dir}: ${cursor.file} ends before offset ${offset + need}`);
  return chunk.subarray(0, got);
}

/** `length` bytes at `offset` of the cursor's segment, from the chunk read ahead, refilled as needed. */
function readThrough(cursor: ReadCursor, offset: number, length: number, size: number, dir: string): Buffer {
  const from = offset - cursor.chunkAt;
  if (from < 0 || from + length > cursor.chunk.length) {
    cursor.chunk = readExactly(cursor, offset, Math.min(Math.max(READ_CHUNK, length), size - offset), length, dir);
    cursor.chunkAt = offset;
    return cursor.chunk.subarray(0, length);
  }
  return cursor.chunk.subarray(from, from + length);
}

/** Whether a message has a Buffer where one may be (key, value, header values) and so needs keepBuffers. */
function holdsBuffers(message: KafkaMessage): boolean {
  if (Buffer.isBuffer(message.key) || Buffer.isBuffer(message.value)) return true;
  const headers = message.headers;
  if (headers === undefined) return false;
  for (const name in headers) {
    const entry = headers[name];
    if (Buffer.isBuffer(entry)) return true;
    if (Array.isArray(entry) && entry.some((item) => Buffer.isBuffer(item))) return true;
  }
  return false;
}

/** JSON.stringify calls Buffer#toJSON before a replacer sees the value; `this[key]` is the raw one. */
function keepBuffers(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return Buffer.isBuffer(raw) ? { $b: raw.toString('base64') } : value;
}

/**
 * Buffers are stored as `{ $b: base64 }` where a record may hold bytes: its key, its value, and its header
 * values (alone or in a list). Restored at those places only, never by name: header names are device data
 * (a header named `headers` or `$b` is a header like any other). Frames written before this read the same.
 */
function restoreMessage(message: KafkaMessage): KafkaMessage {
  if (typeof message !== 'object' || message === null) return message;
  if (message.key !== undefined) message.key = restoreBuffer(message.key) as string | Buffer | null;
  message.value = restoreBuffer(message.value) as KafkaMessage['value'];
  const headers = message.headers as Record<string, unknown> | undefined;
  if (typeof headers === 'object' && headers !== null) {
    for (const name of Object.keys(headers)) {
      const entry = headers[name];
      headers[name] = Array.isArray(entry) ? entry.map(restoreBuffer) : restoreBuffer(entry);
    }
  }
  return message;
}

function restoreBuffer(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const encoded = (value as { $b?: unknown }).$b;
    if (typeof encoded === 'string' && Object.keys(value).length === 1) return Buffer.from(encoded, 'base64');
  }
  return value;
}

/** Frames of one segment, and where the last whole one ends; a torn last frame (a crash mid-write) ends the segment. */
function readFrames(data: Buffer): { records: StoredRecord[]; end: number } {
  const records: StoredRecord[] = [];
  let offset = 0;
  while (offset + 4 <= data.length) {
    const length = data.readUInt32BE(offset);
    if (offset + 4 + length > data.length) break;
    const record = parseFrame(data.subarray(offset + 4, offset + 4 + length));
    if (record === undefined) break;
    records.push(record);
    offset += 4 + length;
  }
  return { records, end: offset };
}

function parseFrame(frame: Buffer): StoredRecord | undefined {
  try {
    const parsed = JSON.parse(frame.toString('utf8')) as { s: number; t: string; b: number; m: KafkaMessage };
    return { seq: parsed.s, topic: parsed.t, bytes: parsed.b, message: restoreMessage(parsed.m) };
  } catch {
    return undefined;
  }
}


function rmQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone (an empty segment listed twice after a crash)
  }
}

interface Shared {
  readonly buffer: DiskBuffer;
  users: number;
}

/** Disk buffers open in this process, by directory. */
const shared = new Map<string, Shared>();

/**
 * Opens the disk buffer of a directory, or shares the one already open. A config change replaces an action
 * by a new one with the same id before the old one has drained; both must append to one log (two logs on
 * one directory would number records twice). Only the first user gets the leftovers of an earlier run.
 * `release()` closes the log when its last user is done.
 */
export function openDiskBuffer(dir: string, segmentBytes: number): { buffer: DiskBuffer; leftover: StoredRecord[]; release: () => Promise<void> } {
  const key = path.resolve(dir);
  let entry = shared.get(key);
  let leftover: StoredRecord[] = [];
  if (entry === undefined) {
    const buffer = new DiskBuffer(key, segmentBytes);
    leftover = buffer.open();
    entry = { buffer, users: 0 };
    shared.set(key, entry);
  }
  entry.users += 1;
  const current = entry;
  let released = false;
  return {
    buffer: current.buffer,
    leftover,
    release: async () => {
      if (released) return;
      released = true;
      current.users -= 1;
      if (current.users > 0) return;
      shared.delete(key);
      await current.buffer.close();
    },
  };
}

import { DROPPED, type DropReason, IntegrationError, isDropped, type SendResult, ActionWriteError, type ActionRef } from '@sluice/core';
import type { DiskBuffer, SpillState, StoredRecord } from './disk-buffer';
import { type ParkedQueue, type ParkedRecord, type ParkedTopics, parkedTopicsOf } from './parked-topics';
import type { HandedOver, RecordBatcher } from './record-batcher';
import { heldFromDisk, type RenderedRecord } from './record-renderer';

type RenderedMessage = RenderedRecord['message'];

export interface HybridBufferOptions {
  /** Named in errors. */
  /** The connector and action the buffer belongs to, for the errors it raises. */
  readonly where: ActionRef;
  /** Bytes (estimated, as the batcher counts them) the records spilled or parked on disk may take. */
  readonly diskLimit: number;
  /** When the disk part is full too: hold the send (back-pressure) or drop the new record. */
  readonly overflow: 'backpressure' | 'drop_newest';
  /** A record dropped after its send resolved (it was on disk, acknowledged to MQTT), e.g. expired. */
  readonly droppedLater: (reason: DropReason) => void;
  /** A record on disk (already acknowledged to MQTT) lost: Kafka refused it for good, or it is damaged. */
  readonly lost: (error: Error) => void;
  /** The Kafka message of a record read back from disk (the partition picker is not stored with it). */
  readonly restore: (stored: StoredRecord) => RenderedMessage;
  /** A parked record older than this (ms since parked) is dropped (`expired`), read back or not; Infinity: never. */
  readonly maxBatchAge: number;
}

/** Parked records one topic reads back per pump before the others and the event loop get a turn. */
const PARKED_READ_TURN = 512;

interface HeldSend {
  readonly record: RenderedRecord;
  readonly resolve: (result?: SendResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The `hybrid` buffer: memory while Kafka keeps up, disk when it does not. While a record's topic answers,
 * nothing is spilled and the batcher has room, the record goes straight to the batcher and its send resolves
 * when Kafka acknowledges it (as in memory mode). A topic that Kafka fails (a partition backs off) or says
 * it does not have is *blocked*: what the batcher holds of it is written to the disk log as well (handOver;
 * those records are still sent from memory, and tell when the topic answers again), and its new records are
 * *parked*: written to the log only, their sends resolving once on disk (the MQTT message is acknowledged
 * then), so one topic's outage neither stops intake nor holds back the other topics, whose messages are
 * acknowledged in the same order, nor fills memory. Once the topic can go again, its parked records are read
 * back one by one from where they were written (ParkedTopics), its new records parked behind them until then.
 * Once memory is full, records *spill*: they are only appended to the log, everything memory holds is written
 * too, and they go back into memory, oldest first, as the batcher frees room, read from disk rather than kept
 * in memory. Order is kept: a topic's records are in memory, parked or spilled in the order they came, and
 * while anything has spilled, new records queue behind it there, a parked topic's too: parking from send()
 * begins only while nothing has spilled, and the log's reader parks a spilled record of a blocked or parked
 * topic (or of one whose partitions are not known yet) where it lies, behind the topic's parked records.
 */
export class HybridBuffer {
  private readonly held: HeldSend[] = [];
  private pumpScheduled = false;
  private readonly spill: SpillState;
  private readonly parked: ParkedTopics;
  private readonly pumpNow = (): void => this.pump();
  /** Takes this buffer off the log's parked records (their once-a-second check calls the newest open buffer). */
  private readonly leaveParked: () => void;
  private readonly persistNow = (record: RenderedRecord): HandedOver => this.persist(record);

  constructor(
    private readonly batcher: RecordBatcher,
    private readonly disk: DiskBuffer,
    private readonly options: HybridBufferOptions,
    /** Records an earlier run left on disk (given to the log's first user only): read back first. */
    leftover: readonly StoredRecord[],
  ) {
    this.spill = disk.spill;
    this.parked = parkedTopicsOf(disk);
    for (const stored of leftover) {
      this.spill.records += 1;
      this.spill.bytes += stored.bytes;
    }
    this.leaveParked = this.parked.open(this.pumpNow);
  }

  send(record: RenderedRecord): Promise<SendResult> {
    if (this.spill.records === 0 && this.held.length === 0) {
      // A record of a blocked topic (a partition failing, the topic missing) is parked: written to disk only,
      // its send resolving once written. Held in memory, its MQTT message would hold back the acknowledgements
      // of every message after it, the other topics' too (they go out in order); kept in memory as well, an
      // outage of one topic of three cost the others a third of their throughput (garbage collection of
      // hundreds of thousands of waiting records). Other topics stay in memory. A topic with records parked
      // parks the next ones behind them, blocked or not, until they are all back.
      if (this.parksTopic(record.topic)) {
        if (this.diskHasRoomFor(record.bytes)) return this.park(record);
      } else if (this.batcher.hasRoomFor(record.held)) return this.batcher.add(record);
    }
    // While records have spilled, every record spills behind them, a parked topic's too: the reader parks it
    // again when it gets there (pump), so each topic's records keep the order of the log
    if (this.held.length === 0 && this.diskHasRoomFor(record.bytes)) return this.toDisk(record);
    return this.hold(record);
  }

  /** Whether a record of the topic is to be parked rather than held in memory: the topic is blocked, or has records parked. */
  private parksTopic(topic: string): boolean {
    return this.parked.queueOf(topic) !== undefined || this.batcher.blocked(topic);
  }

  private hold(record: RenderedRecord): Promise<SendResult> {
    if (this.options.overflow === 'drop_newest') return Promise.resolve(DROPPED.queue_full);
    return new Promise<SendResult>((resolve, reject) => this.held.push({ record, resolve, reject }));
  }

  /** Records on disk waiting to go back into memory (spilled or parked), and sends waiting for room on disk. */
  queued(): number {
    return this.spill.records + this.parked.records + this.held.length;
  }

  /** Estimated bytes of the records on disk waiting to go back into memory. */
  queuedBytes(): number {
    return this.spill.bytes + this.parked.bytes;
  }

  /**
   * The topic's records cannot go for now (a partition of it backs off, or Kafka has no such topic): what
   * memory holds of it is written to disk now, and its new records are parked as they come (send()) until it
   * answers again and they are read back. Waiting for memory to fill would not do: the source's window of
   * unacknowledged messages (e.g. 20) is far smaller than the buffer, so intake would stop first, for every topic.
   */
  onBlocked(topic: string): void {
    this.batcher.handOver(this.persistNow, topic);
    // a record of it the log's reader is waiting with for room, and those behind it, are to be parked now
    if (this.spill.records > 0) this.schedulePump();
  }

  /**
   * Writes what the batcher holds to disk as well: MQTT acknowledges in order, so a message waiting for
   * Kafka at the head would hold back the acknowledgements of every message behind it.
   */
  private handOverMemory(): void {
    this.batcher.handOver(this.persistNow);
  }

  /**
   * Moves records from disk into the batcher soon; called when the batcher may have room, after a write, and
   * when a topic that was blocked can go again (its parked records are read back).
   */
  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // the batcher calls onRoom from inside its own flush: run after it, never re-entering it
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Rejects the sends still waiting for room on disk (retriable: the MQTT broker keeps those messages). */
  close(): void {
    const closing = new ActionWriteError(this.options.where, 'the Kafka action closed before the record was buffered', { retriable: true });
    for (const send of this.held.splice(0)) send.reject(closing);
    this.leaveParked();
    this.parked.closeReaders();
  }

  private diskHasRoomFor(bytes: number): boolean {
    // a record larger than the whole limit still goes when nothing is on disk, or it could never go
    const onDisk = this.spill.bytes + this.parked.bytes;
    return onDisk === 0 || onDisk + bytes <= this.options.diskLimit;
  }

  /**
   * Writes a record of a blocked topic to the log only; its send resolves once written. It is read back by
   * itself (readParked) once the topic can go again, the topic's later records parked behind it until then.
   */
  private park(record: RenderedRecord): Promise<void> {
    const parked: ParkedRecord = { seq: 0, bytes: record.bytes, parkedAt: Date.now(), segment: undefined, offset: 0, length: 0, unstored: false };
    // only while nothing has spilled (send, admitHeld): a spill that begins later skips its reader past it
    const { seq, written } = this.disk.append(record.topic, record.bytes, record.message, parked);
    parked.seq = seq;
    this.parked.add(record.topic, parked);
    return written.then(() => this.schedulePump(), (error: Error) => {
      // never stored: the MQTT broker keeps the message (retriable)
      this.parked.unstored(parked);
      this.disk.ack(seq);
      throw new ActionWriteError(this.options.where, `could not write the disk buffer: ${error.message}`, { retriable: true, cause: error });
    });
  }

  private toDisk(record: RenderedRecord): Promise<void> {
    if (this.spill.records === 0) {
      // A spill begins: what memory holds is written too (its MQTT messages would hold back the acknowledgements
      // behind them); everything written before it is acknowledged, held in memory or parked: none is to be read
      // back by the log's reader
      this.handOverMemory();
      this.disk.skipReaderToEnd();
      this.spill.inMemory.clear();
    }
    this.spill.records += 1;
    this.spill.bytes += record.bytes;
    const { seq, written } = this.disk.append(record.topic, record.bytes, record.message);
    return written.then(() => this.schedulePump(), (error: Error) => {
      // never stored: the MQTT broker keeps the message (retriable); the log must not wait for this number
      this.disk.ack(seq);
      this.leftSpill(record.bytes);
      throw new ActionWriteError(this.options.where, `could not write the disk buffer: ${error.message}`, { retriable: true, cause: error });
    });
  }

  /** Writes a record the batcher holds to the log; its send resolves once written, Kafka's outcome acks it there. */
  private persist(record: RenderedRecord): HandedOver {
    const { seq, written } = this.disk.append(record.topic, record.bytes, record.message);
    // The reader must pass over it (it is in memory) only while a spill is read back; a spill that begins later
    // skips the reader past it (toDisk), so a topic blocked for hours does not fill this set while nothing spills.
    const reading = this.spill.records > 0;
    if (reading) this.spill.inMemory.add(seq);
    return {
      written: written.catch((error: Error) => {
        // the record stays in memory and is still sent; only its early acknowledgement is off
        this.disk.ack(seq);
        if (reading) this.spill.inMemory.delete(seq);
        throw new ActionWriteError(this.options.where, `could not write the disk buffer: ${error.message}`, { retriable: true, cause: error });
      }),
      settled: (outcome) => {
        if (outcome instanceof Error) {
          this.settleFailed(seq, outcome);
          return;
        }
        this.disk.ack(seq);
        if (isDropped(outcome)) this.options.droppedLater(outcome.dropped);
      },
    };
  }

  /**
   * One record is no longer spilled (read back, skipped as unreadable, or never written). An unreadable frame's
   * size is unknown (0 is taken off): its bytes stay counted until nothing is left spilled, then none are.
   */
  private leftSpill(bytes: number): void {
    this.spill.records -= 1;
    this.spill.bytes = this.spill.records === 0 ? 0 : this.spill.bytes - bytes;
  }

  private pump(): void {
    // Records read back wait in memory like any other, bounded by the memory limit. Those of a blocked or parked
    // topic are parked where they lie instead (the records an earlier run left included): they would fill memory
    // while the others wait behind them in the log.
    let unreadable = 0;
    let parkedNow = 0;
    while (this.spill.records > 0) {
      try {
        this.spill.next ??= this.disk.readNext();
      } catch (error) {
        // a damaged segment (a disk error, a hand-edited file): say so, count it lost, go on after it;
        // never let it escape from this microtask, which would end the process
        this.options.lost(error as Error);
        if ((error as { frameSkipped?: boolean }).frameSkipped === true) this.leftSpill(0); // its size unknown
        else this.disk.skipRestOfSegment(); // a bad length: nothing after it in this segment can be trusted
        if (++unreadable >= 3) break;
        continue;
      }
      const stored = this.spill.next;
      if (stored === undefined) break;
      if (this.spill.inMemory.delete(stored.seq)) {
        this.spill.next = undefined; // handed over: the batcher has it already
        continue;
      }
      // Also parked: a record whose topic's partitions are not known yet (its first lookup; after a restart, every
      // topic's). Taken into memory, one still missing (the lookup had not said so yet) would fill it, and the
      // others would wait in the log behind it.
      const parks = this.parksTopic(stored.topic) || this.batcher.awaitsPartitions(stored.topic);
      if (!parks && !this.batcher.hasRoomFor(heldFromDisk(stored.bytes))) break;
      if (parks && parkedNow === PARKED_READ_TURN) {
        setImmediate(this.pumpNow); // a long backlog of parked topics: the event loop gets its turn
        break;
      }
      this.spill.next = undefined;
      this.leftSpill(stored.bytes);
      if (parks) {
        parkedNow += 1;
        this.parked.add(stored.topic, { ...this.disk.placeOfLastRead(), seq: stored.seq, bytes: stored.bytes, parkedAt: Date.now(), unstored: false });
        continue;
      }
      this.batcher.add({ topic: stored.topic, bytes: stored.bytes, held: heldFromDisk(stored.bytes), message: this.options.restore(stored) }, undefined, true).then(
        (result) => {
          this.disk.ack(stored.seq);
          if (isDropped(result)) this.options.droppedLater(result.dropped);
        },
        (error: Error) => this.settleFailed(stored.seq, error),
      );
    }
    this.readParked();
    this.admitHeld();
  }

  /**
   * Reads back the parked records of the topics that can go again, oldest first, while the batcher has room;
   * a topic whose queue empties takes the usual way again. Bounded per turn: a long outage leaves hundreds of
   * thousands parked, and reading them in one go would hold up the event loop (acknowledgements, intake).
   */
  private readParked(): void {
    this.expireParked();
    for (const [topic, queue] of this.parked.entries()) {
      if (this.batcher.blocked(topic) || this.batcher.awaitsPartitions(topic)) {
        queue.reader.close(); // many topics blocked again part-way through must not each hold a file and a chunk
        continue;
      }
      const more = this.readParkedOf(topic, queue);
      if (more === 'full') return;
      if (more === 'turn') {
        setImmediate(this.pumpNow);
        return;
      }
      if (queue.records.length === 0) this.parked.drop(topic, queue);
    }
  }

  /**
   * Drops, from the head of every topic's queue, the parked records older than maxBatchAge (`expired`), whether
   * the topic can go or not. Checked only at read-back, a topic that never comes back (a typo in a templated
   * topic) would keep all its records until they filled diskLimit, and `backpressure` would then hold every
   * other topic's sends too. Runs at every pump, and the log's check runs one once a second.
   */
  private expireParked(): void {
    const maxAge = this.options.maxBatchAge;
    if (maxAge === Number.POSITIVE_INFINITY) return;
    const parkedBefore = Date.now() - maxAge;
    for (const [topic, queue] of this.parked.entries()) {
      for (;;) {
        const parked = queue.records.peek();
        // not yet written (its place unknown) or young enough: those behind it are younger still
        if (parked === undefined || (!parked.unstored && (parked.segment === undefined || parked.parkedAt >= parkedBefore))) break;
        this.parked.taken(queue);
        if (parked.unstored) continue;
        this.disk.ack(parked.seq);
        this.options.droppedLater('expired');
      }
      if (queue.records.length === 0) this.parked.drop(topic, queue);
    }
  }

  /** 'full': the batcher has no room; 'turn': this turn's share is read; 'waiting': the rest is read or not yet written. */
  private readParkedOf(topic: string, queue: ParkedQueue): 'full' | 'turn' | 'waiting' {
    for (let read = 0; ; read += 1) {
      const parked = queue.records.peek();
      if (parked === undefined) return 'waiting';
      if (parked.unstored) {
        this.parked.taken(queue);
        continue;
      }
      if (parked.segment === undefined) return 'waiting'; // not written yet: the write calls schedulePump when it is
      if (!this.batcher.hasRoomFor(heldFromDisk(parked.bytes))) return 'full';
      if (read === PARKED_READ_TURN) return 'turn';
      this.parked.taken(queue);
      let stored: StoredRecord;
      try {
        stored = queue.reader.read(parked);
        if (stored.seq !== parked.seq) throw new Error(`disk buffer ${this.disk.dir}: record ${parked.seq} is not where it was written (found ${stored.seq})`);
      } catch (error) {
        // damaged on disk (a disk error, a hand-edited file): said and counted lost; the next ones may read
        this.disk.ack(parked.seq);
        this.options.lost(error as Error);
        continue;
      }
      this.batcher.add({ topic, bytes: stored.bytes, held: heldFromDisk(stored.bytes), message: this.options.restore(stored) }, undefined, true).then(
        (result) => {
          this.disk.ack(parked.seq);
          if (isDropped(result)) this.options.droppedLater(result.dropped);
        },
        (error: Error) => this.settleFailed(parked.seq, error),
      );
    }
  }

  private admitHeld(): void {
    while (this.held.length > 0 && this.diskHasRoomFor((this.held[0] as HeldSend).record.bytes)) {
      const send = this.held.shift() as HeldSend;
      const record = send.record;
      // as send() would: parked while nothing has spilled, else spilled (a held send can come while nothing has
      // spilled when the log is full of parked records: that begins a spill)
      (this.spill.records === 0 && this.parksTopic(record.topic) ? this.park(record) : this.toDisk(record)).then(send.resolve, send.reject);
    }
  }

  /** A retriable failure (the action closing) leaves the record on disk for the next start. */
  private settleFailed(seq: number, error: Error): void {
    if (IntegrationError.is(error) && error.retriable) return;
    this.disk.ack(seq);
    this.options.lost(error);
  }
}

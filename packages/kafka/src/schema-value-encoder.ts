import { type ActionRef, type DropReason, type RuleOutput, ActionWriteError, quoteExcerpt } from '@sluice/core';
import type { OverflowPolicy } from './record-batcher';
import { SchemaRegistryError, type SchemaRegistryClient } from './schema-registry-client';
import { compileCodec, SchemaMismatch, type ValueCodec } from './value-codecs';

export interface SchemaValueEncoderOptions {
  readonly schemaType: ValueCodec['schemaType'];
  /** Compiled from the action's `valueSchema.schema`; undefined: the subject's latest version is used. */
  readonly codec: ValueCodec | undefined;
  /** A fixed subject; undefined: TopicNameStrategy, `<topic>-value`. */
  readonly subject: string | undefined;
  /** Pause between registry attempts while it cannot be reached: doubles from `initial` up to `max`. */
  readonly backoff: { readonly initial: number; readonly max: number };
}

/** A subject that cannot be resolved for good is asked about again after this long (the operator may fix it). */
const REFUSAL_MEMORY_MS = 10_000;
/** Subjects one action keeps; a templated topic could otherwise grow the map with every new topic. */
export const MAX_SUBJECTS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Thrown by encode() while the schema id of a subject is being fetched: the send waits for `ready`. */
export class SubjectPending {
  constructor(readonly ready: Promise<void>) {}
}

interface SubjectState {
  id?: number;
  codec?: ValueCodec;
  /** The running resolution, while there is one. */
  pending?: Promise<void> | undefined;
  /** A refusal for good (unknown subject, incompatible schema): records fail with it until `until`. */
  refused?: { readonly error: ActionWriteError; readonly until: number } | undefined;
}

/**
 * Encodes rule outputs in the Confluent wire format with a schema from (or registered in) a schema registry.
 * A subject's id is resolved once and cached; until then records wait (encode() throws SubjectPending) while
 * the registry is retried with back-off, as records wait for Kafka in an outage. An output that does not fit
 * the schema, or a registry that refuses the subject, fails the record (not retriable: it goes to fallbacks).
 */
export class SchemaValueEncoder {
  private readonly subjects = new Map<string, SubjectState>();
  private readonly closing = new AbortController();
  /** Why the registry could not be used on the last attempt, while some subject still waits for it. */
  private trouble: string | undefined;
  private waitingSends = 0;

  constructor(
    private readonly where: ActionRef,
    private readonly client: SchemaRegistryClient,
    private readonly options: SchemaValueEncoderOptions,
  ) {}

  /** The last topic's subject: a fixed topic never builds its `<topic>-value` string again. */
  private lastTopic = '';
  private lastSubject = '';

  /** The subject of a record for `topic`. */
  subjectFor(topic: string): string {
    if (this.options.subject !== undefined) return this.options.subject;
    if (topic !== this.lastTopic || this.lastSubject === '') {
      this.lastTopic = topic;
      this.lastSubject = `${topic}-value`;
    }
    return this.lastSubject;
  }

  /** The framed value; throws SubjectPending (wait, then call again) or ActionWriteError (not retriable). */
  encode(output: RuleOutput, topic: string): Buffer {
    const subject = this.subjectFor(topic);
    const state = this.subjects.get(subject);
    if (state !== undefined && state.id !== undefined && state.codec !== undefined) {
      try {
        return state.codec.encode(output, state.id);
      } catch (error) {
        throw this.mismatch(error, subject);
      }
    }
    if (state?.refused !== undefined && Date.now() < state.refused.until) throw state.refused.error;
    return this.wait(subject, state);
  }

  /** Starts resolving `topic`'s subject now (at connector start, for a topic that is not templated). */
  prepare(topic: string): void {
    const subject = this.subjectFor(topic);
    const state = this.subjects.get(subject);
    if (state?.id !== undefined || state?.pending !== undefined) return;
    try {
      this.wait(subject, state);
    } catch (error) {
      if (error instanceof SubjectPending) error.ready.catch(() => {}); // its outcome is kept in the state
    }
  }

  /** Why records are waiting for the registry, or undefined when none is. */
  get problem(): string | undefined {
    return this.waitingSends > 0 || this.hasPending() ? this.trouble : undefined;
  }

  /** Sends waiting for a subject's schema id (the action adds them to its `queuing`). */
  get waiting(): number {
    return this.waitingSends;
  }

  /** Counts a send waiting for `ready`, for `queuing` and the status. */
  track<T>(ready: Promise<T>): Promise<T> {
    this.waitingSends++;
    const done = (): void => {
      this.waitingSends--;
    };
    ready.then(done, done);
    return ready;
  }

  /** Waiting sends fail as retriable (their messages stay with the MQTT broker). */
  close(): void {
    this.closing.abort();
  }

  private hasPending(): boolean {
    for (const state of this.subjects.values()) if (state.pending !== undefined) return true;
    return false;
  }

  private wait(subject: string, known: SubjectState | undefined): never {
    let state = known;
    if (state === undefined) {
      if (this.subjects.size >= MAX_SUBJECTS) {
        throw new ActionWriteError(this.where,
          `subject ${quoteExcerpt(subject)} would be this action's ${MAX_SUBJECTS + 1}th schema-registry subject (a templated topic makes one per topic); the record is not sent`,
          { retriable: false });
      }
      state = {};
      this.subjects.set(subject, state);
    }
    if (this.closing.signal.aborted) throw this.closedError();
    state.refused = undefined;
    state.pending ??= this.resolve(subject, state);
    throw new SubjectPending(state.pending);
  }

  /** Asks the registry until it answers; a refusal for good is kept for REFUSAL_MEMORY_MS. */
  private async resolve(subject: string, state: SubjectState): Promise<void> {
    let pause = this.options.backoff.initial;
    try {
      for (;;) {
        if (this.closing.signal.aborted) throw this.closedError();
        try {
          const codec = this.options.codec;
          if (codec !== undefined) {
            state.id = await this.client.register(subject, codec.text, codec.schemaType);
            state.codec = codec;
          } else {
            const latest = await this.client.latest(subject);
            state.codec = this.codecOf(latest.schemaType, latest.schema, subject);
            state.id = latest.id;
          }
          this.trouble = undefined;
          return;
        } catch (error) {
          if (error instanceof SchemaRegistryError && error.retriable) {
            this.trouble = `${error.message}; records for subject ${quoteExcerpt(subject)} wait, retried every ${Math.round(pause / 1000)} s at most`;
            await sleep(Math.min(pause, this.options.backoff.max), this.closing.signal);
            pause = Math.min(pause * 2, this.options.backoff.max);
            continue;
          }
          const refusal = error instanceof ActionWriteError
            ? error
            : new ActionWriteError(this.where, `${(error as Error).message}; the record is not sent (asked again after ${REFUSAL_MEMORY_MS / 1000} s)`, { retriable: false, cause: error });
          state.refused = { error: refusal, until: Date.now() + REFUSAL_MEMORY_MS };
          this.trouble = undefined;
          throw refusal;
        }
      }
    } finally {
      state.pending = undefined;
    }
  }

  private codecOf(schemaType: string, text: string, subject: string): ValueCodec {
    if (schemaType !== this.options.schemaType) {
      throw new ActionWriteError(this.where,
        `the latest schema of subject ${quoteExcerpt(subject)} in ${this.client.url} is ${schemaType}, but valueSchema.type asks for ${this.options.schemaType}; the record is not sent`,
        { retriable: false });
    }
    try {
      return compileCodec(this.options.schemaType, text);
    } catch (error) {
      throw new ActionWriteError(this.where,
        `the latest schema of subject ${quoteExcerpt(subject)} in ${this.client.url} cannot be compiled: ${(error as Error).message}; the record is not sent`,
        { retriable: false, cause: error });
    }
  }

  private mismatch(error: unknown, subject: string): ActionWriteError {
    const what = error instanceof SchemaMismatch
      ? (error.path === '' ? error.problem : `field ${quoteExcerpt(error.path)}: ${error.problem}`)
      : (error as Error).message;
    return new ActionWriteError(this.where,
      `the rule output does not fit the ${this.options.schemaType === 'AVRO' ? 'Avro' : 'JSON'} schema of subject ${quoteExcerpt(subject)}: ${what}; the record is not sent`,
      { retriable: false, cause: error });
  }

  private closedError(): ActionWriteError {
    return new ActionWriteError(this.where, 'the action closed while its records waited for the schema registry; the messages stay with the broker', { retriable: true });
  }
}

/** The action's buffer settings, which bound the records waiting for a schema id as they bound its batcher. */
export interface SchemaWaitLimits {
  /** `buffer.limit`: bytes of the waiting records plus those in the action's batcher. */
  readonly bufferLimit: number;
  /** `buffer.overflow` when the limit is reached. */
  readonly overflow: OverflowPolicy;
  /** `buffer.maxBatchAge`: a record waiting longer than this since it arrived is dropped `expired`. */
  readonly maxBatchAge: number;
  /** Bytes the action's batcher holds (accepted, not yet acknowledged). */
  readonly bufferedBytes: () => number;
  /** Milliseconds clock; tests pass their own. */
  readonly now?: () => number;
}

interface Waiter {
  readonly bytes: number;
  readonly admittedAt: number;
  readonly resolve: (dropped: DropReason | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Records whose subject's schema id is being fetched (the registry may be away for long). They are not in
 * the batcher yet (they cannot be encoded), so they are bounded here by the same settings: their bytes
 * count with the batcher's against `buffer.limit`, past which `drop_newest` drops the new record and
 * `drop_oldest` the oldest waiting ones (`queue_full`); `backpressure` keeps it waiting, its message
 * unacknowledged, as the batcher holds a send back. A record waiting longer than `maxBatchAge` since it
 * arrived is dropped `expired`, during the outage (a timer on the oldest) and when the id comes.
 */
export class SchemaWaitQueue {
  /** In arrival order (a Set keeps insertion order and removes any member at once). */
  private readonly waiters = new Set<Waiter>();
  private waitingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly now: () => number;

  constructor(private readonly limits: SchemaWaitLimits) {
    this.now = limits.now ?? Date.now;
  }

  /** Records waiting. */
  get size(): number {
    return this.waiters.size;
  }

  /** Estimated bytes of the records waiting. */
  get bytes(): number {
    return this.waitingBytes;
  }

  /**
   * Holds a record of `bytes` until `ready` settles: resolves undefined (send it now), or the reason it was
   * dropped; rejects with `ready`'s error. `admittedAt`: when it first arrived, for a record waiting again.
   */
  hold(bytes: number, ready: Promise<void>, admittedAt: number): Promise<DropReason | undefined> {
    if (this.expired(admittedAt)) return Promise.resolve('expired');
    if (!this.fits(bytes)) {
      if (this.limits.overflow === 'drop_newest') return Promise.resolve('queue_full');
      if (this.limits.overflow === 'drop_oldest') {
        this.dropOldestFor(bytes);
        if (!this.fits(bytes)) return Promise.resolve('queue_full');
      }
    }
    return new Promise<DropReason | undefined>((resolve, reject) => {
      const waiter: Waiter = { bytes, admittedAt, resolve, reject };
      this.waiters.add(waiter);
      this.waitingBytes += bytes;
      this.scheduleExpiry();
      ready.then(() => {
        if (this.remove(waiter)) resolve(this.expired(admittedAt) ? 'expired' : undefined);
      }, (error: unknown) => {
        if (this.remove(waiter)) reject(error);
      });
    });
  }

  /** Stops the expiry timer (the waiting records settle as their `ready` fails with the closing encoder). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expired(admittedAt: number): boolean {
    return this.now() - admittedAt > this.limits.maxBatchAge;
  }

  private fits(bytes: number): boolean {
    // as the batcher: a record larger than the whole limit still waits when nothing else does
    const held = this.waitingBytes + this.limits.bufferedBytes();
    return held === 0 || held + bytes <= this.limits.bufferLimit;
  }

  private remove(waiter: Waiter): boolean {
    if (!this.waiters.delete(waiter)) return false; // dropped already
    this.waitingBytes -= waiter.bytes;
    if (this.waiters.size === 0) this.close();
    return true;
  }

  private dropOldestFor(bytes: number): void {
    for (const waiter of this.waiters) {
      if (this.fits(bytes)) return;
      this.remove(waiter);
      waiter.resolve('queue_full');
    }
  }

  /** One timer, for the oldest waiting record's expiry; re-armed for the next oldest when it fires. */
  private scheduleExpiry(): void {
    if (this.timer !== undefined || this.limits.maxBatchAge === Number.POSITIVE_INFINITY) return;
    const oldest = this.waiters.values().next().value;
    if (oldest === undefined) return;
    // capped: setTimeout fires at once for a delay past 2^31-1 ms (a maxBatchAge of weeks), then re-armed
    const due = Math.min(MAX_TIMER_MS, Math.max(0, oldest.admittedAt + this.limits.maxBatchAge + 1 - this.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const waiter of this.waiters) {
        if (!this.expired(waiter.admittedAt)) break;
        this.remove(waiter);
        waiter.resolve('expired');
      }
      this.scheduleExpiry();
    }, due);
    this.timer.unref();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(); // closed while the last attempt ran: an abort listener added now would never fire
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

import type { Logger } from '@sluice/core';
import type { PartitionMetadata } from 'kafkajs';
import { classifyKafkaError } from './kafka-errors';
import type { TopicDirectory } from './topic-directory';

/** One topic's answer in a metadata response. */
export interface TopicMetadata {
  readonly name: string;
  readonly partitions: readonly PartitionMetadata[];
}

/** Where the directory reads the cluster's metadata: a kafkajs admin client (kafka-metadata-source.ts), a fake in specs. */
export interface MetadataSource {
  /**
   * One Metadata request for these topics. Rejects as kafkajs does: with the first topic or partition error code
   * of the answer (a KafkaJSProtocolError with its `type`, so one unknown topic fails the whole request), or with
   * a connection failure.
   */
  fetch(topics: readonly string[]): Promise<readonly TopicMetadata[]>;
  /** Lets Kafka create the topic the way a produce to it would (allowAutoTopicCreation): the broker's policy and defaults apply. */
  create(topic: string): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaTopicDirectoryOptions {
  /** `partitionCountRefreshInterval`: known topics in use are fetched again this often (ms). */
  readonly refreshInterval: number;
  readonly allowAutoTopicCreation: boolean;
  readonly logger: Logger;
  /** The probe's period while a topic is suspect, missing or unanswered (ms). */
  readonly probeInterval?: number;
  /** Topics remembered at most (see MAX_TOPICS). */
  readonly maxTopics?: number;
}

/** Issue #11's resume goal (< 2 s after the broker is back) is met by asking every 500 ms while something waits. */
export const PROBE_INTERVAL = 500;
/**
 * Topics remembered at most. A templated topic fed hostile values would otherwise grow the map without end;
 * 10,000 entries of at most 249-character names are a few MB. Past it, topics not asked about since the last
 * probe are forgotten first; if every one is in use, a new topic is not looked up (its problem() says why).
 */
export const MAX_TOPICS = 10_000;
/** A missing or unanswered topic nobody asked about for this many probe periods (60 s) is forgotten. */
const UNKNOWN_IDLE_TICKS = 120;
/**
 * A known topic nobody asked about for this many probe periods (10 min) is forgotten, with onChange: a pipeline
 * that caches its partitions reads them again, and a topic still in use is learned anew in one request.
 */
const KNOWN_IDLE_TICKS = 1_200;
/** Full sweeps for idle topics run every this many probe periods (10 s): O(topics) each. */
const SWEEP_TICKS = 20;
/**
 * Requests of one round at most. A request naming a missing topic fails whole (kafkajs throws the first topic
 * error of the answer), so a failed request is split in halves until each topic has its own answer; topics left
 * when the budget is spent wait for the next round. Topics already known missing are asked about alone, the
 * least recently checked first, up to MISSING_PER_ROUND a round: a few missing topics (an operator's typo) are
 * each checked every probe; hundreds (hostile values) are checked in turn without flooding Kafka.
 */
const MAX_REQUESTS_PER_ROUND = 16;
const MISSING_PER_ROUND = 8;
/** Topics named in one request at most (the rest go in the next round, at once). */
const MAX_TOPICS_PER_REQUEST = 500;
/** With allowAutoTopicCreation, a topic Kafka did not create is asked to be created again after this many probe periods (10 s). */
const CREATE_RETRY_TICKS = 20;

/** How problem() begins when Kafka did not answer about the topic (not a problem of the topic itself). */
export const UNANSWERED = 'Kafka did not answer a metadata request';

/** Kafka's own rule for topic names (kafka.common.Topic): a name breaking it can never exist. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Why a topic name can never exist in Kafka, or undefined when it can. Topics are operator or payload text: checked before anything is remembered. */
export function invalidTopicName(topic: string): string | undefined {
  if (topic.length <= 249 && TOPIC_NAME.test(topic) && topic !== '.' && topic !== '..') return undefined;
  return `${quoteTopic(topic)} is not a valid Kafka topic name (letters, digits, ".", "_", "-"; at most 249 characters)`;
}

/** A topic name for a message: JSON-quoted (control characters escaped) and cut to 100 characters. */
export function quoteTopic(topic: string): string {
  return JSON.stringify(topic.length > 100 ? `${topic.slice(0, 100)}…` : topic);
}

type Problem =
  | { readonly kind: 'missing' }
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'unreachable'; readonly reason: string }
  | { readonly kind: 'full' };

interface TopicEntry {
  partitions: readonly PartitionMetadata[] | undefined;
  problem: Problem | undefined;
  watchers: number;
  /** Wants a fetch in the next round. */
  due: boolean;
  /** A produce failed for it: asked about every probe until Kafka answers, then onChange. */
  suspect: boolean;
  /** Probe period of the last partitions()/suspect()/watch() for it. */
  seen: number;
  /** Probe period of the last answer (or failure) about it: orders the missing topics' turns. */
  checked: number;
  /** Probe period of the last creation attempt (allowAutoTopicCreation). */
  createTried: number;
  /** Was in a request that failed on some topic's error and has no answer of its own yet: asked about alone next. */
  isolate: boolean;
}

const NEVER = -1_000_000;

/**
 * The connector's metadata cache: topic → partitions, for the pipeline to choose a record's partition when it is
 * admitted. Lookups are a Map read; unknown topics are fetched in one request per turn of the event loop (every
 * topic asked about meanwhile joins it); a probe every 500 ms asks again about topics that are suspect, missing
 * or unanswered, and onChange tells the pipeline when one answers, so records waiting for a topic or a leader
 * move as soon as Kafka is back rather than after a back-off.
 */
export class KafkaTopicDirectory implements TopicDirectory {
  private readonly entries = new Map<string, TopicEntry>();
  private readonly listeners = new Set<(topic: string) => void>();
  private readonly vanishedListeners = new Set<(topic: string) => void>();
  private readonly probeInterval: number;
  private readonly refreshTicks: number;
  private readonly maxTopics: number;
  /** Probe periods since start: a coarse clock the hot path can read without calling Date.now. */
  private epoch = 0;
  private lastRefresh = 0;
  private pressureSwept = NEVER;
  private singlesEpoch = NEVER;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  /** Something became due while a round ran: run another when it ends. */
  private again = false;
  private scheduled = false;
  private started = false;
  private closed = false;

  constructor(
    private readonly source: MetadataSource,
    private readonly options: KafkaTopicDirectoryOptions,
  ) {
    this.probeInterval = options.probeInterval ?? PROBE_INTERVAL;
    this.refreshTicks = Math.max(1, Math.round(options.refreshInterval / this.probeInterval));
    this.maxTopics = options.maxTopics ?? MAX_TOPICS;
  }

  partitions(topic: string): readonly PartitionMetadata[] | undefined {
    const entry = this.entries.get(topic);
    if (entry !== undefined) {
      entry.seen = this.epoch;
      return entry.partitions;
    }
    this.add(topic);
    return undefined;
  }

  problem(topic: string): string | undefined {
    const entry = this.entries.get(topic);
    if (entry === undefined) return invalidTopicName(topic) ?? (this.entries.size >= this.maxTopics ? this.describe(topic, { kind: 'full' }) : undefined);
    return entry.partitions === undefined && entry.problem !== undefined ? this.describe(topic, entry.problem) : undefined;
  }

  tracks(topic: string): boolean {
    return this.entries.has(topic);
  }

  suspect(topic: string): void {
    const entry = this.entries.get(topic) ?? this.add(topic);
    if (entry === undefined) return;
    entry.seen = this.epoch;
    entry.suspect = true;
    // the next probe asks (not at once: the failure that made it suspect is a few ms old)
  }

  onChange(listener: (topic: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called (never inside a call) when Kafka answers that a topic it had partitions for does not exist: it was deleted. */
  onVanished(listener: (topic: string) => void): () => void {
    this.vanishedListeners.add(listener);
    return () => this.vanishedListeners.delete(listener);
  }

  watch(topic: string): () => void {
    const entry = this.entries.get(topic) ?? this.add(topic, true);
    if (entry === undefined) return () => {};
    entry.watchers += 1;
    entry.seen = this.epoch;
    let watching = true;
    return () => {
      if (!watching) return;
      watching = false;
      entry.watchers -= 1;
      entry.seen = this.epoch;
    };
  }

  /**
   * Fetches every known topic again at the next turn (a produce failed in a way that can mean one of them was
   * deleted: kafkajs then fails sends to every topic, see RenewableProducer).
   */
  refreshSoon(): void {
    for (const entry of this.entries.values()) if (entry.partitions !== undefined) entry.due = true;
    this.schedule();
  }

  /** Starts the probe and answers what was asked before (the first round is awaited; it never throws). */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    this.timer = setInterval(() => this.tick(), this.probeInterval);
    this.timer.unref();
    this.scheduled = false;
    await this.runRounds();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    this.vanishedListeners.clear();
    await this.round?.catch(() => undefined);
    await this.source.close().catch(() => undefined);
  }

  /** Topics remembered now (metrics, specs). */
  get size(): number {
    return this.entries.size;
  }

  private add(topic: string, watched = false): TopicEntry | undefined {
    if (this.closed || invalidTopicName(topic) !== undefined) return undefined;
    if (this.entries.size >= this.maxTopics) {
      this.sweep(true);
      // still full with a watched topic: the action's own topic must be known, so it goes beyond the cap
      if (this.entries.size >= this.maxTopics && !watched) return undefined;
    }
    const entry: TopicEntry = {
      partitions: undefined, problem: undefined, watchers: 0, due: true, suspect: false,
      seen: this.epoch, checked: NEVER, createTried: NEVER, isolate: false,
    };
    this.entries.set(topic, entry);
    this.schedule();
    return entry;
  }

  /** Coalesces every fetch wanted in this turn of the event loop into one round. */
  private schedule(): void {
    if (!this.started || this.closed) return;
    if (this.round !== undefined) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runRounds();
    });
  }

  private tick(): void {
    this.epoch += 1;
    if (this.epoch % SWEEP_TICKS === 0) this.sweep(false);
    const refresh = this.epoch - this.lastRefresh >= this.refreshTicks;
    if (refresh) this.lastRefresh = this.epoch;
    for (const entry of this.entries.values()) {
      // known-missing topics are all due; the round takes MISSING_PER_ROUND of them, least recently checked first
      // every known topic is refreshed: a pipeline caches partitions and need not ask again while they hold
      if (entry.suspect || entry.partitions === undefined || refresh) entry.due = true;
    }
    if (this.round === undefined) void this.runRounds();
    else this.again = true;
  }

  /**
   * Forgets topics nobody asked about for a while, and fires onChange for each, so a pipeline still holding records
   * for one (or caching its partitions) asks again and the topic is learned anew. Under `pressure` (the map is full)
   * only topics without partitions, not asked about since the last probe, and at most once per probe period: a
   * full map fed new names must not be scanned per name, and a known topic is real (the cluster bounds them).
   */
  private sweep(pressure: boolean): void {
    if (pressure) {
      if (this.pressureSwept === this.epoch) return;
      this.pressureSwept = this.epoch;
    }
    const forgotten: string[] = [];
    for (const [topic, entry] of this.entries) {
      if (entry.watchers > 0 || entry.suspect) continue;
      const known = entry.partitions !== undefined;
      if (pressure && known) continue;
      const limit = pressure ? 1 : known ? KNOWN_IDLE_TICKS : UNKNOWN_IDLE_TICKS;
      if (this.epoch - entry.seen < limit) continue;
      this.entries.delete(topic);
      forgotten.push(topic);
    }
    if (forgotten.length > 0) setImmediate(() => { for (const topic of forgotten) this.fire(topic); });
  }

  private async runRounds(): Promise<void> {
    if (this.round !== undefined) {
      this.again = true;
      return this.round;
    }
    this.round = (async () => {
      do {
        this.again = false;
        await this.runRound();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  private async runRound(): Promise<void> {
    const fresh: string[] = [];
    const alone: Array<[string, TopicEntry]> = [];
    // topics asked about alone take their turns once per probe period, whatever else starts a round
    const singles = this.singlesEpoch !== this.epoch;
    for (const [topic, entry] of this.entries) {
      if (!entry.due) continue;
      if (knownMissing(entry) || entry.isolate) {
        if (singles) alone.push([topic, entry]);
      } else if (fresh.length < MAX_TOPICS_PER_REQUEST) {
        entry.due = false;
        fresh.push(topic);
      } else {
        this.again = true;
      }
    }
    if (alone.length > MISSING_PER_ROUND) alone.sort((a, b) => a[1].checked - b[1].checked);
    if (alone.length > 0) this.singlesEpoch = this.epoch;
    const missing: string[] = [];
    for (let i = 0; i < Math.min(MISSING_PER_ROUND, alone.length); i++) {
      const [topic, entry] = alone[i] as [string, TopicEntry];
      entry.due = false;
      missing.push(topic);
    }
    if (fresh.length === 0 && missing.length === 0) return;
    const budget = { left: MAX_REQUESTS_PER_ROUND };
    const asks: Array<Promise<void>> = missing.map((topic) => this.ask([topic], budget));
    if (fresh.length > 0) asks.push(this.ask(fresh, budget));
    await Promise.all(asks);
  }

  /** One request for these topics; a topic error splits it in halves until each topic has its own answer. */
  private async ask(topics: readonly string[], budget: { left: number }): Promise<void> {
    if (this.closed) return;
    if (budget.left <= 0) {
      // the next probe asks about them one by one (halving again from the top would never get further)
      for (const topic of topics) this.markDue(topic, true);
      return;
    }
    budget.left -= 1;
    let answer: readonly TopicMetadata[];
    try {
      answer = await this.source.fetch(topics);
    } catch (error) {
      if (this.closed) return;
      const type = errorType(error);
      if (type === undefined) {
        const reason = reasonOf(error);
        for (const topic of topics) this.failed(topic, { kind: 'unreachable', reason });
        return;
      }
      if (topics.length > 1) {
        const half = Math.ceil(topics.length / 2);
        await Promise.all([this.ask(topics.slice(0, half), budget), this.ask(topics.slice(half), budget)]);
        return;
      }
      await this.refused(topics[0] as string, type, error);
      return;
    }
    if (this.closed) return;
    for (const { name, partitions } of answer) this.answered(name, partitions);
  }

  private answered(topic: string, partitions: readonly PartitionMetadata[]): void {
    const entry = this.entries.get(topic);
    if (entry === undefined) return;
    entry.checked = this.epoch;
    entry.isolate = false;
    const changed = entry.partitions === undefined || !samePartitions(entry.partitions, partitions);
    const wasSuspect = entry.suspect;
    const hadProblem = entry.problem !== undefined;
    entry.partitions = partitions;
    entry.problem = undefined;
    entry.suspect = false;
    if (hadProblem) this.options.logger.info('kafka topic answered', { topic: quoteTopic(topic), partitions: partitions.length });
    if (changed || wasSuspect) this.fire(topic);
  }

  /** Kafka answered with an error code for this one topic. */
  private async refused(topic: string, type: string, error: unknown): Promise<void> {
    const entry = this.entries.get(topic);
    if (entry === undefined) return;
    entry.checked = this.epoch;
    entry.isolate = false;
    if (type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'TOPIC_AUTHORIZATION_FAILED' || type === 'INVALID_TOPIC_EXCEPTION') {
      const kind = type === 'UNKNOWN_TOPIC_OR_PARTITION' ? 'missing' : type === 'TOPIC_AUTHORIZATION_FAILED' ? 'unauthorized' : 'invalid';
      const vanished = entry.partitions !== undefined && kind === 'missing';
      const changed = entry.partitions !== undefined || entry.problem?.kind !== kind;
      // a topic deleted under us: its partitions go, so new records wait instead of being routed to a void
      entry.partitions = undefined;
      entry.problem = { kind };
      entry.suspect = false;
      if (changed) {
        this.options.logger.warn('kafka topic unavailable', { topic: quoteTopic(topic), reason: type });
        this.fire(topic);
      }
      if (vanished) this.fire(topic, this.vanishedListeners);
      if (kind === 'missing' && this.options.allowAutoTopicCreation && this.epoch - entry.createTried >= CREATE_RETRY_TICKS) {
        entry.createTried = this.epoch;
        try {
          await this.source.create(topic);
          entry.due = true;
          this.again = true;
        } catch {
          // the broker may not allow auto-creation: the topic stays missing, its problem says so
        }
      }
      return;
    }
    // LEADER_NOT_AVAILABLE and other transient codes: keep what we knew, ask again next probe
    this.failed(topic, { kind: 'unreachable', reason: reasonOf(error) });
  }

  /** No answer for the topic: its known partitions stay (the best guess); an unknown topic says why. */
  private failed(topic: string, problem: Problem): void {
    const entry = this.entries.get(topic);
    if (entry === undefined) return;
    entry.checked = this.epoch;
    entry.isolate = false;
    if (entry.partitions === undefined) entry.problem = problem;
  }

  private markDue(topic: string, isolate: boolean): void {
    const entry = this.entries.get(topic);
    if (entry === undefined) return;
    entry.due = true;
    entry.isolate = isolate;
  }

  private fire(topic: string, listeners: ReadonlySet<(topic: string) => void> = this.listeners): void {
    for (const listener of listeners) {
      try {
        listener(topic);
      } catch (error) {
        this.options.logger.error('a topic listener failed', { error: reasonOf(error) });
      }
    }
  }

  private describe(topic: string, problem: Problem): string {
    const name = quoteTopic(topic);
    switch (problem.kind) {
      case 'missing':
        return this.options.allowAutoTopicCreation
          ? `kafka topic ${name} does not exist and Kafka did not create it (allowAutoTopicCreation is on; the broker's auto.create.topics.enable may be off): create it`
          : `kafka topic ${name} does not exist: create it, or set allowAutoTopicCreation on the connector`;
      case 'unauthorized':
        return `the user may not describe kafka topic ${name}: grant it DESCRIBE and WRITE on the topic`;
      case 'invalid':
        return `${name} is not a valid Kafka topic name (letters, digits, ".", "_", "-"; at most 249 characters)`;
      case 'unreachable':
        return `${UNANSWERED} for topic ${name}: ${problem.reason}`;
      case 'full':
        return `kafka topic ${name} is not looked up: the connector already tracks ${this.maxTopics} topics in use`;
    }
  }
}

/** Kafka's error code behind kafkajs's wrappers, or undefined for a failure without one (connection, timeout). */
function errorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth += 1) {
    const record = current as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof record.type === 'string') return record.type;
    const next = record.cause ?? record.originalError;
    if (next === current) break;
    current = next;
  }
  return undefined;
}

/** The root cause's name and message, cut short: kafkajs messages name hosts and codes, never credentials. */
function reasonOf(error: unknown): string {
  const { reason } = classifyKafkaError(error);
  let root: unknown = error;
  for (let depth = 0; depth < 6; depth += 1) {
    const next = (root as { cause?: unknown; originalError?: unknown } | null)?.cause ?? (root as { originalError?: unknown } | null)?.originalError;
    if (next === undefined || next === null || next === root) break;
    root = next;
  }
  const message = root instanceof Error ? root.message : String(root);
  return `${reason}: ${message.length > 200 ? `${message.slice(0, 200)}…` : message}`;
}

/** Kafka said the topic is not there for us (missing, not authorized, refused name): asked about alone, in turns. */
function knownMissing(entry: TopicEntry): boolean {
  const kind = entry.problem?.kind;
  return entry.partitions === undefined && (kind === 'missing' || kind === 'unauthorized' || kind === 'invalid');
}

function samePartitions(a: readonly PartitionMetadata[], b: readonly PartitionMetadata[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as PartitionMetadata;
    const y = b[i] as PartitionMetadata;
    if (x.partitionId !== y.partitionId || x.leader !== y.leader) return false;
  }
  return true;
}

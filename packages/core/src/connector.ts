import type { Logger } from './logger';
import type { Message } from './message';
import type { RuleEngine, RuleOutput } from './rule-engine';
import type { ConnectorStatus } from './source';

/** What a connector receives when the runtime asks it for an action. */
export interface ActionContext {
  /** Unique action id, e.g. 'temp_hum:kafka_emqx'. Used in metrics and logs. */
  readonly id: string;
  /** The rule the action belongs to. */
  readonly ruleId: string;
  /** Compiles `${...}` templates of the action's settings (key, value, topic, headers). */
  readonly templates: Pick<RuleEngine, 'compileTemplate'>;
  readonly logger: Logger;
  /**
   * Counts records the action dropped on purpose after their send had already resolved (e.g. a record of a
   * disk buffer, acknowledged once on disk, that later expired), for the action's `dropped` metric. A drop
   * decided while the send is still pending is reported by resolving the send with `DROPPED[reason]` instead.
   */
  readonly dropped: (count: number, reason: DropReason) => void;
}

/** Why an action dropped a record on purpose: its buffer was full, the record waited too long, or else. */
export type DropReason = 'queue_full' | 'expired' | 'other';

/** What a send resolves with when the action dropped the record on purpose instead of storing it. */
export interface Dropped {
  readonly dropped: DropReason;
}

/** The Dropped outcomes, shared, so that a connector allocates nothing per dropped record. */
export const DROPPED: { readonly [R in DropReason]: Dropped } = Object.freeze({
  queue_full: Object.freeze({ dropped: 'queue_full' }),
  expired: Object.freeze({ dropped: 'expired' }),
  other: Object.freeze({ dropped: 'other' }),
});

/** How a send ended when it did not reject: stored (undefined), or dropped on purpose. */
export type SendResult = void | Dropped;

/** Whether a send's result says the record was dropped on purpose. */
export function isDropped(result: unknown): result is Dropped {
  return typeof result === 'object' && result !== null && typeof (result as { dropped?: unknown }).dropped === 'string';
}

/** Whether a connector metric only grows (`counter`) or goes up and down (`gauge`); see Action.metricKinds. */
export type ActionMetricKind = 'counter' | 'gauge';

/**
 * Sends one rule's outputs through a connector with settings of its own (topic, templates).
 * send() is called once per output, possibly many times before earlier calls resolve.
 */
export interface Action {
  readonly id: string;
  /**
   * Resolves once the record is stored (acknowledged by the external system as the action's settings
   * require, or written to a durable buffer). Resolves with `DROPPED[reason]` when the action dropped the
   * record on purpose (its overflow policy, its maximum age): counted `dropped.<reason>`, not `success`, the
   * message is acknowledged, and the action's fallbacks get the output. Rejects with ActionWriteError:
   * `retriable: false` when trying again cannot help (the message is counted failed and acknowledged),
   * `retriable: true` when the connector gave up for now (the message is not acknowledged, so the broker
   * delivers it again).
   */
  send(output: RuleOutput, message: Message): Promise<SendResult>;
  /** Records accepted but not yet stored (buffered); the action's `queuing` gauge. */
  queued?(): number;
  /**
   * Sends at once what the action holds back to batch (a linger). Called when a source's window of
   * unacknowledged messages is full (MessageReceiver.stalled): what lingers is then what the source waits
   * for, and nothing more will come to join it. Must cost next to nothing when nothing lingers.
   */
  sendNow?(): void;
  /**
   * Metrics only this kind of connector knows (EMQX names where they exist: `retried`, `retried.success`,
   * `queuing_bytes`, produce latency ...). Read when metrics are read, never per message; shown as the
   * action's `connector` metrics.
   */
  metrics?(): Readonly<Record<string, number>>;
  /**
   * How each key of metrics() behaves, for exporters such as the CLI's Prometheus endpoint: `counter`
   * only grows (from 0 when the action was created), `gauge` goes up and down. Optional, and keys may be
   * left out: an exporter cannot tell a counter from a gauge by looking at a number, so it exports an
   * undeclared key without a type (Prometheus `untyped`). Read when metrics are read, never per message.
   */
  readonly metricKinds?: Readonly<Record<string, ActionMetricKind>>;
  /** Flushes what is buffered and waits for it; called when the action is removed or the runtime stops. */
  close?(): Promise<void>;
}

/** Result of one stage of a connection test: TCP, TLS, SASL, metadata, topic ... */
export interface ConnectionTestStage {
  readonly stage: string;
  readonly ok: boolean;
  /** What was checked, or what failed and how to fix it. Never contains secrets. */
  readonly detail: string;
}

export interface ConnectionTestReport {
  readonly connectorId: string;
  readonly ok: boolean;
  /** Stages in the order they ran; the run stops at the first failing stage. */
  readonly stages: readonly ConnectionTestStage[];
}

/**
 * A connector to an external system that actions write through (a Kafka cluster, a webhook).
 * The runtime calls createAction() for each action that names this connector, then start() once, then the
 * actions' send(), then stop(). A plain class or object will do: no decorators.
 */
export interface Connector {
  /** Unique in the application, e.g. 'upstash'. Actions name it as their `connector`. */
  readonly id: string;
  /** Validates the action's settings (throws ConfigError) and compiles its templates. */
  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action;
  /** Connects. Rejects when the connection cannot be made; the message says which stage failed. */
  start(signal: AbortSignal): Promise<void>;
  /** Closes the connection after the actions were closed. */
  stop(): Promise<void>;
  /** Staged connection test (see ConnectionTestReport); does not need start(). */
  test?(): Promise<ConnectionTestReport>;
  status?(): ConnectorStatus;
  /**
   * Reads back what was written, for an operator (the console's Messages page): a connector to a log
   * such as Kafka can list its topics and show their latest records. Optional; called on demand, never
   * on the message path. Needs start() to have been called.
   */
  browser?(): RecordBrowser;
}
export const Connector = Symbol.for('@sluice/core/Connector');

/** One record read back from the external system, bytes as stored. */
export interface BrowsedRecord {
  readonly partition: number;
  /** Offsets are 64-bit: kept as decimal text. */
  readonly offset: string;
  /** Epoch milliseconds as decimal text (Kafka's record timestamp). */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer>>;
  /**
   * A browser may keep only the start of large keys, values and headers (to bound its memory): the byte
   * lengths the ones it cut have in the topic. Absent when nothing was cut.
   */
  readonly originalSizes?: {
    readonly key?: number;
    readonly value?: number;
    readonly headers?: Readonly<Record<string, number>>;
  };
}

/** Read access to the topics a connector writes to (see Connector.browser). */
export interface RecordBrowser {
  /** Topic names, sorted, internal ones (`__consumer_offsets` ...) left out. */
  topics(): Promise<string[]>;
  /** The latest `limit` records of `topic` across its partitions, oldest first. */
  latest(topic: string, limit: number, signal?: AbortSignal): Promise<BrowsedRecord[]>;
  /**
   * Calls `onRecord` for every record written to `topic` from now on, until `signal` aborts; resolves
   * then, after its resources are released. Rejects when the topic cannot be read.
   */
  follow(topic: string, onRecord: (record: BrowsedRecord) => void, signal: AbortSignal): Promise<void>;
}

import type { ActionMetricKind } from './connector';
import type { Message } from './message';

/**
 * Called by the runtime exactly once per delivered message, when it is done with it.
 * - no argument: every action that had to store the message did so (or failed for good and was
 *   counted); the source may acknowledge it to the broker.
 * - an error: the message could not be stored yet; the source must not acknowledge it, so the broker
 *   keeps it and delivers it again (at-least-once sources drop and re-open the session to get it back).
 */
export type Settle = (error?: Error) => void;

/** What a source hands its messages to. */
export interface MessageReceiver {
  /**
   * Takes one message. Never throws and never blocks: the work continues asynchronously and ends with
   * one call of `settle`. Sources call it in arrival order.
   */
  receive(message: Message, settle: Settle): void;
  /**
   * The source can take no more messages until some it handed over settle (its window of unacknowledged
   * messages is full). Actions holding records back to batch them send them now: nothing more would come to
   * join them while they wait. Optional for receivers; never throws. A source calls it when its window fills, not
   * per message.
   */
  stalled?(): void;
}

/**
 * Connection state of a source or connector, as shown by health endpoints and metrics. `buffering`: the other
 * side is away, but the connector keeps what it accepts safe (e.g. a Kafka action's disk buffer) and intake
 * goes on: deliberately buffering, which readiness counts as ready.
 */
export type ConnectorState = 'connecting' | 'connected' | 'buffering' | 'disconnected' | 'stopped';

export interface ConnectorStatus {
  readonly state: ConnectorState;
  /** Why the connector is not connected, in words an operator can act on. */
  readonly reason?: string;
}

/**
 * Receives messages from outside (an MQTT broker, an embedded broker, a test).
 * The runtime calls start() once with the topic filters of the rules that read from this source,
 * pause() when it begins to stop (no new messages from then on), and stop() after in-flight messages
 * have settled. A plain class or object will do: no decorators needed.
 */
export interface Source {
  /** Unique in the application, e.g. 'plant'. */
  readonly id: string;
  /**
   * The event topics (current names, e.g. '$events/client/connected'; see EVENT_KINDS) this source can
   * report, as messages whose `eventColumns` is set. Absent or empty: none. The runtime passes a source the
   * rules' `$events/…` filters (legacy names made current) only when it declares events, and a rule whose
   * event filter matches no event of the sources it reads from is refused when it is built.
   */
  readonly eventTopics?: readonly string[];
  /**
   * Connects and subscribes to `filters`. Filters starting with `$events/` select events, not MQTT topics: a
   * source that declares eventTopics reports those events (and only those: an event no filter selects should
   * cost nothing), and must not subscribe to them as topics. Resolves once subscribed; rejects with a clear error if it cannot.
   */
  start(receiver: MessageReceiver, filters: readonly string[], signal: AbortSignal): Promise<void>;
  /** Subscribes to the filters added and unsubscribes from those removed (rules changed at run time). */
  updateFilters?(filters: readonly string[]): Promise<void>;
  /** Stops taking new messages; settle() calls for messages already received are still honoured. */
  pause(): void;
  /** Releases the connection. Messages never settled are left to the broker. */
  stop(): Promise<void>;
  /**
   * Whether this source, replacing `previous` (the installed source with its id) at run time, cannot run beside
   * it: it listens on the same address, or takes over the same broker session. The runtime then pauses
   * `previous`, lets its messages settle (at most stopTimeoutMs) and stops it before starting this one; if
   * this one then fails to start, `previous` is started again. So a source that can answer true must accept
   * start() again after stop(). Absent or false: the two overlap for a moment (no gap in intake).
   */
  replacesInPlace?(previous: Source): boolean;
  status?(): ConnectorStatus;
  /**
   * The source's own counters and gauges (e.g. events it dropped), shown as the `connector` part of its
   * metrics and exported on /metrics as `sluice_source_<key>`. Read when metrics are read, never per message.
   */
  metrics?(): Readonly<Record<string, number>>;
  /** How the keys of metrics() behave: `counter` (only grows; exported with `_total`) or `gauge`. Undeclared: untyped. */
  readonly metricKinds?: Readonly<Record<string, ActionMetricKind>>;
}
export const Source = Symbol.for('@sluice/core/Source');

import type { DropReason } from './connector';
import { RateMeter } from './rate-meter';

/**
 * Per-rule counters, named after EMQX's rule metrics. Plain numeric fields: the runtime increments them
 * on the hot path, readers take snapshots.
 */
export class RuleCounters {
  /** Messages whose topic matched the rule's FROM. */
  matched = 0;
  /** Messages that produced at least one output (WHERE passed). */
  passed = 0;
  /** failed.exception + failed.no_result. */
  failed = 0;
  /** Evaluation threw (a function error, a payload that is not JSON under payload.x ...). */
  failedException = 0;
  /** FROM matched but WHERE (or FOREACH/INCASE) left no output. */
  failedNoResult = 0;
  /** One per output per action. */
  actionsTotal = 0;
  actionsSuccess = 0;
  actionsFailed = 0;
  readonly matchedRate: RateMeter;

  constructor(rateIntervalMs: number) {
    this.matchedRate = new RateMeter(rateIntervalMs);
  }

  reset(): void {
    this.matched = this.passed = this.failed = this.failedException = this.failedNoResult = 0;
    this.actionsTotal = this.actionsSuccess = this.actionsFailed = 0;
    this.matchedRate.reset();
  }
}

/** Per-action counters and gauges, named after EMQX's action metrics. */
export class ActionCounters {
  /** Outputs handed to the action. */
  matched = 0;
  /** Stored by the external system. */
  success = 0;
  /** Refused for good (or given up on); counted once per output. */
  failed = 0;
  /** Of `failed`: the connector gave up for now (the message was left to the MQTT broker to redeliver). */
  failedRetriable = 0;
  /** Dropped on purpose by the connector (buffer overflow, expiry). */
  dropped = 0;
  /** Of `failed` (for good): outputs a fallback action then stored, one per fallback action. */
  fallbackSuccess = 0;
  /** Fallback actions that failed too (the output is lost for good, or left to the broker when retriable). */
  fallbackFailed = 0;
  droppedQueueFull = 0;
  droppedExpired = 0;
  droppedOther = 0;
  /** Sends started and not yet finished. */
  inflight = 0;
  readonly matchedRate: RateMeter;

  constructor(rateIntervalMs: number) {
    this.matchedRate = new RateMeter(rateIntervalMs);
  }

  /** Counts records dropped on purpose, in total and by reason. */
  countDropped(count: number, reason: DropReason): void {
    this.dropped += count;
    if (reason === 'queue_full') this.droppedQueueFull += count;
    else if (reason === 'expired') this.droppedExpired += count;
    else this.droppedOther += count;
  }

  reset(): void {
    this.matched = this.success = this.failed = this.failedRetriable = 0;
    this.dropped = this.droppedQueueFull = this.droppedExpired = this.droppedOther = 0;
    this.fallbackSuccess = this.fallbackFailed = 0;
    this.matchedRate.reset();
  }
}

export interface RateSnapshot {
  readonly current: number;
  readonly max: number;
  readonly last5m: number;
}

/** A rule's metrics with EMQX's names (`failed.exception`, `actions.total`, ...). */
export interface RuleMetrics {
  readonly matched: number;
  readonly passed: number;
  readonly failed: number;
  readonly 'failed.exception': number;
  readonly 'failed.no_result': number;
  readonly 'actions.total': number;
  readonly 'actions.success': number;
  readonly 'actions.failed': number;
  readonly 'matched.rate': RateSnapshot;
}

/** An action's metrics with EMQX's names. */
export interface ActionMetrics {
  readonly matched: number;
  readonly success: number;
  readonly failed: number;
  readonly 'failed.retriable': number;
  readonly dropped: number;
  readonly 'dropped.queue_full': number;
  readonly 'dropped.expired': number;
  readonly 'dropped.other': number;
  /** Outputs that failed for good and were stored by a fallback action (one per fallback action). */
  readonly 'fallback.success': number;
  /** Fallback actions that failed as well. */
  readonly 'fallback.failed': number;
  readonly inflight: number;
  /** Buffered in the connector, not yet stored. */
  readonly queuing: number;
  readonly rate: RateSnapshot;
  /** What the connector itself reports for this action (Action.metrics()); empty when it reports nothing. */
  readonly connector: Readonly<Record<string, number>>;
}

/** Per-source counters. */
export class SourceCounters {
  received = 0;
  /** Redeliveries seen (the MQTT DUP flag): expected after a reconnect in at-least-once mode. */
  duplicates = 0;
  /** Messages that matched no rule (acknowledged at once). */
  unrouted = 0;
  /** Received and not yet settled. */
  pending = 0;
  /**
   * Settled as handled: every action stored it or failed for good (or no rule wanted it). The source
   * acknowledges these to the broker (in at-most-once mode it already did on receipt).
   */
  acknowledged = 0;
  /** Settled as not stored (an action gave up for now): left unacknowledged for the broker to redeliver. */
  leftToBroker = 0;

  reset(): void {
    this.received = this.duplicates = this.unrouted = this.acknowledged = this.leftToBroker = 0;
  }
}

export interface SourceMetrics {
  readonly received: number;
  readonly duplicates: number;
  readonly unrouted: number;
  readonly pending: number;
  readonly acknowledged: number;
  readonly leftToBroker: number;
  /** What the source itself reports (Source.metrics()); empty when it reports nothing. */
  readonly connector: Readonly<Record<string, number>>;
}

const snapshotRate = (meter: RateMeter): RateSnapshot => ({ current: meter.current, max: meter.max, last5m: meter.last5m });

export function snapshotRule(c: RuleCounters): RuleMetrics {
  return {
    matched: c.matched,
    passed: c.passed,
    failed: c.failed,
    'failed.exception': c.failedException,
    'failed.no_result': c.failedNoResult,
    'actions.total': c.actionsTotal,
    'actions.success': c.actionsSuccess,
    'actions.failed': c.actionsFailed,
    'matched.rate': snapshotRate(c.matchedRate),
  };
}

const NO_CONNECTOR_METRICS: Readonly<Record<string, number>> = Object.freeze({});

export function snapshotAction(c: ActionCounters, queuing: number, connector: Readonly<Record<string, number>> = NO_CONNECTOR_METRICS): ActionMetrics {
  return {
    matched: c.matched,
    success: c.success,
    failed: c.failed,
    'failed.retriable': c.failedRetriable,
    dropped: c.dropped,
    'dropped.queue_full': c.droppedQueueFull,
    'dropped.expired': c.droppedExpired,
    'dropped.other': c.droppedOther,
    'fallback.success': c.fallbackSuccess,
    'fallback.failed': c.fallbackFailed,
    inflight: c.inflight,
    queuing,
    rate: snapshotRate(c.matchedRate),
    connector,
  };
}

export function snapshotSource(c: SourceCounters, connector: Readonly<Record<string, number>> = NO_CONNECTOR_METRICS): SourceMetrics {
  return {
    received: c.received,
    duplicates: c.duplicates,
    unrouted: c.unrouted,
    pending: c.pending,
    acknowledged: c.acknowledged,
    leftToBroker: c.leftToBroker,
    connector,
  };
}

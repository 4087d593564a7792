import { IntegrationError } from './errors';
import type { Logger } from './logger';
import type { Message } from './message';
import { messageColumns } from './message-columns';
import {
  ActionCounters,
  RuleCounters,
  SourceCounters,
  snapshotAction,
  snapshotRule,
  snapshotSource,
  type ActionMetrics,
  type RuleMetrics,
  type SourceMetrics,
} from './metrics';
import type { CompiledRule, RuleOutput } from './rule-engine';
import { isDropped, type SendResult, type Connector, type Action, type ActionMetricKind } from './connector';
import type { MessageReceiver, Settle, Source } from './source';
import { ThrottledLog } from './throttled-log';
import { TopicRouter } from './topic-router';

/** An action ready to run: the connector's action object plus its counters. */
export interface RuntimeAction {
  readonly id: string;
  readonly connectorId: string;
  readonly action: Action;
  readonly counters: ActionCounters;
}

/** A compiled rule with its actions, as the runtime routes to it. */
export interface RuntimeRule {
  readonly id: string;
  readonly sql: string;
  readonly compiled: CompiledRule;
  readonly actions: readonly RuntimeAction[];
  readonly counters: RuleCounters;
  /** Sources the rule reads from; undefined = every source. */
  readonly sourceIds: ReadonlySet<string> | undefined;
  enabled: boolean;
}

export interface RuntimeOptions {
  readonly logger: Logger;
  /** The `node` column rules see (EMQX puts its node name there). */
  readonly node: string;
  /** How often rates are sampled. */
  readonly rateIntervalMs: number;
}

/**
 * Tracks one message until every action that received it has finished, then settles it with its
 * source: acknowledged when everything was stored or failed for good, left to the broker when an action
 * gave up for now (a retriable failure).
 */
class Settlement {
  pending = 1; // one extra "hold" released by arm(), so an action finishing synchronously cannot settle early
  error: Error | undefined;

  constructor(
    private readonly settle: Settle,
    private readonly runtime: Runtime,
    private readonly source: SourceCounters,
    private readonly generation: Generation,
  ) {
    generation.pending++;
  }

  done(): void {
    if (--this.pending === 0) this.finish();
  }

  fail(error: Error): void {
    this.error ??= error;
    this.done();
  }

  private finish(): void {
    this.source.pending--;
    this.generation.release();
    this.runtime.messageSettled();
    if (this.error === undefined) this.source.acknowledged++;
    else this.source.leftToBroker++;
    this.settle(this.error);
  }
}

/**
 * The messages received while one set of rules was installed. When rules change at run time, the actions
 * they drop are closed only once every message received before the change has settled (those messages
 * may still be sending through them); one counter per generation keeps that cheap on the hot path.
 */
class Generation {
  pending = 0;
  private waiters: Array<() => void> | undefined;

  release(): void {
    if (--this.pending === 0 && this.waiters !== undefined) {
      const waiters = this.waiters;
      this.waiters = undefined;
      for (const wake of waiters) wake();
    }
  }

  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }
}

/**
 * Routes messages from sources through rules to actions, keeps the metrics, and drains on stop.
 * Built by createIntegration(); applications use the Integration facade rather than this class.
 */
export class Runtime implements MessageReceiver {
  // Replaced as a whole when rules change at run time (swapRules), so receive() sees either the old or
  // the new set, never a half-updated one.
  private router = new TopicRouter<RuntimeRule>();
  private readonly rules = new Map<string, RuntimeRule>();
  private readonly sourceCounters = new Map<string, SourceCounters>();
  private readonly warnings: ThrottledLog;
  private inflightMessages = 0;
  private drained: (() => void) | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private generation = new Generation();
  /** Settles once every generation before the current one has settled. */
  private earlierGenerations: Promise<void> = Promise.resolve();
  /** Actions taken out of service at run time and not closed yet. */
  private readonly retired = new Set<RuntimeAction>();
  private readonly retirements = new Set<Promise<void>>();
  /** The filters each source is subscribed to, once started (sorted, for comparison). */
  private readonly subscribed = new Map<string, readonly string[]>();

  constructor(
    private readonly sources: readonly Source[],
    private readonly connectors: readonly Connector[],
    private readonly options: RuntimeOptions,
  ) {
    this.warnings = new ThrottledLog(options.logger);
    for (const source of sources) this.sourceCounters.set(source.id, new SourceCounters());
  }

  addRule(rule: RuntimeRule): void {
    this.rules.set(rule.id, rule);
    for (const filter of rule.compiled.topics) this.router.add(filter, rule);
  }

  getRule(id: string): RuntimeRule | undefined {
    return this.rules.get(id);
  }

  listRules(): readonly RuntimeRule[] {
    return [...this.rules.values()];
  }

  /** The union of the FROM filters of the rules that read from `sourceId`. */
  filtersFor(sourceId: string): string[] {
    const filters = new Set<string>();
    for (const rule of this.rules.values()) {
      if (rule.sourceIds !== undefined && !rule.sourceIds.has(sourceId)) continue;
      for (const filter of rule.compiled.topics) filters.add(filter);
    }
    return [...filters];
  }

  async start(signal: AbortSignal): Promise<void> {
    this.sampler = setInterval(() => this.sampleRates(), this.options.rateIntervalMs);
    this.sampler.unref();
    for (const connector of this.connectors) await connector.start(signal);
    for (const source of this.sources) {
      const filters = this.filtersFor(source.id);
      if (filters.length === 0) {
        this.options.logger.warn('source has no rule to feed; it will not subscribe to anything', { source: source.id });
      }
      await source.start(this, filters, signal);
      this.subscribed.set(source.id, [...filters].sort());
    }
  }

  /** Hot path: called by sources for every message. */
  receive(message: Message, settle: Settle): void {
    const sourceCounters = this.sourceCounters.get(message.sourceId) ?? this.unknownSource(message.sourceId);
    sourceCounters.received++;
    if (message.dup) sourceCounters.duplicates++;
    const rules = this.router.match(message.topic);
    let settlement: Settlement | undefined;
    let input: Readonly<Record<string, unknown>> | undefined;
    let routed = false;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r] as RuntimeRule;
      if (!rule.enabled || (rule.sourceIds !== undefined && !rule.sourceIds.has(message.sourceId))) continue;
      routed = true;
      const counters = rule.counters;
      counters.matched++;
      input ??= messageColumns(message, this.options.node);
      let outputs: RuleOutput[];
      try {
        outputs = rule.compiled.evaluate(input);
      } catch (error) {
        counters.failed++;
        counters.failedException++;
        this.warnings.warn(`rule:${rule.id}`, 'rule evaluation failed', () => ({
          rule: rule.id,
          topic: message.topic,
          error: errorText(error),
        }));
        continue;
      }
      if (outputs.length === 0) {
        counters.failed++;
        counters.failedNoResult++;
        continue;
      }
      counters.passed++;
      for (let o = 0; o < outputs.length; o++) {
        const output = outputs[o] as RuleOutput;
        for (let a = 0; a < rule.actions.length; a++) {
          if (settlement === undefined) {
            settlement = new Settlement(settle, this, sourceCounters, this.generation);
            sourceCounters.pending++;
            this.inflightMessages++;
          }
          this.runAction(rule, rule.actions[a] as RuntimeAction, output, message, settlement);
        }
      }
    }
    if (!routed) sourceCounters.unrouted++;
    if (settlement === undefined) {
      sourceCounters.acknowledged++;
      settle();
    } else {
      settlement.done();
    }
  }

  private runAction(rule: RuntimeRule, action: RuntimeAction, output: RuleOutput, message: Message, settlement: Settlement): void {
    const counters = action.counters;
    counters.matched++;
    counters.inflight++;
    rule.counters.actionsTotal++;
    settlement.pending++;
    let sent: Promise<SendResult>;
    try {
      sent = action.action.send(output, message);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (result) => {
        counters.inflight--;
        if (isDropped(result)) {
          // dropped on purpose: acknowledged like a stored one, but not stored, so not a success
          counters.countDropped(1, result.dropped);
          rule.counters.actionsFailed++;
        } else {
          counters.success++;
          rule.counters.actionsSuccess++;
        }
        settlement.done();
      },
      (error: unknown) => {
        counters.inflight--;
        counters.failed++;
        rule.counters.actionsFailed++;
        const retriable = IntegrationError.is(error) && error.retriable;
        this.warnings.warn(`action:${action.id}`, retriable ? 'action gave up for now; the message is left to the broker' : 'action failed', () => ({
          action: action.id,
          topic: message.topic,
          error: errorText(error),
        }));
        if (retriable) {
          counters.failedRetriable++;
          settlement.fail(error as Error);
        } else {
          settlement.done();
        }
      },
    );
  }

  /** Called by Settlement; resolves a pending drain when the last message settles. */
  messageSettled(): void {
    if (--this.inflightMessages === 0 && this.drained !== undefined) this.drained();
  }

  /**
   * Stops intake, waits up to `timeoutMs` for in-flight messages to settle (so their acknowledgements go
   * out), then closes actions, sources and connectors. What did not settle in time is left to the broker.
   * Returns the number of messages that were still in flight when the timeout expired.
   */
  async stop(timeoutMs: number): Promise<number> {
    for (const source of this.sources) source.pause();
    let unsettled = 0;
    if (this.inflightMessages > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
      unsettled = this.inflightMessages;
      if (unsettled > 0) {
        this.options.logger.warn('stop timed out with messages in flight; they stay unacknowledged for the broker to redeliver', { unsettled });
      }
    }
    if (this.sampler !== undefined) clearInterval(this.sampler);
    const failures: unknown[] = [];
    const attempt = async (what: string, step: () => Promise<void> | void): Promise<void> => {
      try {
        await step();
      } catch (error) {
        failures.push(error);
        this.options.logger.error(`stopping ${what} failed`, { error: errorText(error) });
      }
    };
    for (const source of this.sources) await attempt(`source ${source.id}`, () => source.stop());
    for (const rule of this.rules.values()) {
      for (const action of rule.actions) await attempt(`action ${action.id}`, () => action.action.close?.());
    }
    // Actions replaced or removed at run time whose retirement had not finished (their messages did not
    // settle before the timeout): close them now, once.
    for (const action of [...this.retired]) {
      this.retired.delete(action);
      await attempt(`action ${action.id}`, () => action.action.close?.());
    }
    for (const connector of this.connectors) await attempt(`connector ${connector.id}`, () => connector.stop());
    return unsettled;
  }

  /**
   * Run-time rule changes: installs `upserts` (replacing rules of the same id) and removes the rules
   * `removals` names, in one synchronous step. Messages received from now on are routed to the new set;
   * messages already received finish on the rules and actions they were routed to. Actions that are no
   * longer installed are closed once every message received before the change has settled.
   * The caller (Integration) validated the rules; this cannot fail.
   */
  swapRules(upserts: readonly RuntimeRule[], removals: readonly string[]): void {
    const dropped: RuntimeAction[] = [];
    for (const id of removals) {
      const old = this.rules.get(id);
      if (old === undefined) continue;
      this.rules.delete(id);
      dropped.push(...old.actions);
    }
    for (const rule of upserts) {
      const old = this.rules.get(rule.id);
      if (old !== undefined) dropped.push(...old.actions.filter((a) => !rule.actions.some((n) => n.action === a.action)));
      this.rules.set(rule.id, rule);
    }
    const router = new TopicRouter<RuntimeRule>();
    for (const rule of this.rules.values()) for (const filter of rule.compiled.topics) router.add(filter, rule);
    this.router = router;
    if (dropped.length > 0) this.retire(dropped);
  }

  /**
   * After swapRules: brings each started source's subscriptions in line with the rules. Returns the ids
   * of sources whose filters changed but that cannot change them at run time (no updateFilters).
   */
  async updateSubscriptions(): Promise<string[]> {
    const stuck: string[] = [];
    for (const source of this.sources) {
      const current = this.subscribed.get(source.id);
      if (current === undefined) continue; // not started: start() subscribes to the rules of the moment
      const wanted = this.filtersFor(source.id).sort();
      if (wanted.length === current.length && wanted.every((f, i) => f === current[i])) continue;
      if (source.updateFilters === undefined) {
        stuck.push(source.id);
        continue;
      }
      await source.updateFilters(wanted);
      this.subscribed.set(source.id, wanted);
    }
    return stuck;
  }

  /** Resolves once every action retired so far has been closed (or stop() took over). */
  async retirementsDone(): Promise<void> {
    await Promise.all([...this.retirements]);
  }

  private retire(actions: readonly RuntimeAction[]): void {
    const previous = this.generation;
    this.generation = new Generation();
    const settled = Promise.all([this.earlierGenerations, previous.settled()]).then(() => undefined);
    this.earlierGenerations = settled;
    for (const action of actions) this.retired.add(action);
    const retirement = settled.then(async () => {
      for (const action of actions) {
        if (!this.retired.delete(action)) continue; // stop() closed it already
        try {
          await action.action.close?.();
        } catch (error) {
          this.options.logger.error('closing a replaced action failed', { action: action.id, error: errorText(error) });
        }
      }
    });
    this.retirements.add(retirement);
    void retirement.finally(() => this.retirements.delete(retirement));
  }

  ruleMetrics(id: string): RuleMetrics | undefined {
    const rule = this.rules.get(id);
    return rule === undefined ? undefined : snapshotRule(rule.counters);
  }

  actionMetrics(id: string): ActionMetrics | undefined {
    const action = this.findAction(id);
    return action === undefined ? undefined : snapshotAction(action.counters, action.action.queued?.() ?? 0, this.connectorMetrics(action));
  }

  actionMetricKinds(id: string): Readonly<Record<string, ActionMetricKind>> | undefined {
    const action = this.findAction(id);
    return action === undefined ? undefined : (action.action.metricKinds ?? {});
  }

  private findAction(id: string): RuntimeAction | undefined {
    for (const rule of this.rules.values()) {
      for (const action of rule.actions) if (action.id === id) return action;
    }
    return undefined;
  }

  /**
   * The connector's own metrics. A connector's metrics() is user code: if it throws, the action's metrics are still
   * read (with no connector part) and the error is logged, so one bad connector cannot break GET /metrics or the API.
   */
  private connectorMetrics(action: RuntimeAction): Readonly<Record<string, number>> | undefined {
    try {
      return action.action.metrics?.();
    } catch (error) {
      this.warnings.warn(`connector-metrics:${action.id}`, 'the connector action\'s metrics() threw; its connector metrics are left out', () => ({
        action: action.id,
        error: errorText(error),
      }));
      return undefined;
    }
  }

  sourceMetrics(id: string): SourceMetrics | undefined {
    const counters = this.sourceCounters.get(id);
    return counters === undefined ? undefined : snapshotSource(counters);
  }

  private sampleRates(): void {
    for (const rule of this.rules.values()) {
      rule.counters.matchedRate.sample(rule.counters.matched);
      for (const action of rule.actions) action.counters.matchedRate.sample(action.counters.matched);
    }
  }

  private unknownSource(id: string): SourceCounters {
    // A source that was not registered (e.g. a test pushing messages by hand) still gets counters.
    const counters = new SourceCounters();
    this.sourceCounters.set(id, counters);
    return counters;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

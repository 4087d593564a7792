import { IntegrationError } from './errors';
import type { Logger } from './logger';
import type { Message } from './message';
import { canonicalEventTopic, isEventTopic } from './events';
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
  /** The installed actions that batch (have sendNow), for stalled(); rebuilt after rules change. */
  private batching: readonly Action[] | undefined;
  /** Actions taken out of service at run time and not closed yet. */
  private readonly retired = new Set<RuntimeAction>();
  private readonly retirements = new Set<Promise<void>>();
  /** The filters each source is subscribed to, once started (sorted, for comparison). */
  private readonly subscribed = new Map<string, readonly string[]>();
  // Changed at run time (add/replace/remove); read only by start, stop and subscription updates, never per message.
  private readonly sources: Source[];
  private readonly connectors: Connector[];
  /** Sources and connectors taken out of service at run time and not stopped yet (stop() stops them). */
  private readonly retiredSources = new Set<Source>();
  private readonly retiredConnectors = new Set<Connector>();
  /** Set by start(): components added later are started with it. */
  private signal: AbortSignal | undefined;
  private stopping = false;
  /** Resolves when stop() takes over the sources, so a draining replaced source stops waiting (and its timer goes). */
  private halt!: () => void;
  private readonly halted = new Promise<void>((resolve) => (this.halt = resolve));

  constructor(
    sources: readonly Source[],
    connectors: readonly Connector[],
    private readonly options: RuntimeOptions,
  ) {
    this.warnings = new ThrottledLog(options.logger);
    this.sources = [...sources];
    this.connectors = [...connectors];
    for (const source of sources) this.sourceCounters.set(source.id, new SourceCounters());
  }

  listSources(): readonly Source[] {
    return [...this.sources];
  }

  listConnectors(): readonly Connector[] {
    return [...this.connectors];
  }

  addRule(rule: RuntimeRule): void {
    this.rules.set(rule.id, rule);
    routeRule(this.router, rule);
    this.batching = undefined;
  }

  getRule(id: string): RuntimeRule | undefined {
    return this.rules.get(id);
  }

  listRules(): readonly RuntimeRule[] {
    return [...this.rules.values()];
  }

  /**
   * The union of the FROM filters of the rules that read from `source`. Event filters (`$events/…`, legacy
   * names made current) go only to a source that declares events: a client would subscribe to them as topics.
   */
  filtersFor(source: Source): string[] {
    const events = (source.eventTopics?.length ?? 0) > 0;
    const filters = new Set<string>();
    for (const rule of this.rules.values()) {
      if (rule.sourceIds !== undefined && !rule.sourceIds.has(source.id)) continue;
      for (const filter of rule.compiled.topics) {
        if (!isEventTopic(filter)) filters.add(filter);
        else if (events) filters.add(canonicalEventTopic(filter));
      }
    }
    return [...filters];
  }

  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    this.sampler = setInterval(() => this.sampleRates(), this.options.rateIntervalMs);
    this.sampler.unref();
    for (const connector of [...this.connectors]) await connector.start(signal);
    for (const source of [...this.sources]) await this.subscribe(source, signal);
  }

  /** Starts a source with the filters of the rules that read from it, and records them. */
  private async subscribe(source: Source, signal: AbortSignal): Promise<void> {
    const filters = this.filtersFor(source);
    if (filters.length === 0) {
      this.options.logger.warn('source has no rule to feed; it will not subscribe to anything', { source: source.id });
    }
    await source.start(this, filters, signal);
    this.subscribed.set(source.id, [...filters].sort());
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
      input ??= message.eventColumns === undefined ? messageColumns(message, this.options.node) : message.eventColumns(this.options.node);
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

  /**
   * A source's window is full: the actions' lingering records go now. They are what it waits for; a linger would
   * otherwise hold a full window (and with it the whole stream) for its length every time.
   */
  stalled(): void {
    const batching = (this.batching ??= this.batchingActions());
    for (let i = 0; i < batching.length; i++) this.sendNow(batching[i] as Action);
  }

  /**
   * An action's sendNow(), which must not throw: a plugin's that does is logged (throttled), its records wait out
   * their linger, and the caller (a source's event handler, stop(), a retirement) goes on with the other actions.
   */
  private sendNow(action: Action): void {
    try {
      action.sendNow?.();
    } catch (error) {
      this.warnings.warn(`sendNow:${action.id}`, 'action threw in sendNow; its records wait out their linger', () => ({ action: action.id, error: errorText(error) }));
    }
  }

  private batchingActions(): Action[] {
    const actions = new Set<Action>();
    for (const rule of this.rules.values()) {
      for (const action of rule.actions) if (action.action.sendNow !== undefined) actions.add(action.action);
    }
    return [...actions];
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
    this.stopping = true;
    for (const source of this.sources) source.pause();
    // Nothing more comes: what the actions linger on is all they will get, and the drain below waits for it.
    this.stalled();
    for (const action of this.retired) this.sendNow(action.action);
    let unsettled = 0;
    if (this.inflightMessages > 0) {
      await settledWithin(new Promise<void>((resolve) => (this.drained = resolve)), timeoutMs);
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
    // Sources replaced or removed at run time that were still draining: paused already, stopped here, once.
    this.halt();
    for (const source of new Set([...this.retiredSources, ...this.sources])) {
      this.retiredSources.delete(source);
      await attempt(`source ${source.id}`, () => source.stop());
    }
    for (const rule of this.rules.values()) {
      for (const action of rule.actions) await attempt(`action ${action.id}`, () => action.action.close?.());
    }
    // Actions replaced or removed at run time whose retirement had not finished (their messages did not
    // settle before the timeout): close them now, once.
    for (const action of [...this.retired]) {
      this.retired.delete(action);
      await attempt(`action ${action.id}`, () => action.action.close?.());
    }
    // Connectors replaced or removed at run time whose actions had not closed yet, then the installed ones.
    for (const connector of [...this.retiredConnectors, ...this.connectors]) {
      this.retiredConnectors.delete(connector);
      await attempt(`connector ${connector.id}`, () => connector.stop());
    }
    return unsettled;
  }

  /**
   * Run-time rule changes: installs `upserts` (replacing rules of the same id) and removes the rules
   * `removals` names, in one synchronous step. Messages received from now on are routed to the new set;
   * messages already received finish on the rules and actions they were routed to. Actions that are no
   * longer installed are closed once every message received before the change has settled; the promise
   * returned resolves then (callers need not wait for it). The caller (Integration) validated the rules;
   * this cannot fail.
   */
  swapRules(upserts: readonly RuntimeRule[], removals: readonly string[]): Promise<void> {
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
    for (const rule of this.rules.values()) routeRule(router, rule);
    this.router = router;
    this.batching = undefined;
    return dropped.length > 0 ? this.retire(dropped) : Promise.resolve();
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
      const wanted = this.filtersFor(source).sort();
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

  /** Closes `actions` once every message received so far has settled. Resolves when they are closed. */
  private retire(actions: readonly RuntimeAction[]): Promise<void> {
    const settled = this.cutGeneration();
    for (const action of actions) {
      this.retired.add(action);
      // no message reaches it any more: what it lingers on is all it gets, and its retirement waits for that
      this.sendNow(action.action);
    }
    return this.track(settled.then(async () => {
      for (const action of actions) {
        if (!this.retired.delete(action)) continue; // stop() closed it already
        try {
          await action.action.close?.();
        } catch (error) {
          this.options.logger.error('closing a replaced action failed', { action: action.id, error: errorText(error) });
        }
      }
    }));
  }

  /**
   * Starts a new generation of messages; the promise settles once every message received before this call
   * has settled (a counter per generation, nothing per message).
   */
  private cutGeneration(): Promise<void> {
    const previous = this.generation;
    this.generation = new Generation();
    const settled = Promise.all([this.earlierGenerations, previous.settled()]).then(() => undefined);
    this.earlierGenerations = settled;
    return settled;
  }

  private track(retirement: Promise<void>): Promise<void> {
    this.retirements.add(retirement);
    void retirement.finally(() => this.retirements.delete(retirement));
    return retirement;
  }

  /**
   * Run-time connector changes, step 1: starts a connector that is not installed yet, when the runtime is
   * running (before start(), start() will). On failure it is stopped again (it may hold half a connection)
   * and the error propagates; nothing else changed.
   */
  async prepareConnector(connector: Connector): Promise<void> {
    if (this.signal === undefined) return;
    this.refuseWhenStopping(`connector "${connector.id}"`);
    try {
      await connector.start(this.signal);
    } catch (error) {
      await this.stopQuietly(`connector ${connector.id}`, () => connector.stop());
      throw error;
    }
    if (this.stopping) {
      await this.stopQuietly(`connector ${connector.id}`, () => connector.stop());
      this.refuseWhenStopping(`connector "${connector.id}"`);
    }
  }

  /** Stops a prepared connector that will not be installed after all (its rules were refused). */
  async abandonConnector(connector: Connector): Promise<void> {
    if (this.signal !== undefined) await this.stopQuietly(`connector ${connector.id}`, () => connector.stop());
  }

  /**
   * Run-time connector changes, step 2, synchronous: installs prepared connectors, each replacing the one with
   * its id, together with the rule changes that go with them (swapRules: `rules` are the rules whose actions
   * now go through them, and any others changed in the same step; `removals` the rules taken out). An old
   * connector is stopped once the old actions are closed, i.e. once every message received before now has
   * settled and the retirements still running (which may send through it) are done.
   */
  installConnectors(connectors: readonly Connector[], rules: readonly RuntimeRule[], removals: readonly string[] = []): void {
    const replaced: Connector[] = [];
    for (const connector of connectors) {
      const index = this.connectors.findIndex((c) => c.id === connector.id);
      const old = index < 0 ? undefined : this.connectors[index];
      if (old === undefined) this.connectors.push(connector);
      else {
        this.connectors[index] = connector;
        replaced.push(old);
      }
    }
    const earlier = [...this.retirements];
    const retired = this.swapRules(rules, removals);
    for (const old of replaced) this.retireConnector(old, [retired, ...earlier]);
  }

  /** Takes a connector out; the caller checked that no installed action uses it. False if unknown. */
  removeConnector(id: string): boolean {
    const index = this.connectors.findIndex((c) => c.id === id);
    const old = this.connectors[index];
    if (old === undefined) return false;
    this.connectors.splice(index, 1);
    // Actions retired earlier (a rule removed just before) may still be sending through it.
    this.retireConnector(old, [this.cutGeneration(), ...this.retirements]);
    return true;
  }

  private retireConnector(connector: Connector, before: readonly Promise<void>[]): void {
    if (this.signal === undefined) return; // never started: nothing to stop
    this.retiredConnectors.add(connector);
    void this.track(Promise.all(before).then(async () => {
      if (!this.retiredConnectors.delete(connector)) return; // stop() stopped it already
      await this.stopQuietly(`replaced connector ${connector.id}`, () => connector.stop());
    }));
  }

  /**
   * Adds a source, or replaces the one with its id, at run time. When running, the new source is started
   * with the filters of the rules that read from it (a rejection stops it again and propagates: nothing
   * changed); then the old one is paused, and stopped once the messages received before the pause have
   * settled or `drainTimeoutMs` passed (as stop() drains; what did not settle is left to the broker).
   * A source that cannot run beside the old one (Source.replacesInPlace) is started only after the old one
   * stopped (replaceInPlace). Source counters carry on under the same id. Resolves once the new source is in
   * service, without waiting for the old one to stop.
   */
  async upsertSource(source: Source, drainTimeoutMs: number): Promise<void> {
    const index = this.sources.findIndex((s) => s.id === source.id);
    const old = index < 0 ? undefined : this.sources[index];
    if (old !== undefined && this.signal !== undefined && source.replacesInPlace?.(old) === true) {
      await this.replaceInPlace(old, source, drainTimeoutMs);
      return;
    }
    // Counters first: a source may hand over messages before its start() resolves.
    const fresh = !this.sourceCounters.has(source.id);
    if (fresh) this.sourceCounters.set(source.id, new SourceCounters());
    if (this.signal !== undefined) {
      try {
        this.refuseWhenStopping(`source "${source.id}"`);
        await this.subscribe(source, this.signal);
      } catch (error) {
        if (fresh) this.sourceCounters.delete(source.id);
        await this.stopQuietly(`source ${source.id}`, () => source.stop());
        throw error;
      }
      if (this.stopping) {
        // stop() began while it connected: it never joins, and what it handed over drains with the rest.
        source.pause();
        await this.stopQuietly(`source ${source.id}`, () => source.stop());
        this.refuseWhenStopping(`source "${source.id}"`);
      }
    }
    if (old === undefined) this.sources.push(source);
    else this.sources[this.sources.indexOf(old)] = source;
    if (old !== undefined) this.retireSource(old, drainTimeoutMs);
  }

  /**
   * Replaces a running source that cannot run beside its replacement (same listen address, same broker
   * session): pause the old one, let the messages received before the pause settle (at most
   * `drainTimeoutMs`), stop it, then start the new one. If the new one cannot start, the old one is started
   * again (with the rules' filters of the moment) and the new one's error propagates; intake pauses meanwhile.
   */
  private async replaceInPlace(old: Source, source: Source, drainTimeoutMs: number): Promise<void> {
    const signal = this.signal as AbortSignal;
    this.refuseWhenStopping(`source "${source.id}"`);
    old.pause();
    this.retiredSources.add(old); // stop() beginning during the drain stops it (once: it is also in sources)
    const drained = await settledWithin(Promise.race([this.cutGeneration(), this.halted]), drainTimeoutMs);
    if (!this.retiredSources.delete(old)) this.refuseWhenStopping(`source "${source.id}"`); // stop() took over
    if (!drained) {
      this.options.logger.warn('a replaced source stops with messages in flight; they stay unacknowledged for the broker to redeliver', { source: old.id });
    }
    // Out of the list while it stops and the new one starts, so a stop() beginning now leaves both to this change.
    const index = this.sources.indexOf(old);
    this.sources.splice(index, 1);
    this.subscribed.delete(old.id);
    await this.stopQuietly(`replaced source ${old.id}`, () => old.stop());
    try {
      this.refuseWhenStopping(`source "${source.id}"`);
      await this.subscribe(source, signal);
    } catch (error) {
      await this.stopQuietly(`source ${source.id}`, () => source.stop());
      await this.startAgain(old, index);
      throw error;
    }
    if (this.stopping) {
      // stop() began while it started: it never joins, and what it handed over drains with the rest.
      source.pause();
      await this.stopQuietly(`source ${source.id}`, () => source.stop());
      this.refuseWhenStopping(`source "${source.id}"`);
    }
    this.sources.splice(index, 0, source);
  }

  /** After a failed in-place replacement: the old source goes back in service, or stays listed, stopped, if it cannot. */
  private async startAgain(old: Source, index: number): Promise<void> {
    if (this.stopping) return; // stopped already, as stop() wants it
    this.sources.splice(index, 0, old);
    try {
      await this.subscribe(old, this.signal as AbortSignal);
      this.options.logger.warn('the replacement source could not start; the previous one runs again', { source: old.id });
    } catch (error) {
      this.options.logger.error('the replacement source could not start, nor could the previous one start again; the source takes no messages until it is changed or restarted', { source: old.id, error: errorText(error) });
    }
  }

  /** Takes a source out (paused at once, stopped as upsertSource stops a replaced one). False if unknown. */
  removeSource(id: string, drainTimeoutMs: number): boolean {
    const index = this.sources.findIndex((s) => s.id === id);
    const old = this.sources[index];
    if (old === undefined) return false;
    this.sources.splice(index, 1);
    this.subscribed.delete(id);
    this.sourceCounters.delete(id); // messages in flight keep their counters through their Settlement
    this.retireSource(old, drainTimeoutMs);
    return true;
  }

  private retireSource(source: Source, drainTimeoutMs: number): void {
    if (this.signal === undefined) return; // never started
    source.pause();
    this.retiredSources.add(source);
    const settled = this.cutGeneration();
    void this.track((async () => {
      const drained = await settledWithin(Promise.race([settled, this.halted]), drainTimeoutMs);
      if (!this.retiredSources.delete(source)) return; // stop() stopped it already
      if (!drained) {
        this.options.logger.warn('a replaced source stops with messages in flight; they stay unacknowledged for the broker to redeliver', { source: source.id });
      }
      await this.stopQuietly(`replaced source ${source.id}`, () => source.stop());
    })());
  }

  private refuseWhenStopping(what: string): void {
    if (this.stopping) throw new IntegrationError('ERR_STOPPED', `cannot add ${what}: the integration is stopping`);
  }

  private async stopQuietly(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      this.options.logger.error(`stopping ${what} failed`, { error: errorText(error) });
    }
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
    if (counters === undefined) return undefined;
    const source = this.sources.find((s) => s.id === id);
    return snapshotSource(counters, source === undefined ? undefined : this.reportedSourceMetrics(source));
  }

  sourceMetricKinds(id: string): Readonly<Record<string, ActionMetricKind>> | undefined {
    const source = this.sources.find((s) => s.id === id);
    return source === undefined ? undefined : (source.metricKinds ?? {});
  }

  /** A source's own metrics; like a connector's, user code: if metrics() throws, they are left out and the error logged. */
  private reportedSourceMetrics(source: Source): Readonly<Record<string, number>> | undefined {
    try {
      return source.metrics?.();
    } catch (error) {
      this.warnings.warn(`source-metrics:${source.id}`, 'the source\'s metrics() threw; its own metrics are left out', () => ({
        source: source.id,
        error: errorText(error),
      }));
      return undefined;
    }
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

/** Routes a rule under its FROM filters; an event filter under its current name, the topic sources deliver events under. */
function routeRule(router: TopicRouter<RuntimeRule>, rule: RuntimeRule): void {
  for (const filter of rule.compiled.topics) router.add(isEventTopic(filter) ? canonicalEventTopic(filter) : filter, rule);
}

/** Waits for `settled`, at most `timeoutMs`; true when it settled in time. */
async function settledWithin(settled: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let inTime = false;
  await Promise.race([
    settled.then(() => void (inTime = true)),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  return inTime;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { Container, type ContainerModule } from 'inversify';
import { ConfigError, DuplicateIdError, IntegrationError, RuleSyntaxError } from './errors';
import {
  RuleDefinition,
  actionIdsOf,
  parseIntegrationConfig,
  type IntegrationConfigInput,
  type RuleDefinitionOutput,
} from './integration-config';
import { parseConfig } from './config';
import { withFallbacks } from './fallback-action';
import { Logger, silentLogger } from './logger';
import { ActionCounters, RuleCounters, type ActionMetrics, type RuleMetrics, type SourceMetrics } from './metrics';
import { RuleEngine } from './rule-engine';
import { Runtime, type RuntimeAction, type RuntimeRule } from './runtime';
import { Connector, type ConnectionTestReport, type DropReason, type Action, type ActionMetricKind, type RecordBrowser } from './connector';
import { Source, type ConnectorStatus } from './source';
import { EVENT_KINDS, eventTopicsMatching, isEventTopic } from './events';

export interface IntegrationOptions extends IntegrationConfigInput {
  /** Plugin modules: sources (mqttModule), the rule engine (sqlModule), connectors (kafkaModule, connectorModule). */
  readonly modules: readonly ContainerModule[];
  /** Where Sluice logs; silent by default. Adapt the host's pino/winston logger to Logger. */
  readonly logger?: Logger;
}

/** Read access to the metrics of a running integration, with EMQX's metric names. */
export interface IntegrationMetrics {
  rule(id: string): RuleMetrics | undefined;
  action(id: string): ActionMetrics | undefined;
  source(id: string): SourceMetrics | undefined;
  /**
   * How the keys of an action's `connector` metrics behave (Action.metricKinds): `counter` or `gauge`;
   * keys the connector did not declare are absent. Undefined for an unknown action. For exporters.
   */
  actionMetricKinds(actionId: string): Readonly<Record<string, ActionMetricKind>> | undefined;
  /** How the keys of a source's `connector` metrics behave (Source.metricKinds); undefined for an unknown source. */
  sourceMetricKinds(sourceId: string): Readonly<Record<string, ActionMetricKind>> | undefined;
  /** Everything at once, keyed by id. */
  snapshot(): {
    rules: Record<string, RuleMetrics>;
    actions: Record<string, ActionMetrics>;
    sources: Record<string, SourceMetrics>;
  };
  /** Zeroes a rule's counters and those of its actions (EMQX's "reset metrics"). */
  resetRule(id: string): boolean;
}

export interface RuleInfo {
  readonly id: string;
  readonly sql: string;
  readonly topics: readonly string[];
  readonly enabled: boolean;
  readonly actions: readonly { readonly id: string; readonly connector: string }[];
}

/** A composed, not yet started Sluice pipeline. */
export interface Integration {
  /** Connects connectors, then subscribes sources. Rejects with a clear error when a connector cannot start. */
  start(): Promise<void>;
  /**
   * Stops intake, drains in-flight messages (up to stopTimeoutMs) so their acknowledgements go out,
   * then closes everything. Safe to call twice.
   */
  stop(): Promise<void>;
  readonly metrics: IntegrationMetrics;
  rules(): readonly RuleInfo[];
  /** Enables or disables a rule; a disabled rule matches nothing. Returns false for an unknown id. */
  setRuleEnabled(id: string, enabled: boolean): boolean;
  /** Runs the staged connection test of every connector that has one. */
  testConnections(): Promise<ConnectionTestReport[]>;
  /** Connection state of every source and connector that reports one. */
  status(): Record<string, ConnectorStatus>;
  /**
   * Creates a rule, or replaces the rule with the same id, before or while running. Everything is
   * validated and the actions are created first: a bad rule or action is refused (ConfigError whose
   * issue paths are relative to the definition, e.g. `sql` with the RuleSyntaxError as `cause`, or
   * `actions[0].topic`) and nothing changes. Messages received from then on go to the new rule; those
   * already in flight finish on the old one, whose actions are closed once they have settled. The rule's
   * counters, and those of actions keeping their id, carry on.
   */
  upsertRule(definition: RuleDefinition): Promise<RuleChangeReport>;
  /** Removes a rule (its actions are closed once its in-flight messages have settled). False if unknown. */
  removeRule(id: string): Promise<boolean>;
  /**
   * Makes the installed rules equal to `definitions` in one step (config reload): new ids are added,
   * changed definitions replaced, missing ids removed, identical ones left alone (with their state, e.g.
   * disabled). All-or-nothing: the first invalid rule refuses the whole set (paths `rules[i]...`).
   */
  setRules(definitions: readonly RuleDefinition[]): Promise<RuleChangeReport>;
  /** The definition a rule was installed from (defaults applied), for comparisons and the REST API. */
  ruleDefinition(id: string): RuleDefinitionOutput | undefined;
  /**
   * Adds the connector `module` binds (exactly one Connector, else ConfigError), or replaces the installed
   * connector with its id, before or while running. The module is loaded into a child container of the
   * integration's (it sees the Logger). A new connector is started (when running) and then usable by
   * rules. A replacement is started first; every rule with an action or fallback action through it is
   * rebuilt from its definition against the new connector (its createAction validates: a refusal is a
   * ConfigError with paths `rules[i]...`, i the rule's position in rules(), and nothing changes); those
   * rules are swapped in one step (counters and enabled state carry on); messages in flight finish on the
   * old actions, which are closed once they settled, and then the old connector is stopped. A start()
   * rejection propagates and nothing changes. Serialized with rule changes; ERR_STOPPED once stopping.
   */
  upsertConnector(module: ContainerModule, options?: ConnectorChangeOptions): Promise<ConnectorChangeReport>;
  /**
   * upsertConnector for several connectors at once, in one swap (config reload): all are started first; one
   * that cannot start, or one refused rule, stops those already started and nothing changes. With
   * `options.rules`, the rules become exactly those (as setRules) in the same swap.
   */
  upsertConnectors(modules: readonly ContainerModule[], options?: ConnectorChangeOptions): Promise<ConnectorsChangeReport>;
  /**
   * Removes a connector (stopped once the messages in flight settled). Refused with a ConfigError (issue
   * path '', the message names the rules and actions) while an action or fallback action uses it. False
   * for an unknown id.
   */
  removeConnector(id: string): Promise<boolean>;
  /**
   * Adds the source `module` binds (exactly one Source, else ConfigError), or replaces the installed
   * source with its id. When running, the new source is started with the filters of the rules that read
   * from it (a rejection propagates, nothing changes); a replaced source is then paused and stopped once
   * the messages received before the pause settled (at most stopTimeoutMs; what did not settle is left to
   * the broker). A source that cannot run beside the old one (Source.replacesInPlace: same listen port)
   * starts only once the old one was paused, drained and stopped; if it then fails to start, the old one is
   * started again and the error propagates. Its metrics carry on under the same id. `rulesRebuilt` is always
   * empty for sources.
   */
  upsertSource(module: ContainerModule): Promise<ComponentChangeReport>;
  /**
   * Removes a source (paused at once, stopped as a replaced one). Refused with a ConfigError (issue path
   * '') while a rule names it in `sources`. False for an unknown id.
   */
  removeSource(id: string): Promise<boolean>;
  /** Ids of the installed connectors, in installation order. */
  connectorIds(): readonly string[];
  /** Ids of the installed sources, in installation order. */
  sourceIds(): readonly string[];
  /** The connector's RecordBrowser (Connector.browser), undefined when the connector is unknown or has none. */
  browser(connectorId: string): RecordBrowser | undefined;
  /** The staged connection test of one installed connector; undefined when unknown or it has no test. */
  testConnection(connectorId: string): Promise<ConnectionTestReport | undefined>;
}

/**
 * What upsertConnector / upsertSource did. Both false: the module bound the very object already installed,
 * and nothing changed.
 */
export interface ComponentChangeReport {
  /** The connector's or source's id. */
  readonly id: string;
  /** No component had this id: it was added. */
  readonly added: boolean;
  /** A component with this id was replaced by a new object. */
  readonly replaced: boolean;
  /** Rules rebuilt against the new connector (they have an action or fallback action through it). */
  readonly rulesRebuilt: readonly string[];
}

export interface ConnectorChangeOptions {
  /**
   * The complete set of rules to install in the same step as the connector (as setRules would: new ids added,
   * changed ones replaced, missing ones removed), built against the new connector: for an edit where the
   * connector's new settings need matching action settings (a Kafka producer made idempotent needs
   * `requiredAcks: all`). Refusals carry paths `rules[i]...`, i the position in this list. Without it, the
   * installed definitions of the rules through the connector are rebuilt against it.
   */
  readonly rules?: readonly RuleDefinition[];
}

/** What upsertConnector did; `rules` when ConnectorChangeOptions.rules was given. */
export interface ConnectorChangeReport extends ComponentChangeReport {
  readonly rules?: RuleChangeReport;
}

/** What upsertConnectors did: one report per module, in their order; `rules` when they were given. */
export interface ConnectorsChangeReport {
  readonly connectors: readonly ComponentChangeReport[];
  readonly rules?: RuleChangeReport;
}

/** What a run-time rule change did. */
export interface RuleChangeReport {
  readonly added: readonly string[];
  readonly replaced: readonly string[];
  readonly removed: readonly string[];
  /**
   * Sources whose subscriptions should change but that cannot change them at run time: the rules are
   * installed, but messages on new topics reach them only after a restart.
   */
  readonly restartNeeded: readonly string[];
}

/**
 * Composes modules, rules and actions into an Integration. Everything is validated here, before
 * anything connects: the rules' SQL (RuleSyntaxError naming the rule), the action settings (ConfigError
 * from the connector, with the action's path) and ids (DuplicateIdError / ConfigError).
 */
export async function createIntegration(options: IntegrationOptions): Promise<Integration> {
  const { modules, logger: givenLogger, ...rest } = options;
  const config = parseIntegrationConfig(rest);
  const logger = givenLogger ?? silentLogger;

  const container = new Container();
  container.bind<Logger>(Logger).toConstantValue(logger);
  await container.load(...modules);
  const sources = uniqueById('source', container.getAll<Source>(Source, { optional: true }));
  const connectors = uniqueById('connector', container.getAll<Connector>(Connector, { optional: true }));
  if (!container.isBound(RuleEngine)) {
    throw new IntegrationError('ERR_CONFIG_INVALID', 'no rule engine is bound: add sqlModule() from @sluice/sql to modules');
  }
  const engine = container.get<RuleEngine>(RuleEngine);
  // Kept in step with the runtime's lists by the run-time component changes below.
  const connectorsById = new Map(connectors.map((connector) => [connector.id, connector]));
  const sourceIds = new Set(sources.map((source) => source.id));

  const runtime = new Runtime(sources, connectors, { logger, node: config.node, rateIntervalMs: config.rateIntervalMs });
  const builder: RuleBuilder = { engine, connectorsById, sourceIds, sources: () => runtime.listSources(), logger, rateIntervalMs: config.rateIntervalMs };
  const definitions = new Map<string, RuleDefinitionOutput>();
  config.rules.forEach((rule, r) => {
    runtime.addRule(buildRuntimeRule(builder, rule, `rules[${r}]`, undefined));
    definitions.set(rule.id, rule);
  });

  let state: 'created' | 'starting' | 'running' | 'stopping' | 'stopped' = 'created';
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  /** The connector or source change running at the moment, if any: start() waits for it. */
  let componentChange: Promise<unknown> | undefined;
  /** Serializes run-time rule changes. */
  let ruleChanges: Promise<unknown> = Promise.resolve();
  const abort = new AbortController();

  const metrics: IntegrationMetrics = {
    rule: (id) => runtime.ruleMetrics(id),
    action: (id) => runtime.actionMetrics(id),
    source: (id) => runtime.sourceMetrics(id),
    actionMetricKinds: (actionId) => runtime.actionMetricKinds(actionId),
    sourceMetricKinds: (sourceId) => runtime.sourceMetricKinds(sourceId),
    snapshot: () => {
      const out = { rules: {} as Record<string, RuleMetrics>, actions: {} as Record<string, ActionMetrics>, sources: {} as Record<string, SourceMetrics> };
      for (const rule of runtime.listRules()) {
        out.rules[rule.id] = runtime.ruleMetrics(rule.id) as RuleMetrics;
        for (const action of rule.actions) out.actions[action.id] = runtime.actionMetrics(action.id) as ActionMetrics;
      }
      for (const source of runtime.listSources()) out.sources[source.id] = runtime.sourceMetrics(source.id) as SourceMetrics;
      return out;
    },
    resetRule: (id) => {
      const rule = runtime.getRule(id);
      if (rule === undefined) return false;
      rule.counters.reset();
      for (const action of rule.actions) action.counters.reset();
      return true;
    },
  };

  return {
    metrics,
    start() {
      if (state !== 'created') return Promise.reject(new IntegrationError('ERR_STOPPED', `cannot start an integration that is ${state}`));
      state = 'starting';
      starting = (async () => {
        // A connector or source being installed would otherwise miss both start() and its own start.
        await componentChange?.catch(() => undefined);
        logger.info('starting', { sources: ids(runtime.listSources()), connectors: ids(runtime.listConnectors()), rules: definitions.size });
        try {
          await runtime.start(abort.signal);
        } catch (error) {
          abort.abort();
          await runtime.stop(0);
          state = 'stopped';
          throw error;
        }
        state = 'running';
        logger.info('started', {});
      })();
      return starting;
    },
    stop() {
      if (state === 'stopped') return Promise.resolve();
      stopping ??= (async () => {
        state = 'stopping';
        abort.abort();
        await runtime.stop(config.stopTimeoutMs);
        state = 'stopped';
        logger.info('stopped', {});
      })();
      return stopping;
    },
    rules: () =>
      runtime.listRules().map((rule) => ({
        id: rule.id,
        sql: rule.sql,
        topics: rule.compiled.topics,
        enabled: rule.enabled,
        actions: rule.actions.map((action) => ({ id: action.id, connector: action.connectorId })),
      })),
    setRuleEnabled(id, enabled) {
      const rule = runtime.getRule(id);
      if (rule === undefined) return false;
      rule.enabled = enabled;
      return true;
    },
    async testConnections() {
      const reports: ConnectionTestReport[] = [];
      for (const connector of runtime.listConnectors()) if (connector.test !== undefined) reports.push(await connector.test());
      return reports;
    },
    status() {
      const out: Record<string, ConnectorStatus> = {};
      for (const c of [...runtime.listSources(), ...runtime.listConnectors()]) if (c.status !== undefined) out[c.id] = c.status();
      return out;
    },
    upsertRule(definition) {
      return changeRules(() => {
        const rule = parseConfig('integration', RuleDefinition, definition);
        const unchanged = sameDefinition(definitions.get(rule.id), rule);
        return { upserts: unchanged ? [] : [{ rule, path: '' }], removals: [] };
      });
    },
    async removeRule(id) {
      if (!definitions.has(id)) return false;
      const report = await changeRules(() => ({ upserts: [], removals: definitions.has(id) ? [id] : [] }));
      return report.removed.length > 0;
    },
    setRules(given) {
      return changeRules(() => {
        const wanted = parseRuleSet(given);
        const upserts = wanted
          .map((rule, r) => ({ rule, path: `rules[${r}]` }))
          .filter(({ rule }) => !sameDefinition(definitions.get(rule.id), rule));
        const ids = new Set(wanted.map((rule) => rule.id));
        return { upserts, removals: [...definitions.keys()].filter((id) => !ids.has(id)) };
      });
    },
    ruleDefinition: (id) => definitions.get(id),
    async upsertConnector(module, options) {
      const report = await changeConnectors([module], options?.rules);
      const [connector] = report.connectors as [ComponentChangeReport];
      return report.rules === undefined ? connector : { ...connector, rules: report.rules };
    },
    upsertConnectors: (modules, options) => changeConnectors(modules, options?.rules),
    removeConnector(id) {
      return changeComponents('connectors', async () => {
        if (!connectorsById.has(id)) return false;
        const users = [...definitions.values()].flatMap((rule) => actionIdsOf(rule)
          .filter((_, a) => throughConnector(rule.actions[a], id))
          .map((actionId) => `${actionId} (rule "${rule.id}")`));
        if (users.length > 0) {
          throw new ConfigError('integration', [{ path: '', message: `connector "${id}" is used by action ${users.join(', ')}: change or remove those rules first` }]);
        }
        runtime.removeConnector(id);
        connectorsById.delete(id);
        logger.info('connector removed', { connector: id });
        return true;
      });
    },
    upsertSource(module) {
      return changeComponents('sources', async () => {
        const source = await loadOne<Source>(container, module, Source, 'source');
        if (runtime.listSources().includes(source)) return { id: source.id, added: false, replaced: false, rulesRebuilt: [] };
        const added = !sourceIds.has(source.id);
        checkEventRulesStay(runtime, [...runtime.listSources().filter((s) => s.id !== source.id), source], `source "${source.id}" would replace one that reports events`);
        await runtime.upsertSource(source, config.stopTimeoutMs);
        sourceIds.add(source.id);
        logger.info(added ? 'source added' : 'source replaced', { source: source.id });
        return { id: source.id, added, replaced: !added, rulesRebuilt: [] };
      });
    },
    removeSource(id) {
      return changeComponents('sources', async () => {
        if (!sourceIds.has(id)) return false;
        const users = [...definitions.values()].filter((rule) => rule.sources?.includes(id)).map((rule) => `"${rule.id}"`);
        if (users.length > 0) {
          throw new ConfigError('integration', [{ path: '', message: `source "${id}" is named in the sources of rule ${users.join(', ')}: change or remove those rules first` }]);
        }
        checkEventRulesStay(runtime, runtime.listSources().filter((s) => s.id !== id), `source "${id}" reports events`);
        runtime.removeSource(id, config.stopTimeoutMs);
        sourceIds.delete(id);
        logger.info('source removed', { source: id });
        return true;
      });
    },
    connectorIds: () => ids(runtime.listConnectors()),
    sourceIds: () => ids(runtime.listSources()),
    browser: (connectorId) => connectorsById.get(connectorId)?.browser?.(),
    testConnection: async (connectorId) => connectorsById.get(connectorId)?.test?.(),
  };

  /**
   * Installs connectors (new ones added, others replacing those with their ids) and the rule changes they
   * need, in one swap. The connectors are started first. Without `given`, every installed rule with an action
   * or fallback action through one of them is rebuilt from its stored definition (paths `rules[i]` by position
   * in rules()); with `given`, the rules become exactly `given` (as setRules), those through the connectors
   * built against them even when their definition did not change. Counters carry on, and so does the enabled
   * state of a rule whose definition did not change. All or nothing: a refusal closes what was built, stops
   * the new connectors and throws.
   */
  function changeConnectors(modules: readonly ContainerModule[], given: readonly RuleDefinition[] | undefined): Promise<ConnectorsChangeReport> {
    return changeComponents('connectors', async () => {
      const loaded: Connector[] = [];
      for (const module of modules) loaded.push(await loadOne<Connector>(container, module, Connector, 'connector'));
      uniqueById('connector', loaded);
      const wanted = given === undefined ? undefined : parseRuleSet(given);
      // The installed object itself (a module binding a constant, loaded again): starting and then stopping it would break it.
      const changing = loaded.filter((connector) => connectorsById.get(connector.id) !== connector);
      const prepared: Connector[] = [];
      const abandon = async (): Promise<void> => {
        for (const connector of prepared) await runtime.abandonConnector(connector);
      };
      try {
        for (const connector of changing) {
          await runtime.prepareConnector(connector);
          prepared.push(connector);
        }
      } catch (error) {
        await abandon();
        throw error;
      }
      const changedIds = [...new Set(changing.map((connector) => connector.id))];
      const through = (rule: RuleDefinitionOutput): boolean => rule.actions.some((action) => changedIds.some((id) => throughConnector(action, id)));
      const candidates = wanted === undefined
        ? [...definitions.values()].map((rule, r) => ({ rule, path: `rules[${r}]` })).filter(({ rule }) => through(rule))
        : wanted.map((rule, r) => ({ rule, path: `rules[${r}]` })).filter(({ rule }) => through(rule) || !sameDefinition(definitions.get(rule.id), rule));
      const removals = wanted === undefined ? [] : [...definitions.keys()].filter((id) => !wanted.some((rule) => rule.id === id));
      const connectorsNow = new Map(connectorsById);
      for (const connector of changing) connectorsNow.set(connector.id, connector);
      let built: RuntimeRule[];
      try {
        checkActionIds(runtime, candidates, removals);
        built = buildRules({ ...builder, connectorsById: connectorsNow }, candidates);
      } catch (error) {
        await abandon();
        throw error;
      }
      const added = candidates.filter(({ rule }) => !definitions.has(rule.id)).map(({ rule }) => rule.id);
      // only definitions that changed: rules rebuilt as they were are the connectors' rulesRebuilt
      const replaced = candidates.filter(({ rule }) => definitions.has(rule.id) && !sameDefinition(definitions.get(rule.id), rule)).map(({ rule }) => rule.id);
      const existed = new Set(changing.filter((connector) => connectorsById.has(connector.id)).map((connector) => connector.id));
      runtime.installConnectors(changing, built, removals);
      for (const connector of changing) connectorsById.set(connector.id, connector);
      for (const { rule } of candidates) definitions.set(rule.id, rule);
      for (const id of removals) definitions.delete(id);
      const reports = loaded.map((connector): ComponentChangeReport => {
        if (!changing.includes(connector)) return { id: connector.id, added: false, replaced: false, rulesRebuilt: [] };
        const rulesRebuilt = built.filter((rule) => definitions.get(rule.id)?.actions.some((action) => throughConnector(action, connector.id)) === true).map((rule) => rule.id);
        const isNew = !existed.has(connector.id);
        logger.info(isNew ? 'connector added' : 'connector replaced', { connector: connector.id, rulesRebuilt });
        return { id: connector.id, added: isNew, replaced: !isNew, rulesRebuilt };
      });
      if (wanted === undefined) return { connectors: reports };
      for (const id of added) logger.info('rule added', { rule: id, topics: runtime.getRule(id)?.compiled.topics });
      for (const id of replaced) logger.info('rule replaced', { rule: id, topics: runtime.getRule(id)?.compiled.topics });
      for (const id of removals) logger.info('rule removed', { rule: id });
      const restartNeeded = await runtime.updateSubscriptions();
      if (restartNeeded.length > 0) {
        logger.warn('sources cannot change their subscriptions at run time; restart to receive the new topics', { sources: restartNeeded });
      }
      return { connectors: reports, rules: { added, replaced, removed: removals, restartNeeded } };
    });
  }

  /**
   * Builds `rules` (compiled, actions created through `with`'s connectors). Counters carry over from the
   * installed rule and actions with the same ids, and so does the enabled state when the definition did not
   * change. All or nothing: a refusal closes what was built and throws.
   */
  function buildRules(with_: RuleBuilder, rules: ReadonlyArray<{ rule: RuleDefinitionOutput; path: string }>): RuntimeRule[] {
    const counters = actionCountersOf(runtime);
    const built: RuntimeRule[] = [];
    try {
      for (const { rule, path } of rules) {
        const old = runtime.getRule(rule.id);
        const next = buildRuntimeRule(with_, rule, path, old === undefined ? undefined : { rule: old.counters, actions: counters });
        if (old !== undefined && sameDefinition(definitions.get(rule.id), rule)) next.enabled = old.enabled;
        built.push(next);
      }
    } catch (error) {
      for (const rule of built) for (const action of rule.actions) void action.action.close?.().catch(() => undefined);
      throw error;
    }
    return built;
  }

  /**
   * Run-time connector and source changes go through the rule-change queue, so rule and component changes
   * never interleave. One that begins during start() waits for it; start() waits for one in progress: a
   * component is either started by start() or by its own change, never by neither.
   */
  function changeComponents<T>(what: string, change: () => Promise<T>): Promise<T> {
    const next = ruleChanges.then(async (): Promise<T> => {
      if (state === 'starting') await starting?.catch(() => undefined);
      if (state === 'stopping' || state === 'stopped') throw new IntegrationError('ERR_STOPPED', `cannot change ${what} of an integration that is ${state}`);
      const running = change();
      componentChange = running;
      try {
        return await running;
      } finally {
        componentChange = undefined;
      }
    });
    ruleChanges = next.catch(() => undefined);
    return next;
  }

  /**
   * Run-time rule changes, one at a time: `plan` picks what to change (it sees the rules of the
   * moment); every new rule is built (compiled, actions created) before anything is swapped, so a
   * refusal changes nothing; then the runtime swaps in one step and the sources' subscriptions follow.
   */
  function changeRules(plan: () => { upserts: Array<{ rule: RuleDefinitionOutput; path: string }>; removals: string[] }): Promise<RuleChangeReport> {
    const next = ruleChanges.then(async (): Promise<RuleChangeReport> => {
      if (state === 'stopping' || state === 'stopped') throw new IntegrationError('ERR_STOPPED', `cannot change rules of an integration that is ${state}`);
      const { upserts, removals } = plan();
      checkActionIds(runtime, upserts, removals);
      const built: RuntimeRule[] = [];
      try {
        for (const { rule, path } of upserts) {
          const old = runtime.getRule(rule.id);
          built.push(buildRuntimeRule(builder, rule, path, old === undefined ? undefined : { rule: old.counters, actions: actionCountersOf(runtime) }));
        }
      } catch (error) {
        for (const rule of built) for (const action of rule.actions) void action.action.close?.().catch(() => undefined);
        throw error;
      }
      const added = upserts.filter(({ rule }) => !definitions.has(rule.id)).map(({ rule }) => rule.id);
      const replaced = upserts.filter(({ rule }) => definitions.has(rule.id)).map(({ rule }) => rule.id);
      void runtime.swapRules(built, removals);
      for (const { rule } of upserts) definitions.set(rule.id, rule);
      for (const id of removals) definitions.delete(id);
      for (const id of added) logger.info('rule added', { rule: id, topics: runtime.getRule(id)?.compiled.topics });
      for (const id of replaced) logger.info('rule replaced', { rule: id, topics: runtime.getRule(id)?.compiled.topics });
      for (const id of removals) logger.info('rule removed', { rule: id });
      const restartNeeded = await runtime.updateSubscriptions();
      if (restartNeeded.length > 0) {
        logger.warn('sources cannot change their subscriptions at run time; restart to receive the new topics', { sources: restartNeeded });
      }
      return { added, replaced, removed: removals, restartNeeded };
    });
    ruleChanges = next.catch(() => undefined);
    return next;
  }
}


const ids = (items: readonly { readonly id: string }[]): string[] => items.map((item) => item.id);

/** A complete rule set (setRules, upsertConnector's `rules`): parsed, defaults applied, ids unique. */
function parseRuleSet(given: readonly RuleDefinition[]): RuleDefinitionOutput[] {
  const wanted = parseConfig('integration', RuleDefinition.array(), given, 'rules');
  const duplicate = wanted.findIndex((rule, r) => wanted.findIndex((other) => other.id === rule.id) !== r);
  if (duplicate >= 0) throw new ConfigError('integration', [{ path: `rules[${duplicate}].id`, message: `another rule already has the id "${wanted[duplicate]?.id ?? ''}"` }]);
  return wanted;
}

/** Whether an action, or one of its fallback actions, goes through connector `id`. */
function throughConnector(action: RuleDefinitionOutput['actions'][number] | undefined, id: string): boolean {
  return action !== undefined && (action.connector === id || (action.fallbackActions ?? []).some((fallback) => fallback.connector === id));
}

/**
 * Loads a module for a run-time change into a child container (it inherits the Logger and anything else
 * the integration's container binds) and returns the one `token` it binds: refused with a ConfigError when
 * it binds none or several. Only the child's own bindings count, not those inherited from the parent.
 */
async function loadOne<T extends { readonly id: string }>(parent: Container, module: ContainerModule, token: symbol, kind: string): Promise<T> {
  const child = new Container({ parent });
  await child.load(module);
  const found = child.isCurrentBound(token) ? child.getAll<T>(token) : [];
  if (found.length !== 1) {
    const named = found.length === 0 ? 'none' : `${found.length} (${ids(found).join(', ')})`;
    throw new ConfigError('integration', [{ path: '', message: `the module must bind exactly one ${kind}; it binds ${named}` }]);
  }
  return found[0] as T;
}

function uniqueById<T extends { readonly id: string }>(kind: string, items: readonly T[]): T[] {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) throw new DuplicateIdError(kind, item.id);
    seen.add(item.id);
  }
  return [...items];
}

/** What building a rule needs from the composed integration. */
interface RuleBuilder {
  readonly engine: RuleEngine;
  readonly connectorsById: ReadonlyMap<string, Connector>;
  readonly sourceIds: ReadonlySet<string>;
  /** The installed sources, for the events they can report. */
  readonly sources: () => readonly Source[];
  readonly logger: Logger;
  readonly rateIntervalMs: number;
}

/**
 * Refuses a FROM event filter (`$events/…`) that names no event, or whose events none of the rule's sources
 * can report (an MQTT client subscribed to another broker never sees other clients connect): such a rule would
 * never fire, so it is an error naming the rule, the event and the fix.
 */
function checkEventFilters(rule: Pick<RuleDefinitionOutput, 'id'>, topics: readonly string[], sources: readonly Source[], path: string): void {
  const issues: { path: string; message: string }[] = [];
  for (const filter of topics) {
    if (!isEventTopic(filter)) continue;
    const events = eventTopicsMatching(filter);
    if (events.length === 0) {
      issues.push({ path: joinPath(path, 'sql'), message: `rule "${rule.id}": FROM "${filter}" names no event (known: ${EVENT_KINDS.map((k) => k.topic).join(', ')})` });
      continue;
    }
    const reported = sources.flatMap((source) => eventTopicsMatching(filter, source.eventTopics ?? []));
    if (reported.length > 0) continue;
    issues.push({ path: joinPath(path, 'sql'), message: `rule "${rule.id}": FROM "${filter}" selects ${events.join(', ')}, but ${whyNoSourceReports(sources)}` });
  }
  if (issues.length > 0) throw new ConfigError('integration', issues);
}

/**
 * Refuses a source change after which an installed rule would select events none of its sources reports
 * (the check rules get when they are built, run again over every rule against the sources to come).
 */
function checkEventRulesStay(runtime: Runtime, sources: readonly Source[], what: string): void {
  for (const rule of runtime.listRules()) {
    const mine = rule.sourceIds === undefined ? sources : sources.filter((s) => rule.sourceIds?.has(s.id) === true);
    try {
      checkEventFilters({ id: rule.id }, rule.compiled.topics, mine, '');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError('integration', error.issues.map((issue) => ({ path: '', message: `${what} that rule "${rule.id}" needs: change or remove that rule first (${issue.message})` })));
    }
  }
}

/** The end of the refusal of an event filter: why none of `sources` reports it, and the fix. */
function whyNoSourceReports(sources: readonly Source[]): string {
  const fix = 'client and session events come from an embedded broker, which devices connect to: read them from a source of type mqtt-broker';
  if (sources.length === 0) return `no source is configured; ${fix}`;
  const reporting = sources.filter((s) => (s.eventTopics?.length ?? 0) > 0);
  const named = sources.map((s) => `"${s.id}"`).join(', ');
  if (reporting.length === 0) {
    return `the rule's sources (${named}) report no events (an MQTT client source only receives the messages of its own subscriptions; it never sees other clients connect, subscribe or receive); ${fix}`;
  }
  const topics = [...new Set(reporting.flatMap((s) => s.eventTopics ?? []))];
  return `the rule's sources (${named}) report only ${topics.join(', ')}; see docs/mqtt.md "Events of the embedded broker" for what cannot be observed`;
}

/** `rules[2]` + `sql` → `rules[2].sql`; '' + `sql` → `sql`. */
const joinPath = (prefix: string, path: string): string => (prefix === '' ? path : path === '' ? prefix : `${prefix}.${path}`);

/**
 * Compiles a rule and creates its actions through their connectors. Throws ConfigError with paths under
 * `path` (a RuleSyntaxError as `cause` for SQL). `reuse` carries counters over from a replaced rule.
 * Used at composition and for run-time changes alike, so both validate the same way.
 */
function buildRuntimeRule(
  builder: RuleBuilder,
  rule: RuleDefinitionOutput,
  path: string,
  reuse: { rule: RuleCounters; actions: ReadonlyMap<string, ActionCounters> } | undefined,
): RuntimeRule {
  const { engine, connectorsById, sourceIds, logger, rateIntervalMs } = builder;
  let compiled;
  try {
    compiled = engine.compileRule(rule.sql, { ruleId: rule.id });
  } catch (error) {
    if (error instanceof RuleSyntaxError || IntegrationError.is(error)) {
      throw new ConfigError('integration', [{ path: joinPath(path, 'sql'), message: `rule "${rule.id}": ${error.message}` }], { cause: error });
    }
    throw error;
  }
  for (const sourceId of rule.sources ?? []) {
    if (!sourceIds.has(sourceId)) {
      throw new ConfigError('integration', [{ path: joinPath(path, 'sources'), message: `no source has the id "${sourceId}" (known: ${[...sourceIds].join(', ') || 'none'})` }]);
    }
  }
  checkEventFilters(rule, compiled.topics, builder.sources().filter((s) => rule.sources === undefined || rule.sources.includes(s.id)), path);
  const ids = actionIdsOf(rule);
  const actions: RuntimeAction[] = [];
  try {
    rule.actions.forEach((definition, a) => {
      const connector = connectorsById.get(definition.connector);
      const actionPath = joinPath(path, `actions[${a}]`);
      if (connector === undefined) {
        throw new ConfigError('integration', [{ path: `${actionPath}.connector`, message: `no connector has the id "${definition.connector}" (known: ${[...connectorsById.keys()].join(', ') || 'none'})` }]);
      }
      const { connector: _connector, id: _id, fallbackActions, ...settings } = definition;
      const actionId = ids[a] as string;
      const counters = reuse?.actions.get(actionId) ?? new ActionCounters(rateIntervalMs);
      const countDropped = (count: number, reason: DropReason): void => counters.countDropped(count, reason);
      const create = (through: Connector, actionSettings: Record<string, unknown>, id: string, where: string): Action => {
        try {
          // A fallback's deliberate drops count on the action it stands in for: nothing vanishes uncounted.
          return through.createAction(actionSettings, { id, ruleId: rule.id, templates: engine, logger: logger.child(`action/${id}`), dropped: countDropped });
        } catch (error) {
          if (error instanceof ConfigError) {
            throw new ConfigError('integration', error.issues.map((issue) => ({ path: issue.path === '' ? where : `${where}.${issue.path}`, message: issue.message })), { cause: error });
          }
          throw error;
        }
      };
      const action = create(connector, settings, actionId, actionPath);
      if (fallbackActions === undefined || fallbackActions.length === 0) {
        actions.push({ id: actionId, connectorId: connector.id, action, counters });
        return;
      }
      const fallbacks: Action[] = [];
      try {
        fallbackActions.forEach((fallback, f) => {
          const where = `${actionPath}.fallbackActions[${f}]`;
          const through = connectorsById.get(fallback.connector);
          if (through === undefined) {
            throw new ConfigError('integration', [{ path: `${where}.connector`, message: `no connector has the id "${fallback.connector}" (known: ${[...connectorsById.keys()].join(', ') || 'none'})` }]);
          }
          const { connector: _fallbackConnector, ...fallbackSettings } = fallback;
          fallbacks.push(create(through, fallbackSettings, `${actionId}/fallback-${f + 1}`, where));
        });
      } catch (error) {
        for (const created of [action, ...fallbacks]) void created.close?.().catch(() => undefined);
        throw error;
      }
      actions.push({ id: actionId, connectorId: connector.id, action: withFallbacks(action, fallbacks, counters), counters });
    });
  } catch (error) {
    // Actions created before the failing one hold nothing yet, but closing them keeps connectors tidy.
    for (const action of actions) void action.action.close?.().catch(() => undefined);
    throw error;
  }
  return {
    id: rule.id,
    sql: rule.sql,
    compiled,
    actions,
    counters: reuse?.rule ?? new RuleCounters(rateIntervalMs),
    sourceIds: rule.sources === undefined ? undefined : new Set(rule.sources),
    enabled: rule.enabled,
  };
}

/** Counters of every installed action, by id, so an action keeping its id keeps its counters. */
function actionCountersOf(runtime: Runtime): Map<string, ActionCounters> {
  const out = new Map<string, ActionCounters>();
  for (const rule of runtime.listRules()) for (const action of rule.actions) out.set(action.id, action.counters);
  return out;
}

/** Refuses a change after which two actions would share an id. */
function checkActionIds(runtime: Runtime, upserts: ReadonlyArray<{ rule: RuleDefinitionOutput; path: string }>, removals: readonly string[]): void {
  const changing = new Set([...removals, ...upserts.map(({ rule }) => rule.id)]);
  const owners = new Map<string, string>();
  for (const rule of runtime.listRules()) {
    if (!changing.has(rule.id)) for (const action of rule.actions) owners.set(action.id, rule.id);
  }
  const issues: { path: string; message: string }[] = [];
  for (const { rule, path } of upserts) {
    actionIdsOf(rule).forEach((actionId, a) => {
      const owner = owners.get(actionId);
      if (owner !== undefined) issues.push({ path: joinPath(path, `actions[${a}].id`), message: `the action id "${actionId}" is taken by rule "${owner}"` });
      owners.set(actionId, rule.id);
    });
  }
  if (issues.length > 0) throw new ConfigError('integration', issues);
}

/** Deep equality of two parsed rule definitions (plain JSON data). */
function sameDefinition(a: RuleDefinitionOutput | undefined, b: RuleDefinitionOutput): boolean {
  return a !== undefined && stableJson(a) === stableJson(b);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

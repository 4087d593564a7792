import { Container, type ContainerModule } from 'inversify';
import { ConfigError, DuplicateIdError, IntegrationError, RuleSyntaxError } from './errors';
import { actionIdsOf, parseIntegrationConfig, type IntegrationConfigInput } from './integration-config';
import { Logger, silentLogger } from './logger';
import { ActionCounters, RuleCounters, type ActionMetrics, type RuleMetrics, type SourceMetrics } from './metrics';
import { RuleEngine } from './rule-engine';
import { Runtime, type RuntimeAction, type RuntimeRule } from './runtime';
import { Sink, type ConnectionTestReport } from './sink';
import { Source, type ConnectorStatus } from './source';

export interface IntegrationOptions extends IntegrationConfigInput {
  /** Plugin modules: sources (mqttModule), the rule engine (sqlModule), sinks (kafkaModule, sinkModule). */
  readonly modules: readonly ContainerModule[];
  /** Where Sluice logs; silent by default. Adapt the host's pino/winston logger to Logger. */
  readonly logger?: Logger;
}

/** Read access to the metrics of a running integration, with EMQX's metric names. */
export interface IntegrationMetrics {
  rule(id: string): RuleMetrics | undefined;
  action(id: string): ActionMetrics | undefined;
  source(id: string): SourceMetrics | undefined;
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
  /** Connects sinks, then subscribes sources. Rejects with a clear error when a connector cannot start. */
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
  /** Runs the staged connection test of every sink that has one. */
  testConnections(): Promise<ConnectionTestReport[]>;
  /** Connection state of every source and sink that reports one. */
  status(): Record<string, ConnectorStatus>;
}

/**
 * Composes modules, rules and actions into an Integration. Everything is validated here, before
 * anything connects: the rules' SQL (RuleSyntaxError naming the rule), the action settings (ConfigError
 * from the sink, with the action's path) and ids (DuplicateIdError / ConfigError).
 */
export async function createIntegration(options: IntegrationOptions): Promise<Integration> {
  const { modules, logger: givenLogger, ...rest } = options;
  const config = parseIntegrationConfig(rest);
  const logger = givenLogger ?? silentLogger;

  const container = new Container();
  container.bind<Logger>(Logger).toConstantValue(logger);
  await container.load(...modules);
  const sources = uniqueById('source', container.getAll<Source>(Source, { optional: true }));
  const sinks = uniqueById('sink', container.getAll<Sink>(Sink, { optional: true }));
  if (!container.isBound(RuleEngine)) {
    throw new IntegrationError('ERR_CONFIG_INVALID', 'no rule engine is bound: add sqlModule() from @sluice/sql to modules');
  }
  const engine = container.get<RuleEngine>(RuleEngine);
  const sinksById = new Map(sinks.map((sink) => [sink.id, sink]));
  const sourceIds = new Set(sources.map((source) => source.id));

  const runtime = new Runtime(sources, sinks, { logger, node: config.node, rateIntervalMs: config.rateIntervalMs });
  config.rules.forEach((rule, r) => {
    let compiled;
    try {
      compiled = engine.compileRule(rule.sql);
    } catch (error) {
      if (error instanceof RuleSyntaxError || IntegrationError.is(error)) {
        throw new ConfigError('integration', [{ path: `rules[${r}].sql`, message: `rule "${rule.id}": ${error.message}` }], { cause: error });
      }
      throw error;
    }
    for (const sourceId of rule.sources ?? []) {
      if (!sourceIds.has(sourceId)) {
        throw new ConfigError('integration', [{ path: `rules[${r}].sources`, message: `no source has the id "${sourceId}" (known: ${[...sourceIds].join(', ') || 'none'})` }]);
      }
    }
    const ids = actionIdsOf(rule);
    const actions = rule.actions.map((definition, a): RuntimeAction => {
      const sink = sinksById.get(definition.connector);
      const path = `rules[${r}].actions[${a}]`;
      if (sink === undefined) {
        throw new ConfigError('integration', [{ path: `${path}.connector`, message: `no connector has the id "${definition.connector}" (known: ${[...sinksById.keys()].join(', ') || 'none'})` }]);
      }
      const { connector: _connector, id: _id, ...settings } = definition;
      const actionId = ids[a] as string;
      const counters = new ActionCounters(config.rateIntervalMs);
      const countDropped = (count: number, reason: 'queue_full' | 'expired' | 'other'): void => {
        counters.dropped += count;
        if (reason === 'queue_full') counters.droppedQueueFull += count;
        else if (reason === 'expired') counters.droppedExpired += count;
        else counters.droppedOther += count;
      };
      try {
        const action = sink.createAction(settings, {
          id: actionId,
          ruleId: rule.id,
          templates: engine,
          logger: logger.child(`action/${actionId}`),
          dropped: countDropped,
        });
        return { id: actionId, sinkId: sink.id, action, counters };
      } catch (error) {
        if (error instanceof ConfigError) {
          throw new ConfigError('integration', error.issues.map((issue) => ({ path: issue.path === '' ? path : `${path}.${issue.path}`, message: issue.message })), { cause: error });
        }
        throw error;
      }
    });
    const runtimeRule: RuntimeRule = {
      id: rule.id,
      sql: rule.sql,
      compiled,
      actions,
      counters: new RuleCounters(config.rateIntervalMs),
      sourceIds: rule.sources === undefined ? undefined : new Set(rule.sources),
      enabled: rule.enabled,
    };
    runtime.addRule(runtimeRule);
  });

  let state: 'created' | 'starting' | 'running' | 'stopping' | 'stopped' = 'created';
  let stopping: Promise<void> | undefined;
  const abort = new AbortController();

  const metrics: IntegrationMetrics = {
    rule: (id) => runtime.ruleMetrics(id),
    action: (id) => runtime.actionMetrics(id),
    source: (id) => runtime.sourceMetrics(id),
    snapshot: () => {
      const out = { rules: {} as Record<string, RuleMetrics>, actions: {} as Record<string, ActionMetrics>, sources: {} as Record<string, SourceMetrics> };
      for (const rule of runtime.listRules()) {
        out.rules[rule.id] = runtime.ruleMetrics(rule.id) as RuleMetrics;
        for (const action of rule.actions) out.actions[action.id] = runtime.actionMetrics(action.id) as ActionMetrics;
      }
      for (const source of sources) out.sources[source.id] = runtime.sourceMetrics(source.id) as SourceMetrics;
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
    async start() {
      if (state !== 'created') throw new IntegrationError('ERR_STOPPED', `cannot start an integration that is ${state}`);
      state = 'starting';
      logger.info('starting', { sources: sources.map((s) => s.id), sinks: sinks.map((s) => s.id), rules: config.rules.length });
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
        actions: rule.actions.map((action) => ({ id: action.id, connector: action.sinkId })),
      })),
    setRuleEnabled(id, enabled) {
      const rule = runtime.getRule(id);
      if (rule === undefined) return false;
      rule.enabled = enabled;
      return true;
    },
    async testConnections() {
      const reports: ConnectionTestReport[] = [];
      for (const sink of sinks) if (sink.test !== undefined) reports.push(await sink.test());
      return reports;
    },
    status() {
      const out: Record<string, ConnectorStatus> = {};
      for (const c of [...sources, ...sinks]) if (c.status !== undefined) out[c.id] = c.status();
      return out;
    },
  };
}

function uniqueById<T extends { readonly id: string }>(kind: string, items: readonly T[]): T[] {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) throw new DuplicateIdError(kind, item.id);
    seen.add(item.id);
  }
  return [...items];
}

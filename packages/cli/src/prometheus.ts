import { Counter, Registry, Gauge } from 'prom-client';
import type { Integration, Logger } from '@sluice/core';
import { renderFamilies, connectorFamilies, sanitiseKey, type ActionConnectorMetrics, type ConnectorMetricFamily, type SkipReporter } from './connector-metrics';

/**
 * A registry whose exposition ends with the actions' connector metrics. Their families are not known in
 * advance (a connector reports the keys it likes, and actions come and go with rule changes), so they are read
 * and mapped on each scrape instead of being registered once like the others.
 */
class SluiceRegistry extends Registry {
  constructor(private readonly connectorExposition: () => string) {
    super();
  }

  override async metrics(): Promise<string> {
    return (await super.metrics()) + this.connectorExposition();
  }
}

/**
 * Prometheus exposition of an integration's metrics, with EMQX-like names: sluice_rule_matched_total
 * {rule=...}, sluice_action_success_total{action=...}, ... Values are read from the runtime's counters at
 * scrape time (collect callbacks), so nothing is done per message.
 */
export function prometheusRegistry(app: Integration, logger?: Logger): Registry {
  const warnOnce = onceEach((actionId: string, key: string, reason: string) => {
    logger?.warn('a connector metric is not exported to Prometheus', { action: actionId, key, reason });
  });
  const warnOnceSource = onceEach((sourceId: string, key: string, reason: string) => {
    logger?.warn('a source metric is not exported to Prometheus', { source: sourceId, key, reason });
  });
  const registry: Registry = new SluiceRegistry(
    () => connectorExposition(app, registry, warnOnce) + sourceExposition(app, registry, warnOnceSource),
  );
  const ruleCounters: Array<[string, string]> = [
    ['matched', 'messages whose topic matched the rule'],
    ['passed', 'messages that produced output'],
    ['failed', 'messages that failed (exception or no result)'],
    ['failed.exception', 'evaluations that raised an error'],
    ['failed.no_result', 'messages filtered out by WHERE / FOREACH'],
    ['actions.total', 'outputs handed to actions'],
    ['actions.success', 'action sends that were stored'],
    ['actions.failed', 'action sends that did not store the output (failed, or dropped on purpose)'],
  ];
  const actionCounters: Array<[string, string]> = [
    ['matched', 'outputs handed to the action'],
    ['success', 'records stored'],
    ['failed', 'records that failed'],
    ['failed.retriable', 'of failed: the connector gave up for now and the MQTT message was left to the broker'],
    ['dropped', 'records dropped on purpose'],
    ['dropped.queue_full', 'records dropped because the buffer was full'],
    ['dropped.expired', 'records dropped because they expired'],
    ['dropped.other', 'records dropped for another reason'],
    ['fallback.success', 'outputs refused for good that a fallback action stored'],
    ['fallback.failed', 'fallback actions that failed as well'],
  ];
  // `actions.total` is already a total: no second `_total` suffix.
  const metricName = (kind: string, name: string, suffix: string): string =>
    `sluice_${kind}_${name.replace(/\./g, '_')}${name.endsWith('.total') ? '' : suffix}`;

  for (const [name, help] of ruleCounters) {
    collectedCounter(registry, metricName('rule', name, '_total'), `Rule: ${help}`, 'rule', (set) => {
      for (const rule of app.rules()) {
        const metrics = app.metrics.rule(rule.id) as unknown as Record<string, number> | undefined;
        if (metrics !== undefined) set(rule.id, metrics[name] ?? 0);
      }
    });
  }
  new Gauge({
    name: 'sluice_rule_enabled',
    help: 'Rule: 1 when enabled',
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      for (const rule of app.rules()) this.set({ rule: rule.id }, rule.enabled ? 1 : 0);
    },
  });
  const eachAction = (fn: (id: string, metrics: Record<string, number>) => void): void => {
    for (const rule of app.rules()) {
      for (const action of rule.actions) {
        const metrics = app.metrics.action(action.id) as unknown as Record<string, number> | undefined;
        if (metrics !== undefined) fn(action.id, metrics);
      }
    }
  };
  for (const [name, help] of actionCounters) {
    collectedCounter(registry, metricName('action', name, '_total'), `Action: ${help}`, 'action', (set) => {
      eachAction((id, metrics) => set(id, metrics[name] ?? 0));
    });
  }
  for (const name of ['inflight', 'queuing']) {
    new Gauge({
      name: metricName('action', name, ''),
      help: `Action: ${name === 'inflight' ? 'sends not yet finished' : 'records buffered, not yet stored'}`,
      labelNames: ['action'],
      registers: [registry],
      collect() {
        eachAction((id, metrics) => this.set({ action: id }, metrics[name] ?? 0));
      },
    });
  }
  const sourceCounters = [
    ['received', 'received_total', 'messages received'],
    ['duplicates', 'duplicates_total', 'redelivered messages (DUP flag)'],
    ['unrouted', 'unrouted_total', 'messages no rule matched'],
    ['acknowledged', 'acknowledged_total', 'messages acknowledged to the broker (stored, or failed for good)'],
    ['leftToBroker', 'left_to_broker_total', 'messages left unacknowledged for the broker to redeliver'],
    ['pending', 'pending', 'messages received and not yet settled'],
  ] as const;
  for (const [key, name, help] of sourceCounters) {
    const read = (set: (id: string, value: number) => void): void => {
      const { sources } = app.metrics.snapshot();
      for (const [id, metrics] of Object.entries(sources)) set(id, (metrics as unknown as Record<string, number>)[key] ?? 0);
    };
    if (name.endsWith('_total')) {
      collectedCounter(registry, `sluice_source_${name}`, `Source: ${help}`, 'source', read);
      continue;
    }
    new Gauge({
      name: `sluice_source_${name}`,
      help: `Source: ${help}`,
      labelNames: ['source'],
      registers: [registry],
      collect() {
        read((id, value) => this.set({ source: id }, value));
      },
    });
  }
  new Gauge({
    name: 'sluice_connector_connected',
    help: 'Source or connector: 1 when connected, 0 otherwise (connecting, disconnected, stopped)',
    labelNames: ['connector'],
    registers: [registry],
    collect() {
      for (const [id, status] of Object.entries(app.status())) this.set({ connector: id }, status.state === 'connected' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sluice_connector_buffering',
    help: 'Connector: 1 while its peer is away and it keeps what it accepts on disk (counted ready), 0 otherwise',
    labelNames: ['connector'],
    registers: [registry],
    collect() {
      for (const [id, status] of Object.entries(app.status())) this.set({ connector: id }, status.state === 'buffering' ? 1 : 0);
    },
  });
  return registry;
}

/**
 * A Prometheus counter whose values are read from the runtime at scrape time. prom-client counters only
 * go up by inc(), so each scrape starts from zero and adds the current totals; the exposition is then a
 * true `counter` (rate() and promtool agree). A rule's metrics reset through the REST API shows as a counter
 * reset, which Prometheus handles.
 */
function collectedCounter(registry: Registry, name: string, help: string, label: string, read: (set: (id: string, value: number) => void) => void): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      read((id, value) => this.inc({ [label]: id }, value));
    },
  });
}

/** The connector metrics of every action (Action.metrics()), read now; see connector-metrics.ts for the names. */
function connectorExposition(app: Integration, registry: Registry, skipped: SkipReporter): string {
  const actions: ActionConnectorMetrics[] = [];
  for (const rule of app.rules()) {
    for (const action of rule.actions) {
      const values = app.metrics.action(action.id)?.connector;
      if (values === undefined || Object.keys(values).length === 0) continue;
      actions.push({ actionId: action.id, values, kinds: app.metrics.actionMetricKinds(action.id) ?? {} });
    }
  }
  const taken = new Set(registry.getMetricsAsArray().map((metric) => metric.name));
  return renderFamilies(connectorFamilies(actions, taken, skipped));
}

/**
 * What each source reports itself (Source.metrics(), the `connector` part of its metrics), mapped as the actions'
 * connector metrics are (connector-metrics.ts) but without latency quantiles: `sluice_source_<key>{source=…}`, a
 * declared `counter` with `_total` (`events.dropped` → `sluice_source_events_dropped_total`), a `gauge` without,
 * an undeclared key `untyped`; a name the endpoint already uses moves to `sluice_source_connector_<key>`, and a
 * key that still clashes, or whose value is not a finite number (negative, for a counter), is left out and logged once.
 */
function sourceExposition(app: Integration, registry: Registry, skipped: SkipReporter): string {
  const families = new Map<string, ConnectorMetricFamily>();
  const taken = new Set(registry.getMetricsAsArray().map((metric) => metric.name));
  for (const [sourceId, metrics] of Object.entries(app.metrics.snapshot().sources)) {
    const values = metrics.connector as Readonly<Record<string, unknown>>;
    const keys = Object.keys(values);
    if (keys.length === 0) continue;
    const kinds = (app.metrics.sourceMetricKinds(sourceId) ?? {}) as Readonly<Record<string, unknown>>;
    const named = new Set<string>(); // families of this source: a second key to one would be a duplicate series
    for (const key of keys) {
      const value = values[key];
      const declared = Object.prototype.hasOwnProperty.call(kinds, key) ? kinds[key] : undefined;
      const type = declared === 'counter' || declared === 'gauge' ? declared : 'untyped';
      const base = sanitiseKey(key);
      let problem: string | undefined;
      if (typeof value !== 'number' || !Number.isFinite(value)) problem = 'the value is not a finite number';
      else if (type === 'counter' && value < 0) problem = 'a counter cannot be negative';
      else if (base === '') problem = 'the key has no letter or digit to name a metric after';
      const suffix = type === 'counter' && !base.endsWith('_total') ? '_total' : '';
      const natural = `sluice_source_${base}${suffix}`;
      const name = taken.has(natural) ? `sluice_source_connector_${base}${suffix}` : natural;
      let family = families.get(name);
      if (problem === undefined && taken.has(name)) problem = `${name} is already exported by the runtime; rename the key in the source's metrics()`;
      if (problem === undefined && family !== undefined && family.type !== type) problem = `${name} is already exported as a ${family.type}; rename the key in the source's metrics()`;
      if (problem === undefined && named.has(name)) problem = `another key of the source is already exported as ${name}; rename one of them in the source's metrics()`;
      if (problem !== undefined) {
        skipped(sourceId, key, problem);
        continue;
      }
      if (family === undefined) {
        const what = type === 'untyped' ? 'kind not declared by the source' : type;
        family = { name, type, help: `Source: the source's "${key}" metric (${what})`, samples: [] };
        families.set(name, family);
      }
      named.add(name);
      family.samples.push({ labels: [['source', sourceId]], value: value as number });
    }
  }
  return renderFamilies([...families.values()]);
}

/**
 * A skipped key is reported on every scrape; the log should hear of it once per action and key. Bounded,
 * in case a connector invents new keys all the time: past the bound, nothing more is logged.
 */
function onceEach(report: SkipReporter, bound = 1_000): SkipReporter {
  const said = new Set<string>();
  return (actionId, key, reason) => {
    const id = JSON.stringify([actionId, key]);
    if (said.has(id) || said.size >= bound) return;
    said.add(id);
    report(actionId, key, reason);
  };
}

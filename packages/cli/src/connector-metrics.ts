/**
 * Maps the metrics an action's connector reports (Action.metrics(), the action's `connector` metrics) to
 * Prometheus families. The keys are the connector's own (EMQX names for Kafka: `retried`, `queuing_bytes`,
 * `produce_latency.p99_ms` ...; anything for a user-written connector), so the mapping is generic:
 *
 * - name: `sluice_action_<key>`, the key lower-cased, camelCase split and every run of characters outside
 *   [a-z0-9_] turned into one `_` (`retried.success` → `sluice_action_retried_success`).
 * - type: what the connector declared in Action.metricKinds. A `counter` gets the `_total` suffix; a
 *   `gauge` none; an undeclared key is exported as `untyped` (a number alone does not say whether it only
 *   grows, and guessing wrong would make `rate()` lie), without a suffix.
 * - latency quantiles: a gauge whose key ends in `.p<digits>_ms` or `.max_ms` (Kafka's produce latency) is
 *   exported in seconds as `sluice_action_<base>_seconds{quantile="0.99"}` (`max` is quantile 1). Why not a
 *   Prometheus summary or histogram: the values are cumulative since the action was created and read
 *   from buckets (each quantile is its bucket's upper bound), and the connector reports no sum, so a summary
 *   would be missing `_sum` and claim a precision it does not have; a histogram would need the buckets,
 *   which the numeric metrics() contract does not carry. Gauges with a `quantile` label keep the familiar
 *   shape (`max by (action)`, a Grafana legend per quantile) without pretending. The count of measured
 *   requests is the counter `sluice_action_<base>_count_total`.
 * - clashes: a name the endpoint already uses (`sluice_action_inflight`, `sluice_action_queuing` ...) moves
 *   to `sluice_action_connector_<key>`: Kafka's `inflight` (records in produce requests) is not the runtime's
 *   (sends not yet finished). A key that still clashes (two keys of one action sanitised to the same
 *   name, or a family already taken with another type or labels) is left out and reported through
 *   `skipped`, so one odd key can never produce an exposition Prometheus rejects.
 * - values: only finite numbers (and, for counters, not negative) are exported; anything else is skipped.
 */

export type ConnectorMetricType = 'counter' | 'gauge' | 'untyped';

export interface ConnectorMetricSample {
  /** Label pairs in order: `action` first, then `quantile` for latency quantiles. */
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly value: number;
}

export interface ConnectorMetricFamily {
  readonly name: string;
  readonly type: ConnectorMetricType;
  readonly help: string;
  readonly samples: ConnectorMetricSample[];
}

/** One action's connector metrics as read at scrape time. */
export interface ActionConnectorMetrics {
  readonly actionId: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** Action.metricKinds; an unknown kind is treated as undeclared. */
  readonly kinds: Readonly<Record<string, unknown>>;
}

export type SkipReporter = (actionId: string, key: string, reason: string) => void;

const PREFIX = 'sluice_action_';
/** Where a key goes when its natural name is one the endpoint already uses. */
const CLASH_PREFIX = 'sluice_action_connector_';
const QUANTILE_KEY = /^(.+)_(?:p(\d+)|(max))_ms$/;

/** `produce_latency.p50_ms` → `produce_latency_p50_ms`; `retryCount` → `retry_count`; `` → ``. */
export function sanitiseKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/** p50 → 0.5, p99 → 0.99, p5 → 0.05, p999 → 0.999 (three or more digits read as 0.<digits>), max → 1. */
function quantileOf(digits: string | undefined): string | undefined {
  if (digits === undefined) return '1';
  if (digits.length <= 2) return String(Number(digits) / 100);
  return digits.startsWith('9') ? String(Number(`0.${digits}`)) : undefined;
}

interface Mapped {
  readonly name: string;
  readonly type: ConnectorMetricType;
  readonly quantile?: string;
  /**
   * The value is divided by this: 1000 for a latency in milliseconds exported in seconds. A division, not a
   * multiplication by 0.001: 26 / 1000 is the double closest to 0.026, 26 * 0.001 is 0.026000000000000002.
   */
  readonly divisor: number;
}

function mapKey(sanitised: string, kind: ConnectorMetricType, taken: ReadonlySet<string>): Mapped {
  const quantileMatch = kind === 'gauge' ? QUANTILE_KEY.exec(sanitised) : null;
  const quantile = quantileMatch === null ? undefined : quantileOf(quantileMatch[2]);
  const base = quantileMatch !== null && quantile !== undefined ? `${quantileMatch[1] as string}_seconds` : sanitised;
  const suffix = kind === 'counter' && !base.endsWith('_total') ? '_total' : '';
  const natural = `${PREFIX}${base}${suffix}`;
  const name = taken.has(natural) ? `${CLASH_PREFIX}${base}${suffix}` : natural;
  return quantile === undefined || quantileMatch === null ? { name, type: kind, divisor: 1 } : { name, type: kind, quantile, divisor: 1000 };
}

const kindOf = (declared: unknown): ConnectorMetricType => (declared === 'counter' || declared === 'gauge' ? declared : 'untyped');

function helpFor(key: string, mapped: Mapped): string {
  const what = mapped.type === 'untyped' ? 'kind not declared by the connector' : mapped.type;
  return mapped.quantile === undefined
    ? `Action: the connector's "${key}" metric (${what})`
    : `Action: the connector's latency at the quantile, in seconds, cumulative since the action was created (from "${key}")`;
}

/**
 * The connector metrics of every action as Prometheus families, in a stable order (actions as given, keys in
 * the order the connector returned them). `taken` holds the family names the endpoint already exports.
 */
export function connectorFamilies(actions: Iterable<ActionConnectorMetrics>, taken: ReadonlySet<string>, skipped: SkipReporter = () => {}): ConnectorMetricFamily[] {
  const families = new Map<string, ConnectorMetricFamily & { readonly labelNames: string }>();
  for (const { actionId, values, kinds } of actions) {
    const seen = new Set<string>(); // family + quantile of this action: a second one would be a duplicate series
    for (const key of Object.keys(values)) {
      const value = values[key];
      const kind = kindOf(Object.prototype.hasOwnProperty.call(kinds, key) ? kinds[key] : undefined);
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        skipped(actionId, key, 'the value is not a finite number');
        continue;
      }
      if (kind === 'counter' && value < 0) {
        skipped(actionId, key, 'a counter cannot be negative');
        continue;
      }
      const sanitised = sanitiseKey(key);
      if (sanitised === '') {
        skipped(actionId, key, 'the key has no letter or digit to name a metric after');
        continue;
      }
      const mapped = mapKey(sanitised, kind, taken);
      const labelNames = mapped.quantile === undefined ? 'action' : 'action,quantile';
      let family = families.get(mapped.name);
      if (family === undefined) {
        family = { name: mapped.name, type: mapped.type, help: helpFor(key, mapped), samples: [], labelNames };
        families.set(mapped.name, family);
      } else if (family.type !== mapped.type || family.labelNames !== labelNames) {
        skipped(actionId, key, `${mapped.name} is already exported as a ${family.type} with labels (${family.labelNames}); rename the key in the connector's metrics()`);
        continue;
      }
      const seriesKey = `${mapped.name}|${mapped.quantile ?? ''}`;
      if (seen.has(seriesKey)) {
        skipped(actionId, key, `another key of the action is already exported as ${mapped.name}; rename one of them in the connector's metrics()`);
        continue;
      }
      seen.add(seriesKey);
      const labels: Array<readonly [string, string]> = [['action', actionId]];
      if (mapped.quantile !== undefined) labels.push(['quantile', mapped.quantile]);
      family.samples.push({ labels, value: value / mapped.divisor });
    }
  }
  return [...families.values()].map(({ name, type, help, samples }) => ({ name, type, help, samples }));
}

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (text: string): string => text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The families in the Prometheus text format (0.0.4), each ending with a newline; '' for none. */
export function renderFamilies(families: readonly ConnectorMetricFamily[]): string {
  let out = '';
  for (const family of families) {
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) {
      const labels = sample.labels.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',');
      out += `${family.name}{${labels}} ${String(sample.value)}\n`;
    }
  }
  return out;
}

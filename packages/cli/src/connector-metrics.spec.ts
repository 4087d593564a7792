import { describe, expect, it } from '@jest/globals';
import { KAFKA_METRIC_KINDS } from '@sluice/kafka';
import { parseExposition, value } from '../test/prometheus-text';
import { renderFamilies, sanitiseKey, connectorFamilies, type ActionConnectorMetrics } from './connector-metrics';

/** The names the endpoint's own action families use, as prometheus.ts registers them. */
const TAKEN = new Set(['sluice_action_matched_total', 'sluice_action_success_total', 'sluice_action_inflight', 'sluice_action_queuing']);

const kafkaValues = {
  'retried': 4,
  'retried.success': 3,
  'retried.failed': 1,
  'queuing': 7,
  'queuing_bytes': 2048,
  'inflight': 5,
  'produce_latency.count': 120,
  'produce_latency.p50_ms': 5,
  'produce_latency.p99_ms': 50,
  'produce_latency.max_ms': 73,
};

/** Maps, renders and parses back strictly: what Prometheus would ingest. */
function exposition(actions: ActionConnectorMetrics[], skipped: Array<[string, string, string]> = []): ReturnType<typeof parseExposition> {
  return parseExposition(renderFamilies(connectorFamilies(actions, TAKEN, (...s) => skipped.push(s))) || '\n');
}

describe('connector metrics → Prometheus families', () => {
  it('exports the Kafka action metrics under EMQX names: counters with _total, gauges without, latency as quantile gauges in seconds', () => {
    const families = exposition([{ actionId: 'r1:kafka', values: kafkaValues, kinds: KAFKA_METRIC_KINDS }]);
    const series = [...families].map(([name, f]) => [name, f.type, Object.fromEntries(f.samples)]);
    expect(series).toEqual([
      ['sluice_action_retried_total', 'counter', { '{action="r1:kafka"}': 4 }],
      ['sluice_action_retried_success_total', 'counter', { '{action="r1:kafka"}': 3 }],
      ['sluice_action_retried_failed_total', 'counter', { '{action="r1:kafka"}': 1 }],
      // `queuing` and `inflight` are names of the runtime's own action gauges: the connector's go aside
      ['sluice_action_connector_queuing', 'gauge', { '{action="r1:kafka"}': 7 }],
      ['sluice_action_queuing_bytes', 'gauge', { '{action="r1:kafka"}': 2048 }],
      ['sluice_action_connector_inflight', 'gauge', { '{action="r1:kafka"}': 5 }],
      ['sluice_action_produce_latency_count_total', 'counter', { '{action="r1:kafka"}': 120 }],
      ['sluice_action_produce_latency_seconds', 'gauge', {
        '{action="r1:kafka",quantile="0.5"}': 0.005,
        '{action="r1:kafka",quantile="0.99"}': 0.05,
        '{action="r1:kafka",quantile="1"}': 0.073,
      }],
    ]);
    for (const [name, f] of families) expect([name, (f.help ?? '').length > 0]).toEqual([name, true]);
  });

  it('converts milliseconds to seconds by division: 26 ms is 0.026, as the REST value / 1000 reads (not 0.026000000000000002)', () => {
    const values = { ...kafkaValues, 'produce_latency.p50_ms': 26, 'produce_latency.p99_ms': 7, 'produce_latency.max_ms': 29 };
    const families = exposition([{ actionId: 'r1:kafka', values, kinds: KAFKA_METRIC_KINDS }]);
    const quantiles = ['0.5', '0.99', '1'].map((q) => value(families, 'sluice_action_produce_latency_seconds', `{action="r1:kafka",quantile="${q}"}`));
    expect(quantiles).toEqual([26 / 1000, 7 / 1000, 29 / 1000]);
  });

  it('puts the same key of several actions in one family, one series per action', () => {
    const families = exposition([
      { actionId: 'a', values: { retried: 1 }, kinds: { retried: 'counter' } },
      { actionId: 'b', values: { retried: 2 }, kinds: { retried: 'counter' } },
    ]);
    expect(Object.fromEntries(families.get('sluice_action_retried_total')?.samples ?? [])).toEqual({ '{action="a"}': 1, '{action="b"}': 2 });
  });

  it('exports an undeclared key as untyped and without a suffix, since a number cannot say whether it only grows', () => {
    const families = exposition([{ actionId: 'hook', values: { sent: 9, 'depth': 2 }, kinds: { depth: 'gauge', sent: 'wibble' } }]);
    expect([families.get('sluice_action_sent')?.type, value(families, 'sluice_action_sent', '{action="hook"}')]).toEqual(['untyped', 9]);
    expect(families.get('sluice_action_depth')?.type).toBe('gauge');
  });

  it.each([
    ['retried.success', 'retried_success'],
    ['retryCount', 'retry_count'],
    ['HTTP 5xx / errors', 'http_5xx_errors'],
    ['__a..b__', 'a_b'],
    ['température', 'temp_rature'],
    ['9lives', '9lives'],
    ['…', ''],
  ])('sanitises %j to %j', (key, name) => {
    expect(sanitiseKey(key)).toBe(name);
  });

  it('a counter key already ending in _total gets no second suffix', () => {
    const families = exposition([{ actionId: 'a', values: { requests_total: 3 }, kinds: { requests_total: 'counter' } }]);
    expect([...families.keys()]).toEqual(['sluice_action_requests_total']);
  });

  it('skips values that are not finite numbers, negative counters and keys with nothing to name a metric after, and says why', () => {
    const skipped: Array<[string, string, string]> = [];
    const values = { ok: 1, text: 'x', nan: Number.NaN, inf: Number.POSITIVE_INFINITY, nested: { a: 1 }, none: undefined, down: -1, '...': 4, '': 5 } as unknown as Record<string, number>;
    const families = exposition([{ actionId: 'odd', values, kinds: { down: 'counter' } }], skipped);
    expect([...families.keys()]).toEqual(['sluice_action_ok']);
    expect(skipped.map(([action, key, reason]) => [action, key, reason.split(' ').slice(0, 3).join(' ')])).toEqual([
      ['odd', 'text', 'the value is'],
      ['odd', 'nan', 'the value is'],
      ['odd', 'inf', 'the value is'],
      ['odd', 'nested', 'the value is'],
      ['odd', 'none', 'the value is'],
      ['odd', 'down', 'a counter cannot'],
      ['odd', '...', 'the key has'],
      ['odd', '', 'the key has'],
    ]);
  });

  it('never emits a duplicate series or a family with two types: the later key is skipped and named', () => {
    const skipped: Array<[string, string, string]> = [];
    const families = exposition([
      // two keys of one action that sanitise to the same name
      { actionId: 'a', values: { 'x.y': 1, 'x_y': 2 }, kinds: {} },
      // the same family name as a counter in one action and a gauge in another
      { actionId: 'b', values: { hits: 3 }, kinds: { hits: 'counter' } },
      { actionId: 'c', values: { hits_total: 4 }, kinds: { hits_total: 'gauge' } },
      // a plain gauge where latency quantiles (labels action, quantile) already live
      { actionId: 'd', values: { 'lat.p50_ms': 10 }, kinds: { 'lat.p50_ms': 'gauge' } },
      { actionId: 'e', values: { lat_seconds: 0.2 }, kinds: { lat_seconds: 'gauge' } },
      // a connector key whose natural name is taken, next to one that is literally the fallback name
      { actionId: 'f', values: { inflight: 1, 'connector.inflight': 2 }, kinds: { inflight: 'gauge', 'connector.inflight': 'gauge' } },
    ], skipped);
    expect(value(families, 'sluice_action_x_y', '{action="a"}')).toBe(1);
    expect(value(families, 'sluice_action_hits_total', '{action="b"}')).toBe(3);
    expect(families.get('sluice_action_hits_total')?.samples.size).toBe(1);
    expect(value(families, 'sluice_action_lat_seconds', '{action="d",quantile="0.5"}')).toBe(0.01);
    expect(value(families, 'sluice_action_connector_inflight', '{action="f"}')).toBe(1);
    expect(skipped.map(([action, key]) => `${action}:${key}`)).toEqual(['a:x_y', 'c:hits_total', 'e:lat_seconds', 'f:connector.inflight']);
  });

  it('reads pNN as a percentile, p999 as 0.999, and leaves a key it cannot read as a quantile alone', () => {
    const kinds = { 'a.p5_ms': 'gauge', 'a.p999_ms': 'gauge', 'b.p100_ms': 'gauge', 'c.p50_ms': 'counter' } as const;
    const families = exposition([{ actionId: 'q', values: { 'a.p5_ms': 1, 'a.p999_ms': 2, 'b.p100_ms': 3, 'c.p50_ms': 4 }, kinds }]);
    expect(Object.fromEntries(families.get('sluice_action_a_seconds')?.samples ?? [])).toEqual({ '{action="q",quantile="0.05"}': 0.001, '{action="q",quantile="0.999"}': 0.002 });
    expect(value(families, 'sluice_action_b_p100_ms', '{action="q"}')).toBe(3);
    expect(value(families, 'sluice_action_c_p50_ms_total', '{action="q"}')).toBe(4);
  });

  it('escapes action ids in label values', () => {
    const id = 'rule "1"\\x\nnew';
    const families = exposition([{ actionId: id, values: { depth: 1 }, kinds: { depth: 'gauge' } }]);
    expect([...(families.get('sluice_action_depth')?.samples.keys() ?? [])]).toEqual([`{action=${JSON.stringify(id)}}`]);
  });

  it('renders nothing for no connector metrics', () => {
    expect(renderFamilies(connectorFamilies([], TAKEN))).toBe('');
  });
});

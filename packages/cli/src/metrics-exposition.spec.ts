// GET /metrics after a known load, read back by a strict parser of the Prometheus text exposition format
// (version 0.0.4): what Prometheus itself would ingest, not substrings of the text.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, silentLogger, connectorModule, sourceModule, type ActionContext, type Integration, type Action } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { startHttpServer, type HttpEndpoint } from './http-server';
import { parseExposition, value, type Family } from '../test/prometheus-text';

describe('parseExposition (the test parser itself)', () => {
  it('reads HELP, TYPE, samples with escaped labels and special values', () => {
    const families = parseExposition('# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"\\n\\\\",b="2"} 3\na_total 1e3\n# TYPE g gauge\ng NaN\n');
    expect(families.get('a_total')).toEqual({ help: 'A.', type: 'counter', samples: new Map([['{b="2",x="q\\"\\n\\\\"}', 3], ['{}', 1000]]) });
    expect(value(families, 'g', '{}')).toBeNaN();
  });

  it.each([
    ['a_total 1\n', 'undeclared family'],
    ['# TYPE a gauge\na{x=1} 1\n', 'not quoted'],
    ['# TYPE a gauge\na 1\na 2\n', 'duplicate series'],
    ['# TYPE a gauge\na 1\n# HELP a late\n', 'HELP after the samples'],
    ['# TYPE a gauge\na one\n', 'bad sample value'],
    ['# TYPE a gauge\na 1', 'end with a newline'],
    ['# TYPE a wibble\n', 'unknown type'],
  ])('refuses %j', (text, message) => {
    expect(() => parseExposition(text)).toThrow(message);
  });
});

describe('GET /metrics after a known load', () => {
  let app: Integration;
  let source: InMemorySource;
  let connector: InMemoryConnector;
  let endpoint: HttpEndpoint;

  beforeEach(async () => {
    source = new InMemorySource('plant');
    connector = new InMemoryConnector('store');
    app = await createIntegration({
      modules: [sourceModule(source), connectorModule(connector), sqlModule()],
      rules: [
        { id: 'temp_hum', sql: 'SELECT payload.temp as temp FROM "t/#" WHERE payload.temp >= 3', actions: [{ connector: 'store', template: '${temp}' }] },
        { id: 'hum', sql: 'SELECT payload.hum as hum FROM "h/+"', actions: [{ connector: 'store', template: '${hum}' }] },
      ],
    });
    await app.start();
    endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0 }, silentLogger);
  });

  afterEach(async () => {
    await endpoint.close();
    await app.stop();
  });

  it('exposes every series with the exact counts', async () => {
    // 10 temperatures 0..9: 3 filtered out by WHERE, 7 stored; 4 humidities stored; 2 messages no rule matches.
    const pushed = [
      ...Array.from({ length: 10 }, (_, i) => source.push(`t/${i}`, JSON.stringify({ temp: i }))),
      ...Array.from({ length: 4 }, (_, i) => source.push(`h/${i}`, JSON.stringify({ hum: 40 + i }))),
      source.push('other/1', '{}'),
      source.push('other/2', '{}'),
    ];
    await Promise.all(pushed.map((p) => p.settled));
    expect(connector.records).toHaveLength(11);

    const res = await fetch(`http://127.0.0.1:${endpoint.address.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parseExposition(await res.text());

    const rule = (name: string, id: string): number => value(families, name, `{rule="${id}"}`);
    expect({
      matched: rule('sluice_rule_matched_total', 'temp_hum'),
      passed: rule('sluice_rule_passed_total', 'temp_hum'),
      failed: rule('sluice_rule_failed_total', 'temp_hum'),
      exception: rule('sluice_rule_failed_exception_total', 'temp_hum'),
      noResult: rule('sluice_rule_failed_no_result_total', 'temp_hum'),
      actions: rule('sluice_rule_actions_total', 'temp_hum'),
      actionsSuccess: rule('sluice_rule_actions_success_total', 'temp_hum'),
      actionsFailed: rule('sluice_rule_actions_failed_total', 'temp_hum'),
      enabled: rule('sluice_rule_enabled', 'temp_hum'),
    }).toEqual({ matched: 10, passed: 7, failed: 3, exception: 0, noResult: 3, actions: 7, actionsSuccess: 7, actionsFailed: 0, enabled: 1 });
    expect(rule('sluice_rule_matched_total', 'hum')).toBe(4);
    expect(rule('sluice_rule_passed_total', 'hum')).toBe(4);

    const action = (name: string, id: string): number => value(families, name, `{action="${id}"}`);
    expect(action('sluice_action_matched_total', 'temp_hum:store')).toBe(7);
    expect(action('sluice_action_success_total', 'temp_hum:store')).toBe(7);
    expect(action('sluice_action_success_total', 'hum:store')).toBe(4);
    for (const name of ['failed_total', 'failed_retriable_total', 'dropped_total', 'dropped_queue_full_total', 'dropped_expired_total', 'dropped_other_total', 'fallback_success_total', 'fallback_failed_total', 'inflight', 'queuing']) {
      expect([name, action(`sluice_action_${name}`, 'temp_hum:store')]).toEqual([name, 0]);
    }

    const src = (name: string): number => value(families, name, '{source="plant"}');
    expect({
      received: src('sluice_source_received_total'),
      duplicates: src('sluice_source_duplicates_total'),
      unrouted: src('sluice_source_unrouted_total'),
      acknowledged: src('sluice_source_acknowledged_total'),
      leftToBroker: src('sluice_source_left_to_broker_total'),
      pending: src('sluice_source_pending'),
    }).toEqual({ received: 16, duplicates: 0, unrouted: 2, acknowledged: 16, leftToBroker: 0, pending: 0 });
    // The in-memory parts report no status (a status() is optional): no connector series, only the family.
    expect(families.get('sluice_connector_connected')?.samples.size).toBe(0);

    // Every Sluice family is documented and typed; the rule families hold exactly the two rules.
    const sluice = [...families].filter(([name]) => name.startsWith('sluice_'));
    expect(sluice.length).toBe(29); // 8 rule counters + enabled, 10 action counters + inflight + queuing, 6 source series, connected, buffering
    // `_total` families are Prometheus counters (rate() and promtool expect that), the rest gauges
    for (const [name, f] of sluice) expect([name, f.type, (f.help ?? '').length > 0]).toEqual([name, name.endsWith('_total') ? 'counter' : 'gauge', true]);
    expect([...(families.get('sluice_rule_matched_total')?.samples.keys() ?? [])].sort()).toEqual(['{rule="hum"}', '{rule="temp_hum"}']);
  });

  it('a second scrape after more load moves only the series that should move', async () => {
    const scrape = async (): Promise<Map<string, Family>> => parseExposition(await (await fetch(`http://127.0.0.1:${endpoint.address.port}/metrics`)).text());
    await source.push('t/1', '{"temp": 5}').settled;
    const before = await scrape();
    await source.push('t/1', '{"temp": 6}').settled;
    await source.push('t/1', '{"temp": 1}').settled;
    const after = await scrape();
    expect(value(after, 'sluice_rule_matched_total', '{rule="temp_hum"}') - value(before, 'sluice_rule_matched_total', '{rule="temp_hum"}')).toBe(2);
    expect(value(after, 'sluice_rule_passed_total', '{rule="temp_hum"}') - value(before, 'sluice_rule_passed_total', '{rule="temp_hum"}')).toBe(1);
    expect(value(after, 'sluice_rule_matched_total', '{rule="hum"}')).toBe(value(before, 'sluice_rule_matched_total', '{rule="hum"}'));
    expect(value(after, 'sluice_source_received_total', '{source="plant"}')).toBe(3);
  });
});

/** A user-written connector reporting metrics of its own: declared kinds, an undeclared key, odd keys. */
class ReportingConnector extends InMemoryConnector {
  calls = 0;
  broken = false;

  override createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    const action = super.createAction(settings, context);
    return {
      ...action,
      send: (output, message) => {
        this.calls++;
        return action.send(output, message);
      },
      metrics: () => {
        if (this.broken) throw new Error('metrics backend gone');
        return { 'http.calls': this.calls, 'queue depth': 2, inflight: 1, lastStatus: 204, 'odd/\u00e9': 3, text: 'nope' } as unknown as Record<string, number>;
      },
      metricKinds: { 'http.calls': 'counter', 'queue depth': 'gauge', inflight: 'gauge' },
    };
  }
}

describe('GET /metrics with a connector that reports metrics of its own', () => {
  let app: Integration;
  let source: InMemorySource;
  let connector: ReportingConnector;
  let endpoint: HttpEndpoint;
  const scrape = async (): Promise<Map<string, Family>> => {
    const res = await fetch(`http://127.0.0.1:${endpoint.address.port}/metrics`);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };

  beforeEach(async () => {
    source = new InMemorySource('plant');
    connector = new ReportingConnector('hook');
    app = await createIntegration({
      modules: [sourceModule(source), connectorModule(connector), connectorModule(new InMemoryConnector('dead')), sqlModule()],
      // a fallback action wraps the primary: its metrics and their kinds must still come through
      rules: [{ id: 'r', sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'hook', fallbackActions: [{ connector: 'dead' }] }] }],
    });
    await app.start();
    endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0 }, silentLogger);
  });

  afterEach(async () => {
    await endpoint.close();
    await app.stop();
  });

  it('exports them generically with sanitised names, the declared types, and no clash with the runtime series', async () => {
    await Promise.all([1, 2, 3].map((i) => source.push(`t/${i}`, '{}').settled));
    const families = await scrape();
    const series = (name: string): [string | undefined, number] => [families.get(name)?.type, value(families, name, '{action="r:hook"}')];
    expect({
      calls: series('sluice_action_http_calls_total'),
      depth: series('sluice_action_queue_depth'),
      // the connector's `inflight` cannot take the runtime's name
      connectorInflight: series('sluice_action_connector_inflight'),
      runtimeInflight: series('sluice_action_inflight'),
      lastStatus: series('sluice_action_last_status'),
      odd: series('sluice_action_odd'),
    }).toEqual({
      calls: ['counter', 3],
      depth: ['gauge', 2],
      connectorInflight: ['gauge', 1],
      runtimeInflight: ['gauge', 0],
      lastStatus: ['untyped', 204],
      odd: ['untyped', 3],
    });
    expect([...families.keys()].filter((name) => name.includes('text'))).toEqual([]);

    await source.push('t/4', '{}').settled;
    expect(value(await scrape(), 'sluice_action_http_calls_total', '{action="r:hook"}')).toBe(4);
  });

  it('a connector whose metrics() throws loses only its own series; the endpoint and the runtime series stay', async () => {
    await source.push('t/1', '{}').settled;
    connector.broken = true;
    const families = await scrape();
    expect(value(families, 'sluice_action_success_total', '{action="r:hook"}')).toBe(1);
    expect(families.has('sluice_action_http_calls_total')).toBe(false);
    expect(app.metrics.action('r:hook')?.connector).toEqual({});
  });
});

// GET /metrics after a known load, read back by a strict parser of the Prometheus text exposition format
// (version 0.0.4): what Prometheus itself would ingest, not substrings of the text.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, silentLogger, sinkModule, sourceModule, type Integration } from '@sluice/core';
import { InMemorySink, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { startHttpServer, type HttpEndpoint } from './http-server';

interface Family {
  help?: string;
  type?: string;
  /** Samples keyed by their canonical label set, e.g. `{rule="a"}`. */
  readonly samples: Map<string, number>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses `name="value",...` (the text between the braces), honouring the \\, \" and \n escapes. */
function parseLabels(text: string, line: string): Array<[string, string]> {
  const labels: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`label without "=": ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}": ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape in label value: ${line}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value: ${line}`);
    labels.push([name, value]);
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`expected "," between labels: ${line}`);
      i++;
    }
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad sample value "${text}": ${line}`);
  return Number(text);
}

/**
 * A strict parser: every line is a HELP, a TYPE, a sample or empty; HELP and TYPE come at most once per
 * family and before its samples; a sample's family must be declared (prom-client always declares them) and
 * its label set must not repeat. Anything else throws with the offending line.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { samples: new Map() }));
    return f;
  };
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      const f = family(name);
      if (f.samples.size > 0) throw new Error(`${kind} after the samples of ${name}: ${line}`);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name}`);
        f.help = rest;
      } else {
        if (f.type !== undefined) throw new Error(`second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`unknown type "${rest}": ${line}`);
        f.type = rest;
      }
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (sample === null) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
    const f = families.get(name);
    if (f?.type === undefined) throw new Error(`sample of an undeclared family: ${line}`);
    const labels = labelText === undefined || labelText === '' ? [] : parseLabels(labelText, line);
    const key = `{${labels.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (f.samples.has(key)) throw new Error(`duplicate series ${name}${key}`);
    f.samples.set(key, parseValue(valueText, line));
  }
  return families;
}

/** The value of one series; throws when it is missing, so a renamed metric fails loudly. */
function value(families: Map<string, Family>, name: string, labels: string): number {
  const sample = families.get(name)?.samples.get(labels);
  if (sample === undefined) throw new Error(`no series ${name}${labels}`);
  return sample;
}

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
  let sink: InMemorySink;
  let endpoint: HttpEndpoint;

  beforeEach(async () => {
    source = new InMemorySource('plant');
    sink = new InMemorySink('store');
    app = await createIntegration({
      modules: [sourceModule(source), sinkModule(sink), sqlModule()],
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
    expect(sink.records).toHaveLength(11);

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
    expect(sluice.length).toBe(28); // 8 rule counters + enabled, 10 action counters + inflight + queuing, 6 source series, connected
    for (const [name, f] of sluice) expect([name, f.type, (f.help ?? '').length > 0]).toEqual([name, 'gauge', true]);
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

// What a source counts itself (Source.metrics(), e.g. the embedded broker's dropped events) on /metrics, read back
// by the strict parser of the Prometheus text format: `sluice_source_<key>{source=…}`, typed as the source declares.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createIntegration, sourceModule, type Integration, type Logger } from '@sluice/core';
import { InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { prometheusRegistry } from './prometheus';
import { parseExposition, value } from '../test/prometheus-text';

class CountingSource extends InMemorySource {
  reported: Record<string, unknown> = {};
  readonly metricKinds = { 'events.dropped': 'counter', 'events.inflight': 'gauge', received: 'counter', minus: 'counter', events_dropped: 'counter' } as const;
  metrics(): Readonly<Record<string, number>> {
    return this.reported as Record<string, number>;
  }
}

describe('source metrics on /metrics', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function scrapeWith(reported: Record<string, unknown>) {
    const source = new CountingSource('devices');
    source.reported = reported;
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const logger: Logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (_msg, fields) => void warnings.push(fields), child: () => logger };
    app = await createIntegration({ modules: [sourceModule(source), sourceModule(new InMemorySource('plain')), sqlModule()], rules: [] });
    await app.start();
    const registry = prometheusRegistry(app, logger);
    return { families: parseExposition(await registry.metrics()), registry, warnings, source };
  }

  it('exports a declared counter with _total and a gauge without, labelled with the source', async () => {
    const { families, registry, source } = await scrapeWith({ 'events.dropped': 2, 'events.inflight': 1, 'odd.one': 5 });
    expect(families.get('sluice_source_events_dropped_total')?.type).toBe('counter');
    expect(value(families, 'sluice_source_events_dropped_total', '{source="devices"}')).toBe(2);
    expect(families.get('sluice_source_events_inflight')?.type).toBe('gauge');
    expect(value(families, 'sluice_source_events_inflight', '{source="devices"}')).toBe(1);
    expect(families.get('sluice_source_odd_one')?.type).toBe('untyped');
    // the runtime's own source series are still there, for both sources
    expect(value(families, 'sluice_source_received_total', '{source="plain"}')).toBe(0);
    source.reported = { 'events.dropped': 7 };
    const again = parseExposition(await registry.metrics());
    expect(value(again, 'sluice_source_events_dropped_total', '{source="devices"}')).toBe(7);
    expect(again.has('sluice_source_events_inflight')).toBe(false);
  });

  it('moves a key that takes a runtime name aside and leaves out (logged once) what cannot be exported', async () => {
    const { families, registry, warnings } = await scrapeWith({ received: 3, minus: -1, text: 'x', 'events.dropped': 1, events_dropped: 9 });
    expect(value(families, 'sluice_source_connector_received_total', '{source="devices"}')).toBe(3);
    expect(value(families, 'sluice_source_received_total', '{source="devices"}')).toBe(0);
    expect(value(families, 'sluice_source_events_dropped_total', '{source="devices"}')).toBe(1);
    expect(families.has('sluice_source_minus_total')).toBe(false);
    expect(families.has('sluice_source_text')).toBe(false);
    // events_dropped names the same series as events.dropped: the first key wins, the second would be a duplicate series
    await registry.metrics();
    expect(warnings.map((fields) => fields?.['key'])).toEqual(['minus', 'text', 'events_dropped']);
  });
});

// Source.metrics() and Source.metricKinds (optional): what a source counts itself (an embedded broker's dropped
// events) appears as the `connector` part of its metrics snapshot, and a metrics() that throws breaks no reader.
import { afterEach, describe, expect, it } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { createIntegration, type Integration } from './integration';
import type { Logger } from './logger';
import { sourceModule } from './modules';
import { RuleEngine, type CompiledRule, type Template } from './rule-engine';
import { InMemorySource } from './testing';

const engineModule = new ContainerModule((options) => {
  options.bind<RuleEngine>(RuleEngine).toConstantValue({
    compileRule: (sql: string): CompiledRule => ({ topics: [sql], evaluate: () => [] }),
    compileTemplate: (text: string): Template => ({ source: text, isConstant: true, render: () => text }),
  });
});

class CountingSource extends InMemorySource {
  dropped = 0;
  throwing = false;
  readonly metricKinds = { 'events.dropped': 'counter', 'events.inflight': 'gauge' } as const;
  metrics(): Readonly<Record<string, number>> {
    if (this.throwing) throw new Error('counters gone');
    return { 'events.dropped': this.dropped, 'events.inflight': 1 };
  }
}

describe('source metrics', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function compose(logger?: Logger): Promise<{ app: Integration; source: CountingSource }> {
    const source = new CountingSource('broker');
    app = await createIntegration({
      modules: [sourceModule(source), sourceModule(new InMemorySource('plain')), engineModule],
      rules: [],
      ...(logger === undefined ? {} : { logger }),
    });
    await app.start();
    return { app, source };
  }

  it('shows what the source reports, read at each snapshot, and its declared kinds; {} for a source that reports nothing', async () => {
    const { app, source } = await compose();
    expect(app.metrics.source('broker')?.connector).toEqual({ 'events.dropped': 0, 'events.inflight': 1 });
    source.dropped = 3;
    expect(app.metrics.snapshot().sources['broker']).toMatchObject({ received: 0, connector: { 'events.dropped': 3, 'events.inflight': 1 } });
    expect(app.metrics.snapshot().sources['plain']?.connector).toEqual({});
    expect(app.metrics.sourceMetricKinds('broker')).toEqual({ 'events.dropped': 'counter', 'events.inflight': 'gauge' });
    expect(app.metrics.sourceMetricKinds('plain')).toEqual({});
    expect(app.metrics.sourceMetricKinds('nope')).toBeUndefined();
  });

  it('a metrics() that throws leaves the part empty and is logged; the runtime counters are still read', async () => {
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const logger: Logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (msg, fields) => void warnings.push([msg, fields]), child: () => logger };
    const { app, source } = await compose(logger);
    warnings.length = 0;
    source.throwing = true;
    expect(app.metrics.source('broker')).toMatchObject({ received: 0, connector: {} });
    expect(warnings).toEqual([["the source's metrics() threw; its own metrics are left out", { source: 'broker', error: 'counters gone' }]]);
  });
});

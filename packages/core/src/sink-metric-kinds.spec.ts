// SinkAction.metricKinds (optional) as an exporter reads it: through IntegrationMetrics.sinkMetricKinds,
// also behind a fallback wrapper; and a sink whose metrics() throws does not break the metrics readers.
import { afterEach, describe, expect, it } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { createIntegration, type Integration } from './integration';
import type { Logger } from './logger';
import { sinkModule, sourceModule } from './modules';
import { RuleEngine, type CompiledRule, type RuleInput, type Template } from './rule-engine';
import type { ActionContext, SinkAction } from './sink';
import { InMemorySink, InMemorySource } from './testing';

/** Rules pass the message through (`SQL` = topic filter); templates are constant. */
const passThrough: RuleEngine = {
  compileRule(sql: string): CompiledRule {
    return { topics: [sql], evaluate: (input: RuleInput) => [{ topic: input['topic'] }] };
  },
  compileTemplate(text: string): Template {
    return { source: text, isConstant: true, render: () => text };
  },
};
const engineModule = new ContainerModule((options) => {
  options.bind<RuleEngine>(RuleEngine).toConstantValue(passThrough);
});

class DeclaringSink extends InMemorySink {
  throwing = false;
  override createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): SinkAction {
    return {
      ...super.createAction(settings, context),
      metrics: () => {
        if (this.throwing) throw new Error('metrics backend gone');
        return { sent: 1, depth: 2 };
      },
      metricKinds: { sent: 'counter', depth: 'gauge' },
    };
  }
}

describe('sink metric kinds', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function compose(logger?: Logger): Promise<{ app: Integration; sink: DeclaringSink }> {
    const sink = new DeclaringSink('declaring');
    app = await createIntegration({
      modules: [sourceModule(new InMemorySource('src')), sinkModule(sink), sinkModule(new InMemorySink('plain')), engineModule],
      rules: [
        { id: 'direct', sql: 't', actions: [{ connector: 'declaring' }, { connector: 'plain' }] },
        { id: 'wrapped', sql: 't', actions: [{ connector: 'declaring', fallbackActions: [{ connector: 'plain' }] }] },
      ],
      ...(logger === undefined ? {} : { logger }),
    });
    return { app, sink };
  }

  it('reads the declared kinds, also behind a fallback wrapper; {} when undeclared; undefined for an unknown action', async () => {
    const { app } = await compose();
    expect(app.metrics.sinkMetricKinds('direct:declaring')).toEqual({ sent: 'counter', depth: 'gauge' });
    expect(app.metrics.sinkMetricKinds('wrapped:declaring')).toEqual({ sent: 'counter', depth: 'gauge' });
    expect(app.metrics.action('wrapped:declaring')?.sink).toEqual({ sent: 1, depth: 2 });
    expect(app.metrics.sinkMetricKinds('direct:plain')).toEqual({});
    expect(app.metrics.sinkMetricKinds('nope')).toBeUndefined();
  });

  it('a metrics() that throws leaves the sink part empty and is logged; the runtime metrics are still read', async () => {
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const logger: Logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (msg, fields) => { warnings.push([msg, fields]); }, child: () => logger };
    const { app, sink } = await compose(logger);
    sink.throwing = true;
    expect(app.metrics.action('direct:declaring')).toMatchObject({ matched: 0, sink: {} });
    expect(app.metrics.snapshot().actions['wrapped:declaring']?.sink).toEqual({});
    expect(warnings).toContainEqual([expect.stringContaining('metrics() threw'), expect.objectContaining({ action: 'direct:declaring', error: expect.stringContaining('metrics backend gone') })]);
  });
});

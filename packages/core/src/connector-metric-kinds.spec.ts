// Action.metricKinds (optional) as an exporter reads it: through IntegrationMetrics.actionMetricKinds,
// also behind a fallback wrapper; and a connector whose metrics() throws does not break the metrics readers.
import { afterEach, describe, expect, it } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { createIntegration, type Integration } from './integration';
import type { Logger } from './logger';
import { connectorModule, sourceModule } from './modules';
import { RuleEngine, type CompiledRule, type RuleInput, type Template } from './rule-engine';
import type { ActionContext, Action } from './connector';
import { InMemoryConnector, InMemorySource } from './testing';

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

class DeclaringConnector extends InMemoryConnector {
  throwing = false;
  override createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
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

describe('connector metric kinds', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function compose(logger?: Logger): Promise<{ app: Integration; connector: DeclaringConnector }> {
    const connector = new DeclaringConnector('declaring');
    app = await createIntegration({
      modules: [sourceModule(new InMemorySource('src')), connectorModule(connector), connectorModule(new InMemoryConnector('plain')), engineModule],
      rules: [
        { id: 'direct', sql: 't', actions: [{ connector: 'declaring' }, { connector: 'plain' }] },
        { id: 'wrapped', sql: 't', actions: [{ connector: 'declaring', fallbackActions: [{ connector: 'plain' }] }] },
      ],
      ...(logger === undefined ? {} : { logger }),
    });
    return { app, connector };
  }

  it('reads the declared kinds, also behind a fallback wrapper; {} when undeclared; undefined for an unknown action', async () => {
    const { app } = await compose();
    expect(app.metrics.actionMetricKinds('direct:declaring')).toEqual({ sent: 'counter', depth: 'gauge' });
    expect(app.metrics.actionMetricKinds('wrapped:declaring')).toEqual({ sent: 'counter', depth: 'gauge' });
    expect(app.metrics.action('wrapped:declaring')?.connector).toEqual({ sent: 1, depth: 2 });
    expect(app.metrics.actionMetricKinds('direct:plain')).toEqual({});
    expect(app.metrics.actionMetricKinds('nope')).toBeUndefined();
  });

  it('a metrics() that throws leaves the connector part empty and is logged; the runtime metrics are still read', async () => {
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const logger: Logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (msg, fields) => { warnings.push([msg, fields]); }, child: () => logger };
    const { app, connector } = await compose(logger);
    connector.throwing = true;
    expect(app.metrics.action('direct:declaring')).toMatchObject({ matched: 0, connector: {} });
    expect(app.metrics.snapshot().actions['wrapped:declaring']?.connector).toEqual({});
    expect(warnings).toContainEqual([expect.stringContaining('metrics() threw'), expect.objectContaining({ action: 'direct:declaring', error: expect.stringContaining('metrics backend gone') })]);
  });
});

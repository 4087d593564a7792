import { afterEach, describe, expect, it } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { ConfigError, IntegrationError, ActionWriteError } from './errors';
import { createIntegration, type Integration } from './integration';
import { connectorModule, sourceModule } from './modules';
import { RuleEngine, type CompiledRule, type RuleInput, type Template } from './rule-engine';
import { InMemoryConnector, InMemorySource } from './testing';

/** Rules pass the message through (`SQL` = topic filter); templates are constant. */
const passThrough: RuleEngine = {
  compileRule(sql: string): CompiledRule {
    return { topics: [sql], evaluate: (input: RuleInput) => [{ topic: input['topic'], payload: String(input['payload']) }] };
  },
  compileTemplate(text: string): Template {
    return { source: text, isConstant: true, render: () => text };
  },
};
const engineModule = new ContainerModule((options) => {
  options.bind<RuleEngine>(RuleEngine).toConstantValue(passThrough);
});

const tooLarge = new ActionWriteError('main', 'MESSAGE_TOO_LARGE', { retriable: false });

describe('fallback actions', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function compose(fallbackActions: unknown) {
    const source = new InMemorySource('plant');
    const main = new InMemoryConnector('main');
    const dlq = new InMemoryConnector('dlq');
    main.behaviour = (output) => (output['payload'] === 'big' ? tooLarge : 'store');
    app = await createIntegration({
      modules: [sourceModule(source), connectorModule(main), connectorModule(dlq), engineModule],
      rules: [{ id: 'r', sql: 't', actions: [{ connector: 'main', fallbackActions } as never] }],
      rateIntervalMs: 1000,
    });
    await app.start();
    return { source, main, dlq, app };
  }

  it('an output refused for good goes to the fallback action, the message is acknowledged, the stream keeps flowing', async () => {
    const { source, main, dlq, app } = await compose([{ connector: 'dlq', template: 'dead' }]);
    const settled = await Promise.all(['a', 'big', 'b'].map((p) => source.push('t', p).settled));
    expect(settled).toEqual([undefined, undefined, undefined]);
    expect(main.records.map((r) => r.output['payload'])).toEqual(['a', 'b']);
    expect(dlq.records.map((r) => [r.actionId, r.output['payload'], r.rendered])).toEqual([['r:main/fallback-1', 'big', 'dead']]);
    expect(app.metrics.action('r:main')).toMatchObject({ matched: 3, success: 2, failed: 1, 'failed.retriable': 0, 'fallback.success': 1, 'fallback.failed': 0 });
    expect(app.metrics.rule('r')).toMatchObject({ 'actions.success': 2, 'actions.failed': 1 });
    expect(app.metrics.source('plant')).toMatchObject({ received: 3, acknowledged: 3, leftToBroker: 0, pending: 0 });
  });

  it('a fallback that gives up for now leaves the message to the broker (counted leftToBroker)', async () => {
    const { source, dlq, app } = await compose([{ connector: 'dlq' }]);
    dlq.behaviour = () => new ActionWriteError('dlq', 'away', { retriable: true });
    const error = await source.push('t', 'big').settled;
    expect(IntegrationError.is(error) && error.retriable).toBe(true);
    expect(app.metrics.action('r:main')).toMatchObject({ failed: 1, 'failed.retriable': 1, 'fallback.success': 0, 'fallback.failed': 1 });
    expect(app.metrics.source('plant')).toMatchObject({ received: 1, acknowledged: 0, leftToBroker: 1 });
  });

  it('a fallback that fails for good is counted and the message acknowledged', async () => {
    const { source, dlq, app } = await compose([{ connector: 'dlq' }]);
    dlq.behaviour = () => new ActionWriteError('dlq', 'refused too', { retriable: false });
    await expect(source.push('t', 'big').settled).resolves.toBeUndefined();
    expect(app.metrics.action('r:main')).toMatchObject({ failed: 1, 'fallback.failed': 1 });
    expect(app.metrics.source('plant')).toMatchObject({ acknowledged: 1 });
  });

  it('refuses a fallback naming an unknown connector, or carrying an id or fallbacks of its own, with the path', async () => {
    await expect(compose([{ connector: 'nowhere' }])).rejects.toThrow(ConfigError);
    await expect(compose([{ connector: 'nowhere' }])).rejects.toThrow(/rules\[0\]\.actions\[0\]\.fallbackActions\[0\]\.connector.*nowhere/);
    await expect(compose([{ connector: 'dlq', id: 'x' }])).rejects.toThrow(/rules\[0\]\.actions\[0\]\.fallbackActions\[0\].*no id/);
    await expect(compose({ connector: 'dlq' })).rejects.toThrow(/fallbackActions/);
  });
});

import { describe, expect, it, afterEach } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { ConfigError, IntegrationError, RuleEvaluationError, RuleSyntaxError, ActionWriteError } from './errors';
import { createIntegration, type Integration } from './integration';
import { RuleEngine, type CompiledRule, type RuleInput, type Template } from './rule-engine';
import { connectorModule, sourceModule } from './modules';
import type { Connector } from './connector';
import { InMemoryConnector, InMemorySource } from './testing';

/**
 * A stand-in rule engine for runtime tests (the real one is @sluice/sql): the "SQL" is
 * `<filter>[,<filter>...]`; evaluate() passes the columns through, throws for payload "boom" and filters
 * out payload "skip". Templates replace `${name}` by the output's field.
 */
const fakeEngine: RuleEngine = {
  compileRule(sql: string): CompiledRule {
    if (sql.startsWith('!')) throw new RuleSyntaxError('unexpected "!"', 1, 1);
    return {
      topics: sql.split(','),
      evaluate(input: RuleInput) {
        const payload = String(input['payload']);
        if (payload === 'boom') throw new RuleEvaluationError('boom');
        if (payload === 'skip') return [];
        return [{ topic: input['topic'], payload, clientid: input['clientid'] }];
      },
    };
  },
  compileTemplate(text: string): Template {
    return {
      source: text,
      isConstant: !text.includes('${'),
      render: (output) => text.replace(/\$\{(\w+)\}/g, (_, name: string) => String(output[name] ?? '')),
    };
  },
};
const fakeEngineModule = new ContainerModule((options) => {
  options.bind<RuleEngine>(RuleEngine).toConstantValue(fakeEngine);
});

describe(createIntegration.name, () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function compose(rules: Parameters<typeof createIntegration>[0]['rules']) {
    const source = new InMemorySource('plant');
    const connector = new InMemoryConnector('store');
    app = await createIntegration({ modules: [sourceModule(source), connectorModule(connector), fakeEngineModule], rules, rateIntervalMs: 1000 });
    await app.start();
    return { source, connector, app };
  }

  describe('routing', () => {
    it('subscribes each source to the union of the rules\' filters', async () => {
      const { source } = await compose([
        { id: 'a', sql: 'x/+,y/#', actions: [] },
        { id: 'b', sql: 'y/#,z', actions: [] },
      ]);
      expect([...source.filters].sort()).toEqual(['x/+', 'y/#', 'z']);
    });

    it('delivers a matching message to every action of every matching rule, and acknowledges after all stored', async () => {
      const { source, connector } = await compose([
        { id: 'r1', sql: 'sensors/+', actions: [{ connector: 'store', template: 'A ${payload}' }, { connector: 'store', id: 'second' }] },
        { id: 'r2', sql: 'sensors/#', actions: [{ connector: 'store' }] },
      ]);
      connector.behaviour = () => 'hold';
      const pushed = source.push('sensors/1', 'hello', { clientId: 'dev-1' });
      let settled = false;
      void pushed.settled.then(() => (settled = true));
      await new Promise((r) => setImmediate(r));
      expect(settled).toBe(false);
      expect(connector.heldCount).toBe(3);
      connector.release();
      await expect(pushed.settled).resolves.toBeUndefined();
      expect(connector.records.map((r) => r.actionId).sort()).toEqual(['r1:store', 'r2:store', 'second']);
      expect(connector.records.find((r) => r.actionId === 'r1:store')?.rendered).toBe('A hello');
      expect(connector.records[0]?.output).toEqual({ topic: 'sensors/1', payload: 'hello', clientid: 'dev-1' });
    });

    it('acknowledges at once a message no rule matches, and counts it unrouted', async () => {
      const { source, connector, app } = await compose([{ id: 'r1', sql: 'a/b', actions: [{ connector: 'store' }] }]);
      await expect(source.push('other/topic', 'x').settled).resolves.toBeUndefined();
      expect(connector.records).toHaveLength(0);
      expect(app.metrics.source('plant')).toMatchObject({ received: 1, unrouted: 1, pending: 0 });
      expect(app.metrics.rule('r1')).toMatchObject({ matched: 0 });
    });

    it('skips a disabled rule', async () => {
      const { source, connector, app } = await compose([{ id: 'r1', sql: 'a', actions: [{ connector: 'store' }] }]);
      expect(app.setRuleEnabled('r1', false)).toBe(true);
      await source.push('a', 'x').settled;
      expect(connector.records).toHaveLength(0);
      expect(app.setRuleEnabled('nope', false)).toBe(false);
    });
  });

  describe('metrics', () => {
    it('counts matched, passed, failed.exception, failed.no_result and action outcomes exactly', async () => {
      const { source, connector, app } = await compose([{ id: 'r', sql: 't/#', actions: [{ connector: 'store' }] }]);
      connector.behaviour = (output) => (output['payload'] === 'refused' ? new ActionWriteError('store', 'too large', { retriable: false }) : 'store');
      const results = await Promise.all(['ok', 'ok', 'boom', 'skip', 'refused'].map((p) => source.push('t/1', p).settled));
      expect(results).toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(app.metrics.rule('r')).toMatchObject({
        matched: 5,
        passed: 3,
        failed: 2,
        'failed.exception': 1,
        'failed.no_result': 1,
        'actions.total': 3,
        'actions.success': 2,
        'actions.failed': 1,
      });
      expect(app.metrics.action('r:store')).toMatchObject({ matched: 3, success: 2, failed: 1, inflight: 0, queuing: 0 });
    });

    it('counts a send resolved as dropped under dropped.<reason>, not success, and acknowledges the message', async () => {
      const { source, connector, app } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      connector.behaviour = (output) => (output['payload'] === 'full' ? 'drop' : 'store');
      const results = await Promise.all(['ok', 'full', 'full'].map((p) => source.push('t', p).settled));
      expect(results).toEqual([undefined, undefined, undefined]);
      expect(app.metrics.action('r:store')).toMatchObject({ matched: 3, success: 1, failed: 0, dropped: 2, 'dropped.queue_full': 2, inflight: 0 });
      expect(app.metrics.rule('r')).toMatchObject({ 'actions.total': 3, 'actions.success': 1, 'actions.failed': 2 });
      expect(app.metrics.source('plant')).toMatchObject({ acknowledged: 3, pending: 0 });
    });

    it('shows in-flight sends and queued records while the connector holds them', async () => {
      const { source, connector, app } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      connector.behaviour = () => 'hold';
      const pushed = [source.push('t', '1'), source.push('t', '2')];
      expect(app.metrics.action('r:store')).toMatchObject({ inflight: 2, queuing: 2 });
      expect(app.metrics.source('plant')).toMatchObject({ pending: 2 });
      connector.release();
      await Promise.all(pushed.map((p) => p.settled));
      expect(app.metrics.action('r:store')).toMatchObject({ inflight: 0, success: 2 });
    });

    it('counts redeliveries (dup flag)', async () => {
      const { source, app } = await compose([{ id: 'r', sql: 't', actions: [] }]);
      await source.push('t', 'a', { dup: true }).settled;
      expect(app.metrics.source('plant')).toMatchObject({ received: 1, duplicates: 1 });
    });

    it('resets a rule and its actions', async () => {
      const { source, app } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      await source.push('t', 'a').settled;
      expect(app.metrics.resetRule('r')).toBe(true);
      expect(app.metrics.rule('r')).toMatchObject({ matched: 0, passed: 0, 'actions.total': 0 });
      expect(app.metrics.action('r:store')).toMatchObject({ matched: 0, success: 0 });
    });
  });

  describe('failures', () => {
    it('leaves a message to the broker when an action gives up for now (retriable), and acknowledges one refused for good', async () => {
      const { source, connector } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      connector.behaviour = (output) =>
        output['payload'] === 'later'
          ? new ActionWriteError('store', 'broker away', { retriable: true })
          : new ActionWriteError('store', 'unknown topic', { retriable: false });
      const later = await source.push('t', 'later').settled;
      expect(IntegrationError.is(later) && later.retriable).toBe(true);
      await expect(source.push('t', 'never').settled).resolves.toBeUndefined();
    });

    it('keeps routing after an action throws synchronously', async () => {
      const { source, connector, app } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      connector.behaviour = (output) => {
        if (output['payload'] === 'throw') throw new Error('bug in connector');
        return 'store';
      };
      await source.push('t', 'throw').settled;
      await source.push('t', 'fine').settled;
      expect(app.metrics.action('r:store')).toMatchObject({ failed: 1, success: 1 });
    });
  });

  describe('stop()', () => {
    it('stops intake, waits for in-flight messages, then acknowledges them', async () => {
      const { source, connector, app } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      connector.behaviour = () => 'hold';
      const pushed = source.push('t', 'x');
      const stopped = app.stop();
      expect(source.paused).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(source.started).toBe(true); // still draining
      connector.release();
      await stopped;
      await expect(pushed.settled).resolves.toBeUndefined();
      expect(source.started).toBe(false);
      expect(connector.started).toBe(false);
      expect(connector.records).toHaveLength(1);
    });

    it('gives up after stopTimeoutMs and leaves unsettled messages unacknowledged', async () => {
      const source = new InMemorySource('plant');
      const connector = new InMemoryConnector('store');
      app = await createIntegration({
        modules: [sourceModule(source), connectorModule(connector), fakeEngineModule],
        rules: [{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }],
        stopTimeoutMs: 30,
      });
      await app.start();
      connector.behaviour = () => 'hold';
      const pushed = source.push('t', 'x');
      let settled = false;
      void pushed.settled.then(() => (settled = true));
      await app.stop();
      expect(settled).toBe(false);
      expect(source.started).toBe(false);
    });
  });

  describe('configuration errors', () => {
    const modules = () => [sourceModule(new InMemorySource('plant')), connectorModule(new InMemoryConnector('store')), fakeEngineModule];

    it('names the rule and the path of a syntax error', async () => {
      const error = await createIntegration({ modules: modules(), rules: [{ id: 'ok', sql: 'a', actions: [] }, { id: 'bad', sql: '!x', actions: [] }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([{ path: 'rules[1].sql', message: 'rule "bad": unexpected "!"' }]);
    });

    it('names an unknown connector with the ones that exist', async () => {
      const error = await createIntegration({ modules: modules(), rules: [{ id: 'r', sql: 'a', actions: [{ connector: 'kafak' }] }] }).catch((e: unknown) => e);
      expect((error as ConfigError).issues).toEqual([{ path: 'rules[0].actions[0].connector', message: 'no connector has the id "kafak" (known: store)' }]);
    });

    it('refuses duplicate rule ids, unknown keys and a missing rule engine', async () => {
      await expect(createIntegration({ modules: modules(), rules: [{ id: 'r', sql: 'a' }, { id: 'r', sql: 'b' }] })).rejects.toThrow('rules[1].id: another rule already has the id "r"');
      await expect(createIntegration({ modules: modules(), rules: [{ id: 'r', sql: 'a', acions: [] } as never] })).rejects.toThrow(/rules\[0\]/);
      await expect(createIntegration({ modules: [connectorModule(new InMemoryConnector())], rules: [] })).rejects.toThrow('add sqlModule()');
    });

    it('refuses two connectors with the same id', async () => {
      await expect(createIntegration({ modules: [connectorModule(new InMemoryConnector('s')), connectorModule(new InMemoryConnector('s')), fakeEngineModule], rules: [] })).rejects.toThrow('two connectors have the id "s"');
    });
  });
});

describe('connector-specific action metrics', () => {
  it('shows what Action.metrics() reports, also behind fallback actions', async () => {
    const reporting: Connector = {
      id: 'reporting',
      createAction: (_settings, context) => ({ id: context.id, send: () => Promise.resolve(), metrics: () => ({ retried: 3, 'queuing_bytes': 120 }) }),
      start: () => Promise.resolve(),
      stop: () => Promise.resolve(),
    };
    const app = await createIntegration({
      modules: [sourceModule(new InMemorySource('plant')), connectorModule(reporting), connectorModule(new InMemoryConnector('store')), fakeEngineModule],
      rules: [{ id: 'r', sql: 't', actions: [{ connector: 'reporting', id: 'plain' }, { connector: 'reporting', id: 'guarded', fallbackActions: [{ connector: 'store' }] }] }],
    });
    expect(app.metrics.action('plain')?.connector).toEqual({ retried: 3, queuing_bytes: 120 });
    expect(app.metrics.action('guarded')?.connector).toEqual({ retried: 3, queuing_bytes: 120 });
    expect(app.metrics.snapshot().actions['plain']?.connector).toEqual({ retried: 3, queuing_bytes: 120 });
  });

  it('is empty for a connector that reports nothing', async () => {
    const app = await createIntegration({
      modules: [sourceModule(new InMemorySource('plant')), connectorModule(new InMemoryConnector('store')), fakeEngineModule],
      rules: [{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }],
    });
    expect(app.metrics.action('r:store')?.connector).toEqual({});
  });
});

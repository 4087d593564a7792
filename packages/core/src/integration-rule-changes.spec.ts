import { afterEach, describe, expect, it } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { ConfigError, IntegrationError, RuleSyntaxError } from './errors';
import { createIntegration, type Integration } from './integration';
import type { Logger } from './logger';
import { connectorModule, sourceModule } from './modules';
import { RuleEngine, type CompiledRule, type RuleInput, type Template } from './rule-engine';
import type { ActionContext, Action } from './connector';
import type { MessageReceiver } from './source';
import { InMemoryConnector, InMemorySource } from './testing';

/** Stand-in engine: the "SQL" is `<filter>[,<filter>...]`; `!` at the start is a syntax error at 1:1. */
const fakeEngine: RuleEngine = {
  compileRule(sql: string): CompiledRule {
    if (sql.startsWith('!')) throw new RuleSyntaxError('unexpected "!"', 1, 1);
    return { topics: sql.split(','), evaluate: (input: RuleInput) => [{ topic: input['topic'], payload: String(input['payload']) }] };
  },
  compileTemplate(text: string): Template {
    return { source: text, isConstant: !text.includes('${'), render: (output) => text.replace(/\$\{(\w+)\}/g, (_, name: string) => String(output[name] ?? '')) };
  },
};
const fakeEngineModule = new ContainerModule((options) => {
  options.bind<RuleEngine>(RuleEngine).toConstantValue(fakeEngine);
});

/** An InMemorySource that can change its subscriptions at run time, recording each change. */
class UpdatableSource extends InMemorySource {
  readonly updates: string[][] = [];
  async updateFilters(filters: readonly string[]): Promise<void> {
    this.updates.push([...filters]);
    this.filters = filters;
  }
}

/** An InMemoryConnector whose actions record when they are created and closed, and refuse `template: '!'`. */
class ClosingConnector extends InMemoryConnector {
  readonly created: string[] = [];
  readonly closed: string[] = [];
  override createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    if (settings['template'] === '!') throw new ConfigError('memory', [{ path: 'template', message: 'bad template' }]);
    const action = super.createAction(settings, context);
    this.created.push(`${context.id}=${String(settings['template'])}`);
    return { ...action, close: async () => void this.closed.push(`${context.id}=${String(settings['template'])}`) };
  }
}

/** A ClosingConnector whose actions batch: each records when it is told to send what lingers (sendNow). */
class LingeringConnector extends ClosingConnector {
  readonly sentNow: string[] = [];
  /** The template of the actions whose sendNow throws, as a faulty plugin's might. */
  failOn: string | undefined;
  override createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    const sendNow = (): void => {
      if (settings['template'] === this.failOn) throw new Error('sendNow broke');
      this.sentNow.push(`${context.id}=${String(settings['template'])}`);
    };
    return { ...super.createAction(settings, context), sendNow };
  }
}

/** An UpdatableSource whose window can fill: stall() tells the runtime, as the MQTT source does. */
class StallingSource extends UpdatableSource {
  private runtime: MessageReceiver | undefined;
  override async start(receiver: MessageReceiver, filters: readonly string[]): Promise<void> {
    this.runtime = receiver;
    await super.start(receiver, filters);
  }

  stall(): void {
    this.runtime?.stalled?.();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function captureLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`),
    warn: (message, fields) => lines.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
    error: (message) => lines.push(`ERROR ${message}`),
    child: () => logger,
  };
  return logger;
}

describe('run-time rule changes', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function compose(rules: Parameters<typeof createIntegration>[0]['rules'], source: InMemorySource = new UpdatableSource('plant'), stopTimeoutMs = 1000) {
    const connector = new ClosingConnector('store');
    const logs: string[] = [];
    app = await createIntegration({ modules: [sourceModule(source), connectorModule(connector), fakeEngineModule], rules, logger: captureLogger(logs), stopTimeoutMs });
    await app.start();
    return { source, connector, app, logs };
  }

  describe('a source whose window is full (MessageReceiver.stalled)', () => {
    it('has each installed action that batches send what lingers, following rule changes', async () => {
      const source = new StallingSource('plant');
      const connector = new LingeringConnector('store');
      const rules = [{ id: 'a', sql: 'a', actions: [{ connector: 'store', template: 'A' }] }];
      app = await createIntegration({ modules: [sourceModule(source), connectorModule(connector), fakeEngineModule], rules, logger: captureLogger([]) });
      await app.start();
      source.stall();
      expect(connector.sentNow).toEqual(['a:store=A']);
      await app.upsertRule({ id: 'b', sql: 'b', actions: [{ connector: 'store', template: 'B' }] });
      source.stall();
      expect(connector.sentNow).toEqual(['a:store=A', 'a:store=A', 'b:store=B']);
      await app.removeRule('a');
      source.stall();
      expect(connector.sentNow.slice(3)).toEqual([
        'a:store=A', // retired: nothing reaches it any more, so what it lingers on goes at once
        'b:store=B', // the stall
      ]);
    });

    it('goes on to the other actions, and logs it, when an action throws in sendNow', async () => {
      const source = new StallingSource('plant');
      const connector = new LingeringConnector('store');
      connector.failOn = 'A';
      const rules = [{ id: 'a', sql: 'a', actions: [{ connector: 'store', template: 'A' }] }, { id: 'b', sql: 'b', actions: [{ connector: 'store', template: 'B' }] }];
      const logs: string[] = [];
      app = await createIntegration({ modules: [sourceModule(source), connectorModule(connector), fakeEngineModule], rules, logger: captureLogger(logs) });
      await app.start();
      expect(() => source.stall()).not.toThrow();
      expect(connector.sentNow).toEqual(['b:store=B']);
      expect(logs.filter((line) => line.includes('sendNow'))).toEqual([expect.stringContaining('WARN action threw in sendNow; its records wait out their linger {"action":"a:store"')]);
    });

    it('has every action send what lingers when the integration stops: nothing more comes, and the drain waits for it', async () => {
      const source = new StallingSource('plant');
      const connector = new LingeringConnector('store');
      const rules = [{ id: 'a', sql: 'a', actions: [{ connector: 'store', template: 'A' }] }, { id: 'b', sql: 'b', actions: [{ connector: 'store', template: 'B' }] }];
      app = await createIntegration({ modules: [sourceModule(source), connectorModule(connector), fakeEngineModule], rules, logger: captureLogger([]) });
      await app.start();
      await app.stop();
      app = undefined;
      expect(connector.sentNow).toEqual(['a:store=A', 'b:store=B']);
    });
  });

  describe('.upsertRule', () => {
    it('adds a rule while running, subscribes the source to its topics and routes to it', async () => {
      const { source, connector, app, logs } = await compose([{ id: 'a', sql: 'a/#', actions: [{ connector: 'store' }] }]);
      const report = await app.upsertRule({ id: 'b', sql: 'b/+', actions: [{ connector: 'store', template: 'B ${payload}' }] });
      expect(report).toEqual({ added: ['b'], replaced: [], removed: [], restartNeeded: [] });
      expect((source as UpdatableSource).updates).toEqual([['a/#', 'b/+']]);
      await source.push('b/1', 'x').settled;
      expect(connector.records.map((r) => [r.actionId, r.rendered])).toEqual([['b:store', 'B x']]);
      expect(app.rules().map((r) => r.id)).toEqual(['a', 'b']);
      expect(logs).toContain('rule added {"rule":"b","topics":["b/+"]}');
    });

    it('refuses a rule whose SQL does not parse, with the line and column, and changes nothing', async () => {
      const { source, connector, app } = await compose([{ id: 'a', sql: 'a', actions: [{ connector: 'store', template: 'old' }] }]);
      const error = await app.upsertRule({ id: 'a', sql: '!a', actions: [{ connector: 'store', template: 'new' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([{ path: 'sql', message: 'rule "a": unexpected "!"' }]);
      expect((error as ConfigError).cause).toBeInstanceOf(RuleSyntaxError);
      expect((error as ConfigError).cause).toMatchObject({ line: 1, column: 1 });
      expect(connector.created).toEqual(['a:store=old']);
      await source.push('a', 'x').settled;
      expect(connector.records.map((r) => r.rendered)).toEqual(['old']);
      expect((source as UpdatableSource).updates).toEqual([]);
    });

    it('refuses a rule with a bad action, closes the actions it had already created, and changes nothing', async () => {
      const { source, connector, app } = await compose([{ id: 'a', sql: 'a', actions: [{ connector: 'store', template: 'old' }] }]);
      const refused = app.upsertRule({ id: 'a', sql: 'a,b', actions: [{ connector: 'store', template: 'new' }, { connector: 'store', id: 'x', template: '!' }] });
      await expect(refused).rejects.toThrow(ConfigError);
      await expect(refused.catch((e: ConfigError) => e.issues)).resolves.toEqual([{ path: 'actions[1].template', message: 'bad template' }]);
      await expect(app.upsertRule({ id: 'c', sql: 'c', actions: [{ connector: 'nope' }] })).rejects.toThrow('actions[0].connector: no connector has the id "nope" (known: store)');
      await expect(app.upsertRule({ id: 'c', sql: 'c', acions: [] } as never)).rejects.toThrow(/Unrecognized key/);
      await tick();
      expect(connector.closed).toEqual(['a:store=new']);
      await source.push('a', 'x').settled;
      expect(connector.records.map((r) => r.rendered)).toEqual(['old']);
      expect(app.rules().map((r) => r.id)).toEqual(['a']);
    });

    it('refuses an action id another rule already uses', async () => {
      const { app } = await compose([{ id: 'a', sql: 'a', actions: [{ connector: 'store', id: 'shared' }] }]);
      await expect(app.upsertRule({ id: 'b', sql: 'b', actions: [{ connector: 'store', id: 'shared' }] })).rejects.toThrow('actions[0].id: the action id "shared" is taken by rule "a"');
    });

    it('replaces a rule without dropping or duplicating: in-flight messages finish on the old actions, new ones go to the new rule', async () => {
      const { source, connector, app, logs } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store', template: 'old ${payload}' }] }]);
      connector.behaviour = () => 'hold';
      const before = [source.push('t', '1'), source.push('t', '2')];
      await tick();
      expect(connector.heldCount).toBe(2);

      const report = await app.upsertRule({ id: 'r', sql: 't', actions: [{ connector: 'store', template: 'new ${payload}' }] });
      expect(report.replaced).toEqual(['r']);
      expect(logs).toContain('rule replaced {"rule":"r","topics":["t"]}');
      const after = source.push('t', '3');
      await tick();
      expect(connector.heldCount).toBe(3);
      expect(connector.closed).toEqual([]); // the old action still has sends in flight

      connector.release();
      await Promise.all([...before, after].map((p) => p.settled));
      expect(connector.records.map((r) => r.rendered).sort()).toEqual(['new 3', 'old 1', 'old 2']);
      // counters carry on across the replacement (same rule id, same action id)
      expect(app.metrics.rule('r')).toMatchObject({ matched: 3, 'actions.success': 3 });
      expect(app.metrics.action('r:store')).toMatchObject({ matched: 3, success: 3, inflight: 0 });
      await waitFor(() => connector.closed.length > 0);
      expect(connector.closed).toEqual(['r:store=old ${payload}']);
    });

    it('leaves an identical definition alone', async () => {
      const { app, connector } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      await expect(app.upsertRule({ id: 'r', sql: 't', enabled: true, actions: [{ connector: 'store' }] })).resolves.toEqual({ added: [], replaced: [], removed: [], restartNeeded: [] });
      expect(connector.created).toHaveLength(1);
    });

    it('says which sources need a restart when they cannot change their subscriptions', async () => {
      const { app } = await compose([{ id: 'r', sql: 't', actions: [] }], new InMemorySource('plain'));
      await expect(app.upsertRule({ id: 'n', sql: 'n/#' })).resolves.toMatchObject({ added: ['n'], restartNeeded: ['plain'] });
    });

    it('is refused once the integration is stopped', async () => {
      const { app } = await compose([{ id: 'r', sql: 't' }]);
      await app.stop();
      const error = await app.upsertRule({ id: 'n', sql: 'n' }).catch((e: unknown) => e);
      expect(IntegrationError.is(error) && error.code).toBe('ERR_STOPPED');
    });
  });

  describe('.removeRule', () => {
    it('removes a rule, unsubscribes its topics and closes its actions once their messages settled', async () => {
      const { source, connector, app, logs } = await compose([
        { id: 'a', sql: 'a', actions: [{ connector: 'store' }] },
        { id: 'b', sql: 'b', actions: [{ connector: 'store' }] },
      ]);
      connector.behaviour = () => 'hold';
      const inflight = source.push('b', 'x');
      await expect(app.removeRule('b')).resolves.toBe(true);
      expect((source as UpdatableSource).updates).toEqual([['a']]);
      expect(logs).toContain('rule removed {"rule":"b"}');
      await expect(source.push('b', 'late').settled).resolves.toBeUndefined(); // routed nowhere, acknowledged
      expect(app.metrics.source('plant')).toMatchObject({ unrouted: 1 });
      expect(connector.closed).toEqual([]);
      connector.release();
      await inflight.settled;
      await waitFor(() => connector.closed.length > 0);
      expect(connector.closed).toEqual(['b:store=undefined']);
      expect(connector.records).toHaveLength(1);
      await expect(app.removeRule('b')).resolves.toBe(false);
    });

    it('closes a removed action at stop when its message never settled', async () => {
      const { source, connector, app } = await compose([{ id: 'a', sql: 'a', actions: [{ connector: 'store' }] }], new UpdatableSource('plant'), 10);
      connector.behaviour = () => 'hold';
      source.push('a', 'x');
      await app.removeRule('a');
      await app.stop();
      expect(connector.closed).toEqual(['a:store=undefined']);
    });
  });

  describe('.setRules', () => {
    it('adds, replaces and removes to match the list, leaving identical rules and their state alone', async () => {
      const { app, connector } = await compose([
        { id: 'same', sql: 's', actions: [{ connector: 'store' }] },
        { id: 'changed', sql: 'c', actions: [{ connector: 'store', template: '1' }] },
        { id: 'gone', sql: 'g' },
      ]);
      app.setRuleEnabled('same', false);
      const report = await app.setRules([
        { id: 'same', sql: 's', actions: [{ connector: 'store' }] },
        { id: 'changed', sql: 'c', actions: [{ connector: 'store', template: '2' }] },
        { id: 'new', sql: 'n' },
      ]);
      expect(report).toEqual({ added: ['new'], replaced: ['changed'], removed: ['gone'], restartNeeded: [] });
      expect(app.rules().map((r) => [r.id, r.enabled])).toEqual([['same', false], ['changed', true], ['new', true]]);
      expect(connector.created).toEqual(['same:store=undefined', 'changed:store=1', 'changed:store=2']);
      expect(app.ruleDefinition('changed')).toMatchObject({ actions: [{ connector: 'store', template: '2' }] });
    });

    it('refuses the whole list when one rule is invalid, with the path of the rule in the list', async () => {
      const { app } = await compose([{ id: 'a', sql: 'a' }]);
      const error = await app.setRules([{ id: 'b', sql: 'b' }, { id: 'c', sql: '!c' }]).catch((e: unknown) => e);
      expect((error as ConfigError).issues).toEqual([{ path: 'rules[1].sql', message: 'rule "c": unexpected "!"' }]);
      await expect(app.setRules([{ id: 'b', sql: 'b' }, { id: 'b', sql: 'c' }])).rejects.toThrow('rules[1].id: another rule already has the id "b"');
      expect(app.rules().map((r) => r.id)).toEqual(['a']);
    });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await tick();
}

import { afterEach, describe, expect, it } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { ConfigError, IntegrationError } from './errors';
import { createIntegration, type Integration } from './integration';
import { Logger } from './logger';
import { connectorModule, sourceModule } from './modules';
import { RuleEngine, type CompiledRule, type RuleInput, type Template } from './rule-engine';
import { Connector, type ActionContext, type Action, type ConnectionTestReport, type RecordBrowser } from './connector';
import type { ConnectorStatus } from './source';
import { InMemoryConnector, InMemorySource } from './testing';

/** Stand-in engine (as in integration-rule-changes.spec.ts): the "SQL" is `<filter>[,<filter>...]`. */
const fakeEngine: RuleEngine = {
  compileRule(sql: string): CompiledRule {
    return { topics: sql.split(','), evaluate: (input: RuleInput) => [{ topic: input['topic'], payload: String(input['payload']) }] };
  },
  compileTemplate(text: string): Template {
    return { source: text, isConstant: !text.includes('${'), render: (output) => text.replace(/\$\{(\w+)\}/g, (_, name: string) => String(output[name] ?? '')) };
  },
};
const fakeEngineModule = new ContainerModule((options) => {
  options.bind<RuleEngine>(RuleEngine).toConstantValue(fakeEngine);
});

/**
 * An InMemoryConnector that writes what happens to it into a shared journal (`<name> start`, `<name> close
 * <action>`, `<name> stop`), refuses `template: '!'`, and can be told to refuse every action or fail to start.
 * `name` tells apart two connectors with the same id (the old one and its replacement).
 */
class JournalConnector extends InMemoryConnector {
  /** Which action settings createAction refuses (ConfigError on `template`). */
  refuses: (settings: Readonly<Record<string, unknown>>) => boolean = (settings) => settings['template'] === '!';
  startError: Error | undefined;
  starts = 0;
  /** When set, closing an action waits for it (a connector flushing its buffer). */
  closing: Promise<void> | undefined;
  constructor(id: string, readonly name: string, private readonly journal: string[]) {
    super(id);
  }
  override createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    if (this.refuses(settings)) throw new ConfigError('memory', [{ path: 'template', message: `${this.name} refuses it` }]);
    const action = super.createAction(settings, context);
    return {
      ...action,
      close: async () => {
        await this.closing;
        this.journal.push(`${this.name} close ${context.id}`);
      },
    };
  }
  override async start(): Promise<void> {
    this.starts++;
    this.journal.push(`${this.name} start`);
    if (this.startError !== undefined) throw this.startError;
    await super.start();
  }
  override async stop(): Promise<void> {
    this.journal.push(`${this.name} stop`);
    await super.stop();
  }
  status(): ConnectorStatus {
    return { state: this.started ? 'connected' : 'stopped' };
  }
}

/** An InMemorySource that journals its life, follows filter changes, and can fail to start. */
class JournalSource extends InMemorySource {
  startError: Error | undefined;
  /** Answer to replacesInPlace (a listener on the same port). */
  inPlace = false;
  constructor(id: string, readonly name: string, private readonly journal: string[]) {
    super(id);
  }
  override async start(...args: Parameters<InMemorySource['start']>): Promise<void> {
    this.journal.push(`${this.name} start ${args[1].join(',')}`);
    if (this.startError !== undefined) throw this.startError;
    this.paused = false; // may start again after stop (replacesInPlace)
    await super.start(...args);
  }
  replacesInPlace(): boolean {
    return this.inPlace;
  }
  async updateFilters(filters: readonly string[]): Promise<void> {
    this.filters = filters;
  }
  override pause(): void {
    this.journal.push(`${this.name} pause`);
    super.pause();
  }
  override async stop(): Promise<void> {
    this.journal.push(`${this.name} stop`);
    await super.stop();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits for `condition`, turn after turn of the event loop; fails rather than spinning past the test. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 10_000) throw new Error('condition not met');
    await tick();
  }
}

describe('run-time connector and source changes', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  type Rules = Parameters<typeof createIntegration>[0]['rules'];

  /** One source `plant`, one connector `store` (journal name `old`), the given rules; started unless told. */
  async function compose(rules: Rules, { start = true, stopTimeoutMs = 1000 } = {}) {
    const journal: string[] = [];
    const source = new JournalSource('plant', 'plant', journal);
    const store = new JournalConnector('store', 'old', journal);
    const logs: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: (message, fields) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`),
      warn: (message, fields) => logs.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
      error: (message, fields) => logs.push(`ERROR ${message} ${JSON.stringify(fields ?? {})}`),
      child: () => logger,
    };
    app = await createIntegration({ modules: [sourceModule(source), connectorModule(store), fakeEngineModule], rules, logger, stopTimeoutMs });
    if (start) await app.start();
    journal.length = 0;
    return { app, source, store, journal, logs, logger };
  }

  describe('.upsertConnector', () => {
    it('adds and starts a connector while running; a rule can then send through it', async () => {
      const { app, source, journal, logs } = await compose([]);
      const sink = new JournalConnector('sink', 'sink', journal);
      await expect(app.upsertConnector(connectorModule(sink))).resolves.toEqual({ id: 'sink', added: true, replaced: false, rulesRebuilt: [] });
      expect(journal).toEqual(['sink start']);
      expect(app.connectorIds()).toEqual(['store', 'sink']);
      expect(app.status()['sink']).toEqual({ state: 'connected' });
      expect(logs).toContain('connector added {"connector":"sink","rulesRebuilt":[]}');

      await app.upsertRule({ id: 'r', sql: 't', actions: [{ connector: 'sink', template: 'got ${payload}' }] });
      await source.push('t', 'x').settled;
      expect(sink.records.map((r) => r.rendered)).toEqual(['got x']);
    });

    it('adds a connector before start() without starting it; start() starts it', async () => {
      const { app, journal } = await compose([], { start: false });
      const sink = new JournalConnector('sink', 'sink', journal);
      await app.upsertConnector(connectorModule(sink));
      expect(app.connectorIds()).toEqual(['store', 'sink']);
      expect(journal).toEqual([]);
      await app.start();
      expect(journal).toEqual(['old start', 'sink start', 'plant start ']);
    });

    it('starts a connector exactly once when start() is called while it is being added, or before its change begins', async () => {
      const { app, journal } = await compose([], { start: false });
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const slow = new JournalConnector('slow', 'slow', journal);
      const slowModule = new ContainerModule(async (options) => {
        await gate; // the change is in progress (loading its module) when start() is called
        options.bind<Connector>(Connector).toConstantValue(slow);
      });
      const addingSlow = app.upsertConnector(slowModule);
      await tick();
      const queued = new JournalConnector('queued', 'queued', journal);
      const addingQueued = app.upsertConnector(connectorModule(queued)); // waits behind the slow one
      const starting = app.start();
      openGate();
      await Promise.all([starting, addingSlow, addingQueued]);
      expect([slow.starts, queued.starts]).toEqual([1, 1]);
      // start() waited for the change in progress and started `slow` itself; `queued` waited for start()
      expect(journal).toEqual(['old start', 'slow start', 'plant start ', 'queued start']);
      expect(app.connectorIds()).toEqual(['store', 'slow', 'queued']);
    });

    it('replaces a connector while messages are in flight: they finish on the old actions, new ones go to the new connector, then the old one stops', async () => {
      const { app, source, store, journal, logs } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store', template: 'r ${payload}' }] }]);
      store.behaviour = () => 'hold';
      const before = [source.push('t', '1'), source.push('t', '2')];
      await tick();
      expect(store.heldCount).toBe(2);

      const next = new JournalConnector('store', 'new', journal);
      const report = await app.upsertConnector(connectorModule(next));
      expect(report).toEqual({ id: 'store', added: false, replaced: true, rulesRebuilt: ['r'] });
      expect(logs).toContain('connector replaced {"connector":"store","rulesRebuilt":["r"]}');
      const after = source.push('t', '3');
      await after.settled;
      expect(next.records.map((r) => r.rendered)).toEqual(['r 3']);
      expect(journal).toEqual(['new start']); // the old connector's actions still have sends in flight
      expect(app.status()['store']).toEqual({ state: 'connected' });

      store.release();
      await Promise.all(before.map((p) => p.settled));
      await waitFor(() => journal.includes('old stop'));
      expect(journal).toEqual(['new start', 'old close r:store', 'old stop']);
      expect(store.records.map((r) => r.rendered)).toEqual(['r 1', 'r 2']);
      expect(next.records).toHaveLength(1);
      // counters carry on across the replacement (same rule, same action id)
      expect(app.metrics.action('r:store')).toMatchObject({ matched: 3, success: 3, failed: 0, inflight: 0 });
      expect(app.metrics.source('plant')).toMatchObject({ received: 3, acknowledged: 3, leftToBroker: 0, pending: 0 });
    });

    it('rebuilds every rule with an action or a fallback action through the connector, keeping the others and the enabled state', async () => {
      const journal: string[] = [];
      const { app } = await compose([]);
      await app.upsertConnector(connectorModule(new JournalConnector('other', 'other', journal)));
      await app.setRules([
        { id: 'direct', sql: 'd', actions: [{ connector: 'store' }] },
        { id: 'fallback', sql: 'f', actions: [{ connector: 'other', fallbackActions: [{ connector: 'store' }] }] },
        { id: 'elsewhere', sql: 'e', actions: [{ connector: 'other' }] },
      ]);
      app.setRuleEnabled('direct', false);
      const report = await app.upsertConnector(connectorModule(new JournalConnector('store', 'new', journal)));
      expect(report.rulesRebuilt).toEqual(['direct', 'fallback']);
      await waitFor(() => journal.includes('other close fallback:other'));
      // the rebuilt rule's action through the other connector is recreated and the old one closed; `elsewhere` is left alone
      expect(journal.filter((line) => line.includes('close'))).toEqual(['other close fallback:other']);
      expect(app.rules().map((r) => [r.id, r.enabled])).toEqual([['direct', false], ['fallback', true], ['elsewhere', true]]);
    });

    it('refuses a replacement whose createAction refuses a rule\'s action: the new connector is stopped and nothing changes', async () => {
      const { app, source, store, journal } = await compose([
        { id: 'a', sql: 'a' },
        { id: 'accepted', sql: 'ok', actions: [{ connector: 'store', template: 'fine' }] },
        { id: 'r', sql: 't', actions: [{ connector: 'store', template: 'old ${payload}' }] },
      ]);
      const next = new JournalConnector('store', 'new', journal);
      next.refuses = (settings) => settings['template'] === 'old ${payload}';
      const error = await app.upsertConnector(connectorModule(next)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([{ path: 'rules[2].actions[0].template', message: 'new refuses it' }]);
      await waitFor(() => journal.length === 3);
      // the action already built for `accepted` is closed again; the new connector is stopped
      expect([...journal].sort()).toEqual(['new close accepted:store', 'new start', 'new stop']);
      expect(app.connectorIds()).toEqual(['store']);
      await source.push('t', 'x').settled;
      await source.push('ok', 'y').settled;
      expect(store.records.map((r) => r.rendered)).toEqual(['old x', 'fine']);
      expect(next.records).toEqual([]);
    });

    it('installs the rules given with it in the same swap, built against the new connector, when its new settings need new action settings', async () => {
      const { app, source, store, journal, logs } = await compose([
        { id: 'r', sql: 't', actions: [{ connector: 'store', template: 'acks one ${payload}' }] },
        { id: 'gone', sql: 'g' },
      ]);
      // like a Kafka producer made idempotent, which refuses actions without requiredAcks: all
      const strict = (): JournalConnector => {
        const next = new JournalConnector('store', 'new', journal);
        next.refuses = (settings) => !String(settings['template']).startsWith('acks all');
        return next;
      };
      // alone, the installed rule's action is refused
      await expect(app.upsertConnector(connectorModule(strict()))).rejects.toThrow(ConfigError);
      const next = strict();
      const rules = [
        { id: 'r', sql: 't', actions: [{ connector: 'store', template: 'acks all ${payload}' }] },
        { id: 'added', sql: 'a', actions: [{ connector: 'store', template: 'acks all added' }] },
      ];
      await expect(app.upsertConnector(connectorModule(next), { rules })).resolves.toEqual({
        id: 'store', added: false, replaced: true, rulesRebuilt: ['r', 'added'],
        rules: { added: ['added'], replaced: ['r'], removed: ['gone'], restartNeeded: [] },
      });
      expect(app.rules().map((rule) => rule.id)).toEqual(['r', 'added']);
      expect(app.ruleDefinition('r')?.actions[0]).toMatchObject({ template: 'acks all ${payload}' });
      expect(source.filters).toEqual(['a', 't']);
      await source.push('t', 'x').settled;
      expect(next.records.map((r) => r.rendered)).toEqual(['acks all x']);
      expect(store.records).toEqual([]);
      await waitFor(() => journal.includes('old stop'));
      expect(logs).toContain('rule removed {"rule":"gone"}');
    });

    it('refuses the whole step when a rule given with the connector is refused: paths by position in the given list, nothing changes', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store', template: 'old ${payload}' }] }]);
      const next = new JournalConnector('store', 'new', journal);
      const error = await app.upsertConnector(connectorModule(next), {
        rules: [{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }, { id: 'bad', sql: 'b', actions: [{ connector: 'store', template: '!' }] }],
      }).catch((e: unknown) => e);
      expect((error as ConfigError).issues).toEqual([{ path: 'rules[1].actions[0].template', message: 'new refuses it' }]);
      await waitFor(() => journal.includes('new stop'));
      expect(app.rules().map((rule) => rule.id)).toEqual(['r']);
      await source.push('t', 'x').settled;
      expect(store.records.map((r) => r.rendered)).toEqual(['old x']);
    });

    it('replaces several connectors and the rules through them in one step (upsertConnectors)', async () => {
      const { app, source, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store', template: 'v1' }] }]);
      const side = new JournalConnector('side', 'side', journal);
      await app.upsertConnector(connectorModule(side), { rules: [{ id: 'r', sql: 't', actions: [{ connector: 'store', template: 'v1' }, { connector: 'side', template: 'v1' }] }] });
      const store2 = new JournalConnector('store', 'store2', journal);
      const side2 = new JournalConnector('side', 'side2', journal);
      for (const c of [store2, side2]) c.refuses = (settings) => settings['template'] !== 'v2';
      const report = await app.upsertConnectors([connectorModule(store2), connectorModule(side2)], {
        rules: [{ id: 'r', sql: 't', actions: [{ connector: 'store', template: 'v2' }, { connector: 'side', template: 'v2' }] }],
      });
      expect(report.connectors.map((c) => [c.id, c.replaced, c.rulesRebuilt])).toEqual([['store', true, ['r']], ['side', true, ['r']]]);
      await source.push('t', 'x').settled;
      expect([...store2.records, ...side2.records].map((r) => r.rendered)).toEqual(['v2', 'v2']);
    });

    it('leaves everything as it was when the new connector cannot start, and says why', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      const next = new JournalConnector('store', 'new', journal);
      next.startError = new Error('SASL authentication failed');
      await expect(app.upsertConnector(connectorModule(next))).rejects.toThrow('SASL authentication failed');
      const fresh = new JournalConnector('fresh', 'fresh', journal);
      fresh.startError = new Error('no route to host');
      await expect(app.upsertConnector(connectorModule(fresh))).rejects.toThrow('no route to host');
      expect(journal).toEqual(['new start', 'new stop', 'fresh start', 'fresh stop']);
      expect(app.connectorIds()).toEqual(['store']);
      await source.push('t', 'x').settled;
      expect(store.records).toHaveLength(1);
      // a rule cannot name the connector that failed to start
      await expect(app.upsertRule({ id: 'n', sql: 'n', actions: [{ connector: 'fresh' }] })).rejects.toThrow('no connector has the id "fresh"');
    });

    it('loads the module into a child container that sees the Logger, and refuses a module without exactly one connector', async () => {
      const { app, logger } = await compose([]);
      let seen: Logger | undefined;
      const viaContainer = new ContainerModule((options) => {
        options.bind<Connector>(Connector).toDynamicValue((ctx) => {
          seen = ctx.get<Logger>(Logger);
          return new InMemoryConnector('bound');
        }).inSingletonScope();
      });
      await expect(app.upsertConnector(viaContainer)).resolves.toMatchObject({ id: 'bound', added: true });
      expect(seen).toBe(logger);

      const none = app.upsertConnector(new ContainerModule(() => undefined)).catch((e: unknown) => e);
      await expect(none).resolves.toBeInstanceOf(ConfigError);
      await expect(none).resolves.toMatchObject({ issues: [{ path: '', message: 'the module must bind exactly one connector; it binds none' }] });
      const two = new ContainerModule((options) => {
        options.bind<Connector>(Connector).toConstantValue(new InMemoryConnector('x'));
        options.bind<Connector>(Connector).toConstantValue(new InMemoryConnector('y'));
      });
      await expect(app.upsertConnector(two)).rejects.toThrow('the module must bind exactly one connector; it binds 2 (x, y)');
      expect(app.connectorIds()).toEqual(['store', 'bound']);
    });

    it('leaves an installed connector or source alone when the module binds the very same object', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      await expect(app.upsertConnector(connectorModule(store))).resolves.toEqual({ id: 'store', added: false, replaced: false, rulesRebuilt: [] });
      await expect(app.upsertSource(sourceModule(source))).resolves.toEqual({ id: 'plant', added: false, replaced: false, rulesRebuilt: [] });
      await source.push('t', 'x').settled;
      expect(store.records).toHaveLength(1);
      expect(journal).toEqual([]);
    });

    it('is refused once the integration is stopped', async () => {
      const { app } = await compose([]);
      await app.stop();
      const error = await app.upsertConnector(connectorModule(new InMemoryConnector('late'))).catch((e: unknown) => e);
      expect(IntegrationError.is(error) && error.code).toBe('ERR_STOPPED');
      const removal = await app.removeSource('plant').catch((e: unknown) => e);
      expect(IntegrationError.is(removal) && removal.code).toBe('ERR_STOPPED');
    });
  });

  describe('.removeConnector', () => {
    it('is refused while an action or a fallback action uses the connector, and allowed once the rules are gone', async () => {
      const { app, store, journal, logs } = await compose([]);
      await app.upsertConnector(connectorModule(new InMemoryConnector('other')));
      await app.setRules([
        { id: 'direct', sql: 'd', actions: [{ connector: 'store' }] },
        { id: 'fallback', sql: 'f', actions: [{ connector: 'other', id: 'guarded', fallbackActions: [{ connector: 'store' }] }] },
      ]);
      const error = await app.removeConnector('store').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([{
        path: '',
        message: 'connector "store" is used by action direct:store (rule "direct"), guarded (rule "fallback"): change or remove those rules first',
      }]);
      expect(app.connectorIds()).toEqual(['store', 'other']);

      await app.removeRule('direct');
      await app.removeRule('fallback');
      await expect(app.removeConnector('store')).resolves.toBe(true);
      await waitFor(() => journal.includes('old stop'));
      expect(store.started).toBe(false);
      expect(app.connectorIds()).toEqual(['other']);
      expect(app.status()['store']).toBeUndefined();
      expect(logs).toContain('connector removed {"connector":"store"}');
      await expect(app.removeConnector('store')).resolves.toBe(false);
    });

    it('stops the connector only after the actions of a just-removed rule have closed', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      store.behaviour = () => 'hold';
      let flushed!: () => void;
      store.closing = new Promise<void>((resolve) => (flushed = resolve));
      const inflight = source.push('t', 'x');
      await app.removeRule('r');
      await app.removeConnector('store');
      await tick();
      expect(journal).toEqual([]);
      store.release();
      await expect(inflight.settled).resolves.toBeUndefined();
      for (let i = 0; i < 5; i++) await tick();
      expect(journal).toEqual([]); // the removed rule's action is still flushing: the connector stays up
      flushed();
      await waitFor(() => journal.includes('old stop'));
      expect(journal).toEqual(['old close r:store', 'old stop']);
    });
  });

  describe('.upsertSource / .removeSource', () => {
    it('adds a source while running, subscribed to the filters of the rules that read from it', async () => {
      const { app, store, journal, logs } = await compose([
        { id: 'all', sql: 'a/#', actions: [{ connector: 'store' }] },
        { id: 'plant-only', sql: 'p', sources: ['plant'], actions: [{ connector: 'store' }] },
      ]);
      const second = new JournalSource('second', 'second', journal);
      await expect(app.upsertSource(sourceModule(second))).resolves.toEqual({ id: 'second', added: true, replaced: false, rulesRebuilt: [] });
      expect(journal).toEqual(['second start a/#']);
      expect(logs).toContain('source added {"source":"second"}');
      expect(app.sourceIds()).toEqual(['plant', 'second']);
      await second.push('a/1', 'x').settled;
      expect(store.records.map((r) => r.message.sourceId)).toEqual(['second']);
      expect(app.metrics.snapshot().sources).toEqual({
        plant: expect.objectContaining({ received: 0 }),
        second: expect.objectContaining({ received: 1, acknowledged: 1 }),
      });
      // a rule may now name it
      await app.upsertRule({ id: 'second-only', sql: 's', sources: ['second'] });
      expect(second.filters).toEqual(['a/#', 's']);
    });

    it('replaces a source: the new one starts first, the old one is paused and stopped once its messages settled; counters carry on', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      store.behaviour = () => 'hold';
      const inflight = source.push('t', 'old');
      await tick();
      const next = new JournalSource('plant', 'next', journal);
      await expect(app.upsertSource(sourceModule(next))).resolves.toEqual({ id: 'plant', added: false, replaced: true, rulesRebuilt: [] });
      expect(journal).toEqual(['next start t', 'plant pause']);
      store.behaviour = () => 'store';
      await next.push('t', 'new').settled;
      await tick();
      expect(journal).toEqual(['next start t', 'plant pause']); // the old one still has a message in flight

      store.release();
      await expect(inflight.settled).resolves.toBeUndefined();
      await waitFor(() => journal.includes('plant stop'));
      expect(store.records.map((r) => r.message.payload.toString())).toEqual(['new', 'old']);
      expect(app.sourceIds()).toEqual(['plant']);
      expect(app.metrics.source('plant')).toMatchObject({ received: 2, acknowledged: 2, pending: 0 });
      // the new source follows rule changes
      await app.upsertRule({ id: 'n', sql: 'n' });
      expect(next.filters).toEqual(['n', 't']);
    });

    it('stops a replaced source after stopTimeoutMs when its messages do not settle, leaving them to the broker', async () => {
      const { app, source, store, journal, logs } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }], { stopTimeoutMs: 20 });
      store.behaviour = () => 'hold';
      source.push('t', 'stuck');
      await app.upsertSource(sourceModule(new JournalSource('plant', 'next', journal)));
      await waitFor(() => journal.includes('plant stop'));
      expect(logs).toContain('WARN a replaced source stops with messages in flight; they stay unacknowledged for the broker to redeliver {"source":"plant"}');
      store.release();
    });

    it('leaves everything as it was when the new source cannot start', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      const next = new JournalSource('plant', 'next', journal);
      next.startError = new Error('connection refused');
      await expect(app.upsertSource(sourceModule(next))).rejects.toThrow('connection refused');
      const fresh = new JournalSource('fresh', 'fresh', journal);
      fresh.startError = new Error('not authorized');
      await expect(app.upsertSource(sourceModule(fresh))).rejects.toThrow('not authorized');
      expect(journal).toEqual(['next start t', 'next stop', 'fresh start t', 'fresh stop']);
      expect(app.sourceIds()).toEqual(['plant']);
      expect(Object.keys(app.metrics.snapshot().sources)).toEqual(['plant']);
      expect(app.metrics.source('fresh')).toBeUndefined();
      await source.push('t', 'still here').settled;
      expect(store.records).toHaveLength(1);
    });

    it('replaces in place a source that cannot run beside the old one: old paused, drained, stopped, then the new one starts', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      store.behaviour = () => 'hold';
      const inflight = source.push('t', 'old');
      await tick();
      const next = new JournalSource('plant', 'next', journal);
      next.inPlace = true;
      const replacing = app.upsertSource(sourceModule(next));
      await waitFor(() => journal.includes('plant pause'));
      await tick();
      expect(journal).toEqual(['plant pause']); // the old one still has a message in flight: the new one waits
      store.behaviour = () => 'store';
      store.release();
      await expect(inflight.settled).resolves.toBeUndefined();
      await expect(replacing).resolves.toEqual({ id: 'plant', added: false, replaced: true, rulesRebuilt: [] });
      expect(journal).toEqual(['plant pause', 'plant stop', 'next start t']);
      await next.push('t', 'new').settled;
      expect(store.records.map((r) => r.message.payload.toString())).toEqual(['old', 'new']);
      expect(app.sourceIds()).toEqual(['plant']);
      expect(app.metrics.source('plant')).toMatchObject({ received: 2, acknowledged: 2, pending: 0 });
      await app.upsertRule({ id: 'n', sql: 'n' });
      expect(next.filters).toEqual(['n', 't']);
      await app.stop();
      expect(journal.filter((line) => line === 'plant stop')).toHaveLength(1);
    });

    it('starts the old source again when its in-place replacement cannot start, and says why', async () => {
      const { app, source, store, journal, logs } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }]);
      const next = new JournalSource('plant', 'next', journal);
      next.inPlace = true;
      next.startError = new Error('cannot listen on 127.0.0.1:18839: the port is in use');
      await expect(app.upsertSource(sourceModule(next))).rejects.toThrow('the port is in use');
      expect(journal).toEqual(['plant pause', 'plant stop', 'next start t', 'next stop', 'plant start t']);
      expect(logs).toContain('WARN the replacement source could not start; the previous one runs again {"source":"plant"}');
      expect(app.sourceIds()).toEqual(['plant']);
      await source.push('t', 'still here').settled;
      expect(store.records).toHaveLength(1);
      // and a later change still finds it running: its filters follow the rules
      await app.upsertRule({ id: 'n', sql: 'n' });
      expect(source.filters).toEqual(['n', 't']);
    });

    it('refuses to remove a source a rule names in `sources`; removes it once the rule no longer does', async () => {
      const { app, source, journal, logs } = await compose([{ id: 'r', sql: 't', sources: ['plant'] }]);
      const error = await app.removeSource('plant').catch((e: unknown) => e);
      expect((error as ConfigError).issues).toEqual([{ path: '', message: 'source "plant" is named in the sources of rule "r": change or remove those rules first' }]);
      await app.upsertRule({ id: 'r', sql: 't' });
      await expect(app.removeSource('plant')).resolves.toBe(true);
      await waitFor(() => journal.includes('plant stop'));
      expect(journal).toEqual(['plant pause', 'plant stop']);
      expect(source.started).toBe(false);
      expect(app.sourceIds()).toEqual([]);
      expect(app.metrics.snapshot().sources).toEqual({});
      expect(app.metrics.source('plant')).toBeUndefined();
      expect(logs).toContain('source removed {"source":"plant"}');
      await expect(app.removeSource('plant')).resolves.toBe(false);
      // and a rule can no longer name it
      await expect(app.upsertRule({ id: 'x', sql: 'x', sources: ['plant'] })).rejects.toThrow('no source has the id "plant"');
    });
  });

  describe('.browser / .testConnection', () => {
    it('passes the connector\'s own RecordBrowser and connection test through', async () => {
      const { app } = await compose([]);
      const browser: RecordBrowser = { topics: async () => ['emqx'], latest: async () => [], follow: async () => undefined };
      const report: ConnectionTestReport = { connectorId: 'kafka', ok: true, stages: [{ stage: 'tcp', ok: true, detail: 'connected' }] };
      const kafka = Object.assign(new InMemoryConnector('kafka'), { browser: () => browser, test: async () => report });
      await app.upsertConnector(connectorModule(kafka));
      expect(app.browser('kafka')).toBe(browser);
      expect(app.browser('store')).toBeUndefined(); // has none
      expect(app.browser('nope')).toBeUndefined();
      await expect(app.testConnection('kafka')).resolves.toBe(report);
      await expect(app.testConnection('store')).resolves.toBeUndefined();
      await expect(app.testConnection('nope')).resolves.toBeUndefined();
      await expect(app.testConnections()).resolves.toEqual([report]);
    });
  });

  describe('.stop', () => {
    it('stops a replaced connector that was still draining, once', async () => {
      const { app, source, store, journal } = await compose([{ id: 'r', sql: 't', actions: [{ connector: 'store' }] }], { stopTimeoutMs: 10 });
      store.behaviour = () => 'hold';
      const stuck = source.push('t', 'stuck');
      const next = new JournalConnector('store', 'new', journal);
      await app.upsertConnector(connectorModule(next));
      await app.stop();
      const stops = (): string[] => journal.filter((line) => line.endsWith(' stop'));
      expect(stops()).toEqual(['plant stop', 'old stop', 'new stop']);
      expect(journal.filter((line) => line.includes(' close '))).toEqual(['new close r:store', 'old close r:store']); // installed actions first, then retired ones
      // the stuck message settles late: its retirement finds everything closed and stopped already
      store.release();
      await stuck.settled;
      for (let i = 0; i < 5; i++) await tick();
      expect(stops()).toEqual(['plant stop', 'old stop', 'new stop']);
      expect(journal.filter((line) => line.includes(' close '))).toHaveLength(2);
    });
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { ContainerModule } from 'inversify';
import { ConfigError } from './errors';
import { EVENT_KINDS, canonicalEventTopic, eventTopicOf, eventTopicsMatching, isEventTopic } from './events';
import { createIntegration, type Integration } from './integration';
import type { Message } from './message';
import { connectorModule, sourceModule } from './modules';
import { RuleEngine, type CompiledRule, type RuleInput, type Template } from './rule-engine';
import type { Settle } from './source';
import { InMemoryConnector, InMemorySource } from './testing';

describe('event topics', () => {
  it('knows every event topic of RULE-SQL.md §5.1, current and legacy names', () => {
    expect(EVENT_KINDS.map((k) => k.topic)).toContain('$events/client/connected');
    expect(canonicalEventTopic('$events/client_connected')).toBe('$events/client/connected');
    expect(canonicalEventTopic('$events/client_check_authn_complete')).toBe('$events/auth/check_authn_complete');
    expect(canonicalEventTopic('$events/delivery_dropped')).toBe('$events/message/delivery_dropped');
    expect(canonicalEventTopic('$events/client/connected')).toBe('$events/client/connected');
    expect(canonicalEventTopic('t/#')).toBe('t/#');
  });

  it('maps an event name to its current topic, and nothing for message.publish', () => {
    expect(eventTopicOf('session.subscribed')).toBe('$events/session/subscribed');
    expect(eventTopicOf('delivery.dropped')).toBe('$events/message/delivery_dropped');
    expect(eventTopicOf('message.publish')).toBeUndefined();
    expect(eventTopicOf('toString')).toBeUndefined();
  });

  it('matches wildcards in event filters, and never a plain topic filter', () => {
    expect(eventTopicsMatching('$events/session/+')).toEqual(['$events/session/subscribed', '$events/session/unsubscribed']);
    expect(eventTopicsMatching('$events/session_subscribed')).toEqual(['$events/session/subscribed']);
    expect(eventTopicsMatching('$events/nothing')).toEqual([]);
    expect(eventTopicsMatching('#')).toEqual([]);
    expect(eventTopicsMatching('$events/#', ['$events/client/connected'])).toEqual(['$events/client/connected']);
    expect(isEventTopic('$events/client/connected')).toBe(true);
    expect(isEventTopic('t/$events/x')).toBe(false);
  });
});

/** A source that reports events, as an embedded broker would. */
class EventSource extends InMemorySource {
  readonly eventTopics = ['$events/client/connected', '$events/session/subscribed', '$events/session/unsubscribed'];
  columnsBuilt = 0;
  private target: { receive(message: Message, settle: Settle): void } | undefined;

  override async start(receiver: { receive(message: Message, settle: Settle): void }, filters: readonly string[]): Promise<void> {
    this.target = receiver;
    await super.start(receiver, filters);
  }

  pushEvent(topic: string, columns: Record<string, unknown>): Promise<Error | undefined> {
    return new Promise((resolve) => {
      const message: Message = {
        sourceId: this.id, topic, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, clientId: columns['clientid'] as string,
        username: undefined, peerHost: undefined, receivedAt: 1, properties: undefined,
        eventColumns: (node) => {
          this.columnsBuilt++;
          return { ...columns, node };
        },
      };
      this.target?.receive(message, resolve);
    });
  }
}

/** Rules pass their columns through; the SQL is the FROM filter list, comma-separated. */
const passThrough: RuleEngine = {
  compileRule(sql: string): CompiledRule {
    return { topics: sql.split(','), evaluate: (input: RuleInput) => [input] };
  },
  compileTemplate(text: string): Template {
    return { source: text, isConstant: true, render: () => text };
  },
};
const engineModule = new ContainerModule((options) => {
  options.bind<RuleEngine>(RuleEngine).toConstantValue(passThrough);
});

describe('events through the runtime', () => {
  let app: Integration | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  async function compose(sources: InMemorySource[], rules: { id: string; sql: string }[]) {
    const sink = new InMemoryConnector('sink');
    app = await createIntegration({
      modules: [...sources.map((s) => sourceModule(s)), connectorModule(sink), engineModule],
      rules: rules.map((r) => ({ ...r, actions: [{ connector: 'sink' }] })),
      rateIntervalMs: 1000,
    });
    await app.start();
    return { sink, app };
  }

  it('routes an event by its event topic, legacy names and wildcards included, never by its topic column', async () => {
    const broker = new EventSource('devices');
    const { sink, app } = await compose([broker], [
      { id: 'legacy', sql: '$events/client_connected' },
      { id: 'session', sql: '$events/session/+' },
      { id: 'topics', sql: 't/#,#' },
    ]);
    expect([...broker.filters].sort()).toEqual(['#', '$events/client/connected', '$events/session/+', 't/#']);
    await broker.pushEvent('$events/client/connected', { event: 'client.connected', clientid: 'c1' });
    await broker.pushEvent('$events/session/subscribed', { event: 'session.subscribed', clientid: 'c1', topic: 't/a' });
    expect(sink.records.map((r) => [r.actionId, r.output['event'], r.output['node']])).toEqual([
      ['legacy:sink', 'client.connected', 'sluice@127.0.0.1'],
      ['session:sink', 'session.subscribed', 'sluice@127.0.0.1'],
    ]);
    expect(app.metrics.rule('topics')).toMatchObject({ matched: 0 });
    expect(app.metrics.rule('legacy')).toMatchObject({ matched: 1, passed: 1, 'actions.success': 1 });
    expect(app.metrics.source('devices')).toMatchObject({ received: 2, acknowledged: 2 });
  });

  it('builds an event\'s columns only when a rule matches it, once for all its rules', async () => {
    const broker = new EventSource('devices');
    await compose([broker], [{ id: 'a', sql: '$events/client/connected' }, { id: 'b', sql: '$events/client/+' }]);
    await broker.pushEvent('$events/session/unsubscribed', { event: 'session.unsubscribed' });
    expect(broker.columnsBuilt).toBe(0);
    await broker.pushEvent('$events/client/connected', { event: 'client.connected' });
    expect(broker.columnsBuilt).toBe(1);
  });

  it('gives event filters only to sources that report events', async () => {
    const broker = new EventSource('devices');
    const client = new InMemorySource('plant');
    await compose([broker, client], [{ id: 'e', sql: '$events/client/connected,t/#' }]);
    expect([...broker.filters].sort()).toEqual(['$events/client/connected', 't/#']);
    expect(client.filters).toEqual(['t/#']);
  });

  it('refuses a rule whose events none of its sources reports, naming the rule, the event and the fix', async () => {
    const error = await compose([new InMemorySource('plant')], [{ id: 'online', sql: '$events/client_connected' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).issues[0]?.message ?? '';
    expect((error as ConfigError).issues[0]?.path).toBe('rules[0].sql');
    expect(message).toContain('rule "online"');
    expect(message).toContain('$events/client_connected');
    expect(message).toContain('$events/client/connected');
    expect(message).toContain('mqtt-broker');
    expect(message).toContain('only receives the messages of its own subscriptions');
  });

  it('refuses an event the broker source cannot report, an unknown event, and events with no source at all', async () => {
    await expect(compose([new EventSource('devices')], [{ id: 'd', sql: '$events/message/delivery_dropped' }])).rejects.toThrow(/rule "d".*report only \$events\/client\/connected/);
    await expect(compose([new EventSource('devices')], [{ id: 'u', sql: '$events/client/exploded' }])).rejects.toThrow(/rule "u": FROM "\$events\/client\/exploded" names no event/);
    await expect(compose([], [{ id: 'n', sql: '$events/client/connected' }])).rejects.toThrow(/no source is configured/);
  });

  it('refuses removing or replacing the source that reports a rule\'s events, and allows it once the rule is gone', async () => {
    const { app } = await compose([new EventSource('devices'), new InMemorySource('plant')], [{ id: 'online', sql: '$events/client/connected' }]);
    await expect(app.removeSource('devices')).rejects.toThrow(/source "devices" reports events that rule "online" needs: change or remove that rule first/);
    await expect(app.upsertSource(sourceModule(new InMemorySource('devices')))).rejects.toThrow(/source "devices" would replace one that reports events that rule "online" needs/);
    expect(app.sourceIds()).toEqual(['devices', 'plant']);
    await expect(app.removeSource('plant')).resolves.toBe(true);
    await app.removeRule('online');
    await expect(app.removeSource('devices')).resolves.toBe(true);
  });

  it('checks a rule reading from named sources against those sources only', async () => {
    const rules = [{ id: 'r', sql: '$events/client/connected', sources: ['plant'] }];
    const sink = new InMemoryConnector('sink');
    await expect(createIntegration({
      modules: [sourceModule(new EventSource('devices')), sourceModule(new InMemorySource('plant')), connectorModule(sink), engineModule],
      rules: rules.map((r) => ({ ...r, actions: [{ connector: 'sink' }] })),
    })).rejects.toThrow(/sources \("plant"\) report no events/);
  });
});

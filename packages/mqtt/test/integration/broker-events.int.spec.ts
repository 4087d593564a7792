// Client and session events of the embedded broker (docs/mqtt.md "Events of the embedded broker"): real
// MQTT clients (mqtt.js) connect to Sluice's embedded broker, `$events/…` rules select the events, and the
// first case writes every connect, subscribe and disconnect to a real Kafka topic and reads it back.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { type Integration, ConfigError, connectorModule, createIntegration, silentLogger, sourceModule } from '@sluice/core';
import { InMemoryConnector } from '@sluice/core/testing';
import { kafkaModule } from '@sluice/kafka';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, randomName } from '@sluice/testkit';
import type { MqttClient } from 'mqtt';
import { createConnection } from 'node:net';
import { AedesSource } from '../../src/aedes-source';
import * as brokerEvents from '../../src/broker-events';
import { type AedesSourceOptions, parseAedesSourceConfig } from '../../src/aedes-source-config';
import { mqttModule } from '../../src/mqtt-module';
import { Closer, publisher } from '../source-harness';

jest.setTimeout(60_000);

const closer = new Closer();
const apps: Integration[] = [];
const kafkaTopics: string[] = [];

afterEach(async () => {
  await closer.closeAll();
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(kafkaTopics.splice(0).map((topic) => deleteTopic(topic)));
});

async function until(condition: () => boolean, what: string | (() => string) = 'condition'): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${typeof what === 'string' ? what : what()} not met within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Rule {
  readonly id: string;
  readonly sql: string;
}

/** The embedded broker with rules writing to an in-memory connector. */
async function brokerWith(rules: readonly Rule[], options: Partial<AedesSourceOptions> = {}) {
  const source = new AedesSource(parseAedesSourceConfig({ id: 'devices', port: 0, ...options }), silentLogger);
  const memory = new InMemoryConnector('memory');
  const app = await createIntegration({
    modules: [sourceModule(source), sqlModule(), connectorModule(memory)],
    rules: rules.map((rule) => ({ ...rule, actions: [{ connector: 'memory' }] })),
  });
  apps.push(app);
  await app.start();
  const url = `mqtt://127.0.0.1:${source.address!.port}`;
  const outputs = (event: string) => memory.records.map((r) => r.output).filter((o) => o['event'] === event);
  return { source, memory, app, url, port: source.address!.port, outputs };
}

const device = async (url: string, clientId: string, options: Parameters<typeof publisher>[1] = {}): Promise<MqttClient> =>
  closer.client(await publisher(url, { protocolVersion: 4, clientId, ...options }));

describe('events of the embedded broker', () => {
  it('writes every connect, subscribe and disconnect to a Kafka topic, with EMQX\'s columns and types', async () => {
    const kafkaTopic = randomName('it-events');
    await createTopic(kafkaTopic, 1);
    kafkaTopics.push(kafkaTopic);
    const source = new AedesSource(parseAedesSourceConfig({ id: 'devices', port: 0, users: [{ username: 'alice', password: 'pw' }] }), silentLogger);
    const app = await createIntegration({
      modules: [sourceModule(source), sqlModule(), kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] })],
      rules: [{
        id: 'presence',
        sql: 'SELECT * FROM "$events/client_connected", "$events/client/disconnected", "$events/session/subscribed"',
        actions: [{ connector: 'kafka', topic: kafkaTopic }],
      }],
    });
    apps.push(app);
    await app.start();
    const port = source.address!.port;
    const clientId = randomName('sensor');

    const client = await publisher(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId, username: 'alice', password: 'pw', keepalive: 30 });
    await client.subscribeAsync('plant/+/temp', { qos: 1 });
    await client.endAsync(); // sends DISCONNECT
    const records = await consumeRecords(kafkaTopic, 3);

    expect(records.map((r) => r.key)).toEqual([clientId, clientId, clientId]);
    // Each event is its own send: the Kafka action may batch them in another order (one partition, three sends).
    const byEvent = new Map(records.map((r) => JSON.parse(r.value ?? 'null') as Record<string, unknown>).map((v) => [v['event'], v]));
    const [connected, subscribed, disconnected] = ['client.connected', 'session.subscribed', 'client.disconnected'].map((event) => byEvent.get(event));
    expect(connected).toEqual({
      event: 'client.connected',
      clientid: clientId,
      username: 'alice',
      peername: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      sockname: `127.0.0.1:${port}`,
      proto_name: 'MQTT',
      proto_ver: 4,
      keepalive: 30,
      clean_start: true,
      expiry_interval: 0,
      is_bridge: false,
      mountpoint: 'undefined', // undefined, which a Kafka value of the whole output (`${.}`) prints so, as EMQX does
      conn_props: {},
      connected_at: expect.any(Number),
      client_attrs: {},
      timestamp: expect.any(Number),
      node: 'sluice@127.0.0.1',
      metadata: { rule_id: 'presence' },
    });
    expect(subscribed).toEqual({
      event: 'session.subscribed',
      clientid: clientId,
      username: 'alice',
      peerhost: '127.0.0.1',
      peername: connected!['peername'],
      sub_props: {},
      topic: 'plant/+/temp',
      qos: 1,
      client_attrs: {},
      timestamp: expect.any(Number),
      node: 'sluice@127.0.0.1',
      metadata: { rule_id: 'presence' },
    });
    expect(disconnected).toEqual({
      event: 'client.disconnected',
      reason: 'normal',
      clientid: clientId,
      username: 'alice',
      peername: connected!['peername'],
      sockname: `127.0.0.1:${port}`,
      proto_name: 'MQTT',
      proto_ver: 4,
      disconn_props: {},
      disconnected_at: expect.any(Number),
      connected_at: connected!['connected_at'],
      client_attrs: {},
      timestamp: expect.any(Number),
      node: 'sluice@127.0.0.1',
      metadata: { rule_id: 'presence' },
    });
    expect(disconnected!['disconnected_at'] as number).toBeGreaterThanOrEqual(connected!['connected_at'] as number);
    expect(app.metrics.rule('presence')).toMatchObject({ matched: 3, passed: 3, 'actions.success': 3 });
    expect(app.metrics.action('presence:kafka')).toMatchObject({ success: 3, failed: 0 });
  });

  it('reports why a connection ended: a takeover of a clean session, a socket closed without DISCONNECT', async () => {
    const { outputs, url } = await brokerWith([{ id: 'gone', sql: 'SELECT event, reason, clientid FROM "$events/client/disconnected"' }]);
    await device(url, 'twin');
    await device(url, 'twin'); // takes the id over: the first connection's clean session is discarded
    await until(() => outputs('client.disconnected').length === 1, 'takeover');
    const abrupt = await device(url, 'abrupt');
    abrupt.stream.destroy(); // no DISCONNECT packet
    await until(() => outputs('client.disconnected').length === 2, 'tcp close');
    expect(outputs('client.disconnected')).toEqual([
      { event: 'client.disconnected', reason: 'discarded', clientid: 'twin' },
      { event: 'client.disconnected', reason: 'tcp_closed', clientid: 'abrupt' },
    ]);
  });

  it('reports a keepalive timeout: a device that connects and then says nothing', async () => {
    const { outputs, port } = await brokerWith([{ id: 'gone', sql: 'SELECT event, reason, clientid, proto_ver, keepalive FROM "$events/client_disconnected"' }]);
    // CONNECT, MQTT 3.1.1, clean session, keepalive 1 s, client id "sleepy"; then no PINGREQ ever.
    const connect = Buffer.from('101200044d515454040200010006736c65657079', 'hex');
    const socket = createConnection(port, '127.0.0.1', () => socket.write(connect));
    socket.on('error', () => undefined);
    try {
      await until(() => outputs('client.disconnected').length === 1, 'keepalive timeout');
    } finally {
      socket.destroy();
    }
    expect(outputs('client.disconnected')).toEqual([{ event: 'client.disconnected', reason: 'keepalive_timeout', clientid: 'sleepy', proto_ver: 4, keepalive: undefined }]);
  });

  it('reports connack, authentication and authorization outcomes, also for a refused device', async () => {
    const { memory, url } = await brokerWith([
      { id: 'auth', sql: 'SELECT event, clientid, reason_code, is_anonymous, is_superuser FROM "$events/client_check_authn_complete", "$events/client/connack"' },
      { id: 'authz', sql: 'SELECT event, clientid, topic, action, result, authz_source FROM "$events/auth/check_authz_complete"' },
    ], { users: [{ username: 'alice', password: 'pw' }] });
    await expect(publisher(url, { protocolVersion: 4, clientId: 'intruder', username: 'alice', password: 'nope' })).rejects.toThrow(/Bad username or password/i);
    const ok = await device(url, 'ok', { username: 'alice', password: 'pw' });
    await ok.subscribeAsync('t/#', { qos: 0 });
    await ok.publishAsync('t/1', 'yes', { qos: 0 });
    await ok.publishAsync('$SYS/x', 'no', { qos: 0 }); // refused: Aedes then closes the connection
    await until(() => memory.records.length >= 7, () => `auth events (have ${JSON.stringify(memory.records.map((r) => r.output))})`);
    const auth = memory.records.filter((r) => r.actionId === 'auth:memory').map((r) => r.output);
    expect(auth).toEqual([
      { event: 'client.check_authn_complete', clientid: 'intruder', reason_code: 'bad_username_or_password', is_anonymous: false, is_superuser: false },
      { event: 'client.connack', clientid: 'intruder', reason_code: 'bad_username_or_password' },
      { event: 'client.check_authn_complete', clientid: 'ok', reason_code: 'success', is_anonymous: false, is_superuser: false },
      { event: 'client.connack', clientid: 'ok', reason_code: 'success' },
    ]);
    const authz = memory.records.filter((r) => r.actionId === 'authz:memory').map((r) => r.output);
    expect(authz).toEqual([
      { event: 'client.check_authz_complete', clientid: 'ok', topic: 't/#', action: 'subscribe', result: 'allow', authz_source: 'default' },
      { event: 'client.check_authz_complete', clientid: 'ok', topic: 't/1', action: 'publish', result: 'allow', authz_source: 'default' },
      { event: 'client.check_authz_complete', clientid: 'ok', topic: '$SYS/x', action: 'publish', result: 'deny', authz_source: 'default' },
    ]);
  });

  it('reports deliveries, acknowledgements, unsubscribes and messages nobody subscribed to, never matched by the message topic', async () => {
    const { outputs, url, app } = await brokerWith([
      { id: 'delivery', sql: 'SELECT * FROM "$events/message/+"' },
      { id: 'unsub', sql: 'SELECT * FROM "$events/session_unsubscribed"' },
      { id: 'topics', sql: 'SELECT * FROM "t/#"' },
    ]);
    const receiver = await device(url, 'receiver', { clean: false });
    await receiver.subscribeAsync('t/#', { qos: 1 });
    const sender = await device(url, 'sender', { username: 'bob' });
    const received = new Promise((resolve) => receiver.once('message', resolve));
    await sender.publishAsync('t/a', '{"v":1}', { qos: 1 });
    await received;
    await sender.publishAsync('nobody/listens', 'x', { qos: 0 });
    await receiver.unsubscribeAsync('t/#');
    await until(() => outputs('message.acked').length === 1 && outputs('message.dropped').length === 1 && outputs('session.unsubscribed').length === 1, 'message events');

    const [delivered] = outputs('message.delivered');
    expect(delivered).toEqual({
      event: 'message.delivered',
      id: expect.stringMatching(/^[0-9A-F]{32}$/),
      from_clientid: 'sender',
      from_username: 'bob',
      clientid: 'receiver',
      username: undefined,
      payload: '{"v":1}',
      peerhost: '127.0.0.1',
      peername: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      topic: 't/a',
      qos: 1,
      flags: { dup: false, retain: false },
      pub_props: {},
      publish_received_at: expect.any(Number),
      timestamp: expect.any(Number),
      node: 'sluice@127.0.0.1',
      metadata: { rule_id: 'delivery' },
    });
    expect(outputs('message.acked')[0]).toMatchObject({ from_clientid: 'sender', clientid: 'receiver', topic: 't/a', qos: 1, puback_props: {} });
    expect(outputs('message.dropped')[0]).toMatchObject({ reason: 'no_subscribers', clientid: 'sender', username: 'bob', topic: 'nobody/listens', qos: 0, payload: 'x' });
    expect(outputs('session.unsubscribed')[0]).toMatchObject({ clientid: 'receiver', topic: 't/#', qos: 1, unsub_props: {} });
    // The publish of t/a fired `topics` once; no event did, although delivered/acked carry topic t/a.
    expect(app.metrics.rule('topics')).toMatchObject({ matched: 1 });
  });

  it('bounds the events in flight: past maxEventsInFlight they are dropped (their columns never built) and counted in metrics, and devices are unaffected', async () => {
    const { memory, url, source, app } = await brokerWith([{ id: 'online', sql: 'SELECT clientid FROM "$events/client/connected"' }], { maxEventsInFlight: 1 });
    const built = jest.spyOn(brokerEvents, 'connectedColumns');
    try {
      memory.behaviour = () => 'hold';
      for (const id of ['d1', 'd2', 'd3']) await device(url, id);
      await until(() => source.droppedEvents === 2, 'two events dropped');
      expect(memory.heldCount).toBe(1);
      expect(app.metrics.source('devices')?.connector).toEqual({ 'events.dropped': 2, 'events.inflight': 1 });
      memory.behaviour = () => 'store';
      memory.release();
      await device(url, 'd4');
      await until(() => memory.records.length === 2, 'the next event passes');
      expect(memory.records.map((r) => r.output['clientid'])).toEqual(['d1', 'd4']);
      await until(() => app.metrics.source('devices')?.connector['events.inflight'] === 0, 'both events settled');
      expect(app.metrics.source('devices')?.connector).toEqual({ 'events.dropped': 2, 'events.inflight': 0 });
      expect(built).toHaveBeenCalledTimes(2);
    } finally {
      built.mockRestore();
    }
  });

  it('records nothing per connection while no rule selects events', async () => {
    const { url, app } = await brokerWith([{ id: 'plain', sql: 'SELECT * FROM "t/#"' }]);
    // what the source keeps per connection for events (ConnectionInfo) is the only value with a protoName
    const recorded = jest.spyOn(WeakMap.prototype, 'set');
    try {
      const pub = await device(url, 'quiet');
      await pub.publishAsync('t/1', '{}', { qos: 1 });
      await until(() => app.metrics.rule('plain')!.matched === 1, 'the message routed');
      const infos = recorded.mock.calls.filter(([, value]) => typeof value === 'object' && value !== null && 'protoName' in value);
      expect(infos).toEqual([]);
    } finally {
      recorded.mockRestore();
    }
  });

  it('a device publishing to an event topic makes no event', async () => {
    const { url, app } = await brokerWith([{ id: 'online', sql: 'SELECT * FROM "$events/client/connected"' }]);
    const pub = await device(url, 'spoofer');
    await until(() => app.metrics.rule('online')!.matched === 1, 'connected');
    await pub.publishAsync('$events/client/connected', '{}', { qos: 1 });
    expect(app.metrics.rule('online')).toMatchObject({ matched: 1 });
  });
});

describe('events in client mode', () => {
  it('refuses a rule selecting events from an MQTT client source, naming the rule, the event and the fix', async () => {
    const error = await createIntegration({
      modules: [mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('it-sluice') }), sqlModule(), connectorModule(new InMemoryConnector('memory'))],
      rules: [{ id: 'online', sql: 'SELECT * FROM "$events/client_connected"', actions: [{ connector: 'memory' }] }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([{
      path: 'rules[0].sql',
      message: expect.stringMatching(/^rule "online": FROM "\$events\/client_connected" selects \$events\/client\/connected, but the rule's sources \("plant"\) report no events .* read them from a source of type mqtt-broker$/),
    }]);
  });
});

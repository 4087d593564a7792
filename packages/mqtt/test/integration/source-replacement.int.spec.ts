import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { type Integration, type Logger, createIntegration, silentLogger, connectorModule } from '@sluice/core';
import { InMemoryConnector } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { mqttUrl, randomName } from '../../../../scripts/testkit';
import { mqttBrokerModule } from '../../src/mqtt-broker-module';
import { mqttModule } from '../../src/mqtt-module';
import { Closer, publisher, range } from '../source-harness';

// Sources replaced at run time (Integration.upsertSource), with the real runtime and rule engine: an embedded
// broker on a fixed port, and a client-mode source keeping its client id (see the second describe).
jest.setTimeout(30_000);

const closer = new Closer();
const apps: Integration[] = [];

afterEach(async () => {
  await closer.closeAll();
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A port free at the moment (the embedded broker must listen on a fixed one to show the clash). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('embedded broker source replaced at run time', () => {
  it('stops the old listener before the new one takes the same port; devices reconnect and their messages go on', async () => {
    const topic = randomName('it-replace');
    const port = await freePort();
    const connector = new InMemoryConnector('memory');
    const app = await createIntegration({
      modules: [mqttBrokerModule({ id: 'devices', host: '127.0.0.1', port }), sqlModule(), connectorModule(connector)],
      rules: [{ id: 'r', sql: `SELECT payload FROM "${topic}"`, actions: [{ connector: 'memory' }] }],
      logger: silentLogger,
      stopTimeoutMs: 2_000,
    });
    apps.push(app);
    await app.start();
    const device = closer.client(await publisher(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: randomName('device'), reconnectPeriod: 100 }));
    await device.publishAsync(topic, 'before', { qos: 1 });

    // the edit: same port, now with a user list (the device gets in with it)
    const edited = mqttBrokerModule({ id: 'devices', host: '127.0.0.1', port, users: [{ username: 'dev', password: 'secret-pw' }] });
    await expect(app.upsertSource(edited)).resolves.toEqual({ id: 'devices', added: false, replaced: true, rulesRebuilt: [] });
    expect(app.status()['devices']).toEqual({ state: 'connected' });

    const authed = closer.client(await publisher(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: randomName('device'), username: 'dev', password: 'secret-pw' }));
    await authed.publishAsync(topic, 'after', { qos: 1 });
    await until(() => connector.records.length === 2);
    expect(connector.records.map((r) => r.message.payload.toString())).toEqual(['before', 'after']);
  });

  it('a replacement on another port starts beside the old one; when that port is taken, the old one keeps running and the error says why', async () => {
    const topic = randomName('it-replace');
    const port = await freePort();
    const connector = new InMemoryConnector('memory');
    const app = await createIntegration({
      modules: [mqttBrokerModule({ id: 'devices', host: '127.0.0.1', port }), sqlModule(), connectorModule(connector)],
      rules: [{ id: 'r', sql: `SELECT payload FROM "${topic}"`, actions: [{ connector: 'memory' }] }],
      logger: silentLogger,
    });
    apps.push(app);
    await app.start();
    // the new settings name a port somebody else holds
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      await expect(app.upsertSource(mqttBrokerModule({ id: 'devices', host: '127.0.0.1', port: taken }))).rejects.toThrow(`cannot listen on 127.0.0.1:${taken}: the port is in use`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    expect(app.status()['devices']).toEqual({ state: 'connected' });
    const device = closer.client(await publisher(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: randomName('device') }));
    await device.publishAsync(topic, 'still here', { qos: 1 });
    await until(() => connector.records.length === 1);
  });
});

/** A logger that keeps every line (message and fields) for the test to read. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => void lines.push(`${message} ${JSON.stringify(fields ?? {})}`),
    warn: (message, fields) => void lines.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
    error: (message, fields) => void lines.push(`ERROR ${message} ${JSON.stringify(fields ?? {})}`),
    child: () => logger,
  };
  return logger;
}

describe('MQTT source (client mode) replaced at run time, keeping its client id', () => {
  it('the old client drains and leaves before the new one takes the session: no connect/disconnect cycling, nothing lost', async () => {
    const topic = randomName('it-replace');
    const clientId = randomName('it-sluice');
    // qos 1 and a fixed client id: a persistent session, the case where two clients fight over one id
    const settings = { id: 'plant', url: mqttUrl(), clientId, qos: 1 as const, reconnectPeriod: 100, session: { sessionExpiry: 60 } };
    const connector = new InMemoryConnector('memory');
    connector.behaviour = () => 'hold'; // a slow action: the old source has messages in flight when it is replaced
    const lines: string[] = [];
    const app = await createIntegration({
      modules: [mqttModule(settings), sqlModule(), connectorModule(connector)],
      rules: [{ id: 'r', sql: `SELECT payload FROM "${topic}"`, actions: [{ connector: 'memory' }] }],
      logger: recordingLogger(lines),
      stopTimeoutMs: 10_000,
    });
    apps.push(app);
    await app.start();
    const pub = closer.client(await publisher(mqttUrl()));
    for (const n of range(20)) await pub.publishAsync(topic, `before-${n}`, { qos: 1 });
    await until(() => connector.heldCount > 0);

    lines.length = 0;
    const replacing = app.upsertSource(mqttModule({ ...settings, keepalive: 30 }));
    // the action stays slow for a while: ten reconnect periods in which a paused old client could take the session back
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    connector.behaviour = () => 'store';
    connector.release();
    await expect(replacing).resolves.toEqual({ id: 'plant', added: false, replaced: true, rulesRebuilt: [] });
    for (const n of range(20)) await pub.publishAsync(topic, `after-${n}`, { qos: 1 });

    const expected = [...range(20).map((n) => `before-${n}`), ...range(20).map((n) => `after-${n}`)].sort();
    await until(() => new Set(connector.records.map((r) => r.message.payload.toString())).size === expected.length);
    // ten more reconnect periods with the new client alone on the session
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(app.status()['plant']).toEqual({ state: 'connected' });
    expect(lines.filter((line) => /connection lost|reconnected/.test(line))).toEqual([]);
    expect(connector.records.map((r) => r.message.payload.toString()).sort()).toEqual(expected);
  });
});

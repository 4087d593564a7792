import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { silentLogger } from '@sluice/core';
import type { MqttClient } from 'mqtt';
import { randomName } from '../../../../scripts/testkit';
import { AedesSource } from '../../src/aedes-source';
import { type AedesSourceOptions, parseAedesSourceConfig } from '../../src/aedes-source-config';
import { Closer, Collector, publisher, range } from '../source-harness';

jest.setTimeout(30_000);

const closer = new Closer();
let topic: string;

beforeEach(() => {
  topic = randomName('it-aedes');
});

afterEach(async () => {
  await closer.closeAll();
});

async function startBroker(options: Partial<AedesSourceOptions> = {}, filters = [`${topic}/#`]) {
  const source = closer.source(new AedesSource(parseAedesSourceConfig({ id: 'edge', port: 0, ...options }), silentLogger));
  const collector = new Collector();
  await source.start(collector.receiver, filters, new AbortController().signal);
  const address = source.address!;
  return { source, collector, url: `mqtt://${address.host}:${address.port}` };
}

const device = async (url: string, options: Parameters<typeof publisher>[1] = {}): Promise<MqttClient> =>
  closer.client(await publisher(url, { protocolVersion: 4, ...options }));

/** True when the promise has settled by the time a short pause is over. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return done;
}

describe('AedesSource (embedded broker)', () => {
  it('listens on a free port when asked for port 0 and tells where', async () => {
    const { source } = await startBroker();
    expect(source.address).toEqual({ host: '127.0.0.1', port: expect.any(Number) });
    expect(source.address!.port).toBeGreaterThan(0);
    expect(source.status()).toEqual({ state: 'connected' });
  });

  it("gives each message the device's real client id, username and address", async () => {
    const { collector, url } = await startBroker({ users: [{ username: 'plant', password: 's3cret' }] });
    const clientId = randomName('device');
    const pub = await device(url, { clientId, username: 'plant', password: 's3cret' });
    const sent = pub.publishAsync(`${topic}/temp_hum`, '{"temp":27.5}', { qos: 1 });
    const [delivery] = await collector.waitFor(1);
    delivery!.settle();
    await sent;
    expect(delivery!.message).toMatchObject({
      sourceId: 'edge',
      topic: `${topic}/temp_hum`,
      qos: 1,
      dup: false,
      retain: false,
      clientId,
      username: 'plant',
      peerHost: '127.0.0.1',
      properties: undefined,
    });
    expect(delivery!.message.payload.toString()).toBe('{"temp":27.5}');
  });

  it('refuses a device with a wrong password', async () => {
    const { url } = await startBroker({ users: [{ username: 'plant', password: 's3cret' }] });
    await expect(publisher(url, { protocolVersion: 4, username: 'plant', password: 'wrong' })).rejects.toThrow(/Bad username or password/i);
  });

  it('sends the PUBACK only after settle, in arrival order, with many messages in flight', async () => {
    const { collector, url } = await startBroker();
    const pub = await device(url);
    const acked: number[] = [];
    const sends = range(10).map((n) => pub.publishAsync(`${topic}/seq`, String(n), { qos: 1 }).then(() => acked.push(n)));
    const deliveries = await collector.waitFor(10);
    expect(await settledWithin(Promise.race(sends), 200)).toBe(false);
    for (const i of [9, 3, 1, 0, 2, 8, 4, 5, 6, 7]) deliveries[i]!.settle();
    await Promise.all(sends);
    expect(acked).toEqual(range(10));
  });

  it('closes the device connection on settle(error) without acknowledging; the device sends the message again', async () => {
    const { collector, url } = await startBroker();
    const pub = await device(url, { reconnectPeriod: 100, clean: false, clientId: randomName('device') });
    const closed = new Promise<void>((resolve) => pub.once('close', () => resolve()));
    const sent = pub.publishAsync(`${topic}/x`, 'again', { qos: 1 });
    const [first] = await collector.waitFor(1);
    first!.settle(new Error('Kafka is away'));
    await closed;
    // mqtt.js resends its unacknowledged publishes on reconnection (without setting DUP, which is its choice).
    const [, second] = await collector.waitFor(2);
    expect(second!.message.payload.toString()).toBe('again');
    expect(second!.message.clientId).toBe(first!.message.clientId);
    second!.settle();
    await sent;
  });

  it('routes to device subscribers too, and acknowledges at once what no filter selects', async () => {
    const { collector, url } = await startBroker();
    const subscriber = await device(url);
    const received: string[] = [];
    subscriber.on('message', (t, payload) => received.push(`${t}=${payload.toString()}`));
    await subscriber.subscribeAsync(`${topic}-other/#`, { qos: 1 });
    const pub = await device(url);
    await pub.publishAsync(`${topic}-other/a`, 'not for the rules', { qos: 1 });
    while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual([`${topic}-other/a=not for the rules`]);
    expect(collector.deliveries).toHaveLength(0);
  });

  it('stop() with messages in flight: the settled ones are acknowledged, the unsettled ones are not', async () => {
    const { source, collector, url } = await startBroker();
    const pub = await device(url, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => pub.once('close', () => resolve()));
    const acked: number[] = [];
    for (const n of range(4)) pub.publishAsync(`${topic}/s`, String(n), { qos: 1 }).then(() => acked.push(n), () => {});
    const deliveries = await collector.waitFor(4);
    deliveries[1]!.settle();
    deliveries[0]!.settle();
    source.pause();
    await source.stop();
    await closed;
    expect(acked).toEqual([1, 2]);
  });
});

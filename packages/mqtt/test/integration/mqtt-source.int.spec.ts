import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mqttUrl, randomName, startMosquitto, type TestMosquitto } from '../../../../scripts/testkit';
import { Closer, Collector, mqttSource, publisher, range } from '../source-harness';

const url = mqttUrl();
const closer = new Closer();
// jest's testTimeout is a global option (ignored inside a project): these tests wait on a real broker.
jest.setTimeout(30_000);
let topic: string;
let clientId: string;

beforeEach(() => {
  topic = randomName('it-mqtt');
  clientId = randomName('it-sluice');
});

afterEach(async () => {
  await closer.closeAll();
});

/** Options every test shares: a short session expiry so the shared broker does not keep our sessions for a day. */
const base = () => ({ id: 'it', url, clientId, reconnectPeriod: 200, session: { sessionExpiry: 60 } });

describe('MqttSource against Mosquitto', () => {
  it('hands over each message with its fields and MQTT 5 properties, the client id read from a user property', async () => {
    const collector = new Collector();
    const source = closer.source(mqttSource({ ...base(), identity: { clientid: { userProperty: 'clientid' } } }));
    await source.start(collector.receiver, [`${topic}/#`], new AbortController().signal);
    const pub = closer.client(await publisher(url));
    await pub.publishAsync(`${topic}/temp_hum`, '{"temp":"27.5"}', {
      qos: 1,
      properties: { userProperties: { clientid: 'dev-42', site: ['a', 'b'] }, contentType: 'application/json', messageExpiryInterval: 300 },
    });
    const [delivery] = await collector.waitFor(1);
    delivery!.settle();
    expect(delivery!.message).toMatchObject({
      sourceId: 'it',
      topic: `${topic}/temp_hum`,
      qos: 1,
      retain: false,
      dup: false,
      clientId: 'dev-42',
      username: undefined,
      peerHost: undefined,
      properties: { userProperties: { clientid: 'dev-42', site: ['a', 'b'] }, contentType: 'application/json' },
    });
    expect(delivery!.message.payload.toString()).toBe('{"temp":"27.5"}');
    expect(delivery!.message.properties?.messageExpiryInterval).toBeGreaterThan(0);
    expect(Math.abs(delivery!.message.receivedAt - Date.now())).toBeLessThan(60_000);
  });

  it('reads the client id and username from topic segments (MQTT 3.1.1 on both sides)', async () => {
    const collector = new Collector();
    const source = closer.source(mqttSource({
      ...base(),
      protocolVersion: 4,
      identity: { clientid: { topicSegment: `${topic}/{username}/{clientid}/telemetry` }, username: { topicSegment: `${topic}/{username}/{clientid}/telemetry` } },
    }));
    await source.start(collector.receiver, [`${topic}/#`], new AbortController().signal);
    const pub = closer.client(await publisher(url, { protocolVersion: 4 }));
    await pub.publishAsync(`${topic}/alice/sensor-7/telemetry`, 'x', { qos: 1 });
    await pub.publishAsync(`${topic}/other`, 'y', { qos: 1 });
    const [matching, other] = await collector.waitFor(2);
    expect(matching!.message).toMatchObject({ clientId: 'sensor-7', username: 'alice', properties: undefined });
    expect(other!.message).toMatchObject({ clientId: undefined, username: undefined });
  });

  it('does not acknowledge a message settled with an error: it comes back with dup=true after the reconnection', async () => {
    const collector = new Collector();
    const source = closer.source(mqttSource(base()));
    await source.start(collector.receiver, [topic], new AbortController().signal);
    const pub = closer.client(await publisher(url));
    await pub.publishAsync(topic, 'precious', { qos: 1 });
    const [first] = await collector.waitFor(1);
    expect(first!.message.dup).toBe(false);
    first!.settle(new Error('Kafka is away'));
    const [, again] = await collector.waitFor(2);
    expect(again!.message).toMatchObject({ dup: true, topic });
    expect(again!.message.payload.toString()).toBe('precious');
    expect(source.status()).toEqual({ state: 'connected' });
    again!.settle();
  });

  it('acknowledges 200 messages settled in random order exactly once: none comes back on the next session', async () => {
    const collector = new Collector();
    let settled = 0;
    collector.onReceive = (delivery) => {
      setTimeout(() => {
        delivery.settle();
        settled++;
      }, Math.random() * 20);
    };
    const source = closer.source(mqttSource({ ...base(), maxInflight: 20 }));
    await source.start(collector.receiver, [topic], new AbortController().signal);
    const pub = closer.client(await publisher(url, { protocolVersion: 4 }));
    await Promise.all(range(200).map((n) => pub.publishAsync(topic, String(n), { qos: 1 })));
    await collector.waitFor(200);
    while (settled < 200) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(collector.payloads()).toEqual(range(200).map(String)); // arrival order kept, nothing twice
    expect(collector.deliveries.some((d) => d.message.dup)).toBe(false);
    await source.stop();

    // Same client id, same session: anything not acknowledged would be redelivered before the marker.
    const next = new Collector();
    const resumed = closer.source(mqttSource(base()));
    await resumed.start(next.receiver, [topic], new AbortController().signal);
    await pub.publishAsync(topic, 'marker', { qos: 1 });
    const [firstAfter] = await next.waitFor(1);
    expect(firstAfter!.message.payload.toString()).toBe('marker');
  });

  it('stop() with messages in flight: the settled ones are acknowledged, the unsettled ones come back to the next session', async () => {
    const collector = new Collector();
    const source = closer.source(mqttSource({ ...base(), maxInflight: 20 }));
    await source.start(collector.receiver, [topic], new AbortController().signal);
    const pub = closer.client(await publisher(url, { protocolVersion: 4 }));
    await Promise.all(range(30).map((n) => pub.publishAsync(topic, String(n), { qos: 1 })));
    const firstTwenty = await collector.waitFor(20);
    expect(collector.deliveries).toHaveLength(20); // the window: 20 handed over, none acknowledged yet
    for (const delivery of firstTwenty.slice(0, 10)) delivery.settle();
    await collector.waitFor(30);
    source.pause();
    await source.stop();

    const next = new Collector();
    next.onReceive = (delivery) => delivery.settle();
    const resumed = closer.source(mqttSource(base()));
    await resumed.start(next.receiver, [topic], new AbortController().signal);
    await pub.publishAsync(topic, 'marker', { qos: 1 });
    await next.waitFor(21);
    expect(next.payloads()).toEqual([...range(20, 11).map(String), 'marker']);
    expect(next.deliveries.slice(0, 20).every((d) => d.message.dup)).toBe(true);
  });

  it('splits a shared subscription between two sources of one group', async () => {
    const a = new Collector();
    const b = new Collector();
    const sourceA = closer.source(mqttSource({ ...base(), shareGroup: 'g1' }));
    const sourceB = closer.source(mqttSource({ ...base(), clientId: randomName('it-sluice'), shareGroup: 'g1' }));
    await sourceA.start(a.receiver, [topic], new AbortController().signal);
    await sourceB.start(b.receiver, [topic], new AbortController().signal);
    a.onReceive = (d) => d.settle();
    b.onReceive = (d) => d.settle();
    const pub = closer.client(await publisher(url, { protocolVersion: 4 }));
    await Promise.all(range(20).map((n) => pub.publishAsync(topic, String(n), { qos: 1 })));
    while (a.deliveries.length + b.deliveries.length < 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const all = [...a.payloads(), ...b.payloads()].map(Number).sort((x, y) => x - y);
    expect(all).toEqual(range(20));
    expect(a.deliveries.length).toBeGreaterThan(0);
    expect(b.deliveries.length).toBeGreaterThan(0);
  });

  it('keeps the connection alive (PINGREQ/PINGRESP) while a message waits for its settle longer than the keepalive', async () => {
    const collector = new Collector();
    const source = closer.source(mqttSource({ ...base(), keepalive: 1 }));
    await source.start(collector.receiver, [topic], new AbortController().signal);
    const pub = closer.client(await publisher(url));
    await pub.publishAsync(topic, 'held', { qos: 1 });
    const [held] = await collector.waitFor(1);
    const states = new Set<string>();
    for (let i = 0; i < 35; i++) {
      states.add(source.status().state);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect([...states]).toEqual(['connected']);
    expect(collector.deliveries).toHaveLength(1); // no reconnection, so no redelivery
    held!.settle();
  });

  it('refuses to start, naming the broker, when nothing listens', async () => {
    const source = mqttSource({ ...base(), url: 'mqtt://127.0.0.1:1' });
    await expect(source.start(new Collector().receiver, [topic], new AbortController().signal)).rejects.toMatchObject({
      code: 'ERR_NOT_CONNECTED',
      message: expect.stringMatching(/cannot connect to mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/),
    });
  });
});

describe('MqttSource against a Mosquitto with persistence that restarts', () => {
  let broker: TestMosquitto;

  beforeEach(async () => {
    broker = await startMosquitto({ settings: { persistence: true, max_queued_messages: 100_000 } });
  });

  afterEach(async () => {
    await closer.closeAll();
    await broker.dispose();
  });

  it('leaves a message whose settle was delayed unacknowledged: after the connection is lost it is redelivered with dup=true', async () => {
    const collector = new Collector();
    const source = closer.source(mqttSource({ ...base(), url: broker.url }));
    await source.start(collector.receiver, [topic], new AbortController().signal);
    const pub = await publisher(broker.url, { protocolVersion: 4 });
    await pub.publishAsync(topic, 'slow', { qos: 1 });
    await pub.endAsync();
    const [slow] = await collector.waitFor(1);
    await broker.restart(); // the connection drops before settle
    const [, again] = await collector.waitFor(2);
    slow!.settle(); // too late: belongs to the lost connection, must not acknowledge anything now
    expect(again!.message).toMatchObject({ dup: true, topic });
    expect(again!.message.payload.toString()).toBe('slow');
    again!.settle();
  });
});

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomName, startMosquitto, type TestMosquitto } from '../../../../scripts/testkit';
import { connect } from 'mqtt';
import type { MqttSourceOptions } from '../../src/mqtt-source-config';
import { Closer, Collector, mqttSource, publisher, range } from '../source-harness';

// Prints intake rates (a figure, not an assertion): messages queued at the broker in the source's
// persistent session, then drained by a fresh start of the source. Shows that held acknowledgements
// keep intake pipelined: with a 5 ms settle and a window of 20, one-at-a-time acknowledgement would
// cap intake at 200 msg/s.
jest.setTimeout(120_000);

const COUNT = 5_000;
const closer = new Closer();
let broker: TestMosquitto;

beforeAll(async () => {
  // max_queued_messages 0: unlimited, so the whole backlog waits in the session; the in-flight window
  // stays at Mosquitto's default of 20.
  broker = await startMosquitto({ settings: { max_queued_messages: 0, max_inflight_messages: 20 } });
});

afterAll(async () => {
  await closer.closeAll();
  await broker.dispose();
});

async function drainRate(label: string, options: Partial<MqttSourceOptions>, settleDelayMs: number): Promise<number> {
  const topic = randomName('it-rate');
  const base = { id: 'rate', url: broker.url, clientId: randomName('it-rate'), maxInflight: 20, session: { sessionExpiry: 600 }, ...options };
  const subscribe = closer.source(mqttSource(base));
  await subscribe.start(new Collector().receiver, [topic], new AbortController().signal);
  await subscribe.stop(); // the session and its subscription stay at the broker

  const pub = closer.client(await publisher(broker.url, { protocolVersion: 4 }));
  await Promise.all(range(COUNT).map((n) => pub.publishAsync(topic, String(n), { qos: 1 })));

  const collector = new Collector();
  let settled = 0;
  let allSettled: () => void = () => {};
  const done = new Promise<void>((resolve) => (allSettled = resolve));
  const count = (): void => {
    if (++settled === COUNT) allSettled();
  };
  collector.onReceive = (delivery) => {
    if (settleDelayMs === 0) {
      delivery.settle();
      count();
    } else {
      setTimeout(() => {
        delivery.settle();
        count();
      }, settleDelayMs);
    }
  };
  const source = closer.source(mqttSource(base));
  const t0 = process.hrtime.bigint();
  await source.start(collector.receiver, [topic], new AbortController().signal);
  await done;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await source.stop();
  expect(new Set(collector.payloads()).size).toBe(COUNT);
  const rate = COUNT / seconds;
  process.stdout.write(`[rate] ${label.padEnd(48)} ${Math.round(rate).toString().padStart(7)} msg/s (${COUNT} in ${seconds.toFixed(2)} s)\n`);
  return rate;
}

/** The naive design for comparison: a plain mqtt.js client whose handleMessage waits for the settle. */
async function naiveRate(count: number, settleDelayMs: number): Promise<number> {
  const topic = randomName('it-rate-naive');
  const clientId = randomName('it-rate-naive');
  const options = { protocolVersion: 5 as const, clientId, clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: 600 } };
  const first = closer.client(connect(broker.url, options));
  await new Promise<void>((resolve) => first.once('connect', () => resolve()));
  await first.subscribeAsync(topic, { qos: 1 });
  await first.endAsync();
  const pub = closer.client(await publisher(broker.url, { protocolVersion: 4 }));
  await Promise.all(range(count).map((n) => pub.publishAsync(topic, String(n), { qos: 1 })));
  let received = 0;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const t0 = process.hrtime.bigint();
  const client = closer.client(connect(broker.url, { ...options, manualConnect: true }));
  client.handleMessage = (_packet, callback) => {
    setTimeout(() => {
      callback();
      if (++received === count) finished();
    }, settleDelayMs);
  };
  client.connect();
  await done;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = count / seconds;
  process.stdout.write(`[rate] ${'naive: PUBACK in handleMessage, settle 5 ms'.padEnd(48)} ${Math.round(rate).toString().padStart(7)} msg/s (${count} in ${seconds.toFixed(2)} s)\n`);
  return rate;
}

describe('MqttSource intake rate (printed, window 20, Mosquitto max_inflight_messages 20)', () => {
  it('drains a backlog with instant and 5 ms settles', async () => {
    const rates = [
      await drainRate('at-most-once (ack on receipt)', { delivery: 'at-most-once' }, 0),
      await drainRate('at-least-once, instant settle, MQTT 5', {}, 0),
      await drainRate('at-least-once, settle after 5 ms, MQTT 5', {}, 5),
      await drainRate('at-least-once, settle after 5 ms, MQTT 3.1.1', { protocolVersion: 4 }, 5),
    ];
    rates.push(await naiveRate(500, 5));
    expect(rates.every((rate) => rate > 0)).toBe(true);
  });
});

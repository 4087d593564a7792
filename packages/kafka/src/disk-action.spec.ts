import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { silentLogger } from '@sluice/core';
import { KafkaJSProtocolError } from 'kafkajs';
import { actionContext } from '../test/fixtures/fake-templates';
import { FakeProducer, turn } from '../test/fixtures/fake-producer';
import { mqttMessage } from '../test/fixtures/messages';
import { KafkaConnector } from './kafka-connector';
import { FakeTopicDirectory } from './testing/fake-topic-directory';
import { parseKafkaConnectorConfig } from './kafka-connector-config';

const config = parseKafkaConnectorConfig({ id: 'upstash', bootstrapHosts: '127.0.0.1:1' });
const tooLarge = (): Error => new KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);

describe('a KafkaAction with a disk buffer', () => {
  let dir: string;
  let connectors: KafkaConnector[];
  let drops: Array<[number, string]>;

  const newConnector = (producer: FakeProducer): KafkaConnector => {
    const connector = new KafkaConnector(config, producer, silentLogger, undefined, new FakeTopicDirectory(1));
    connectors.push(connector);
    return connector;
  };
  const settings = (extra: object = {}) => ({ topic: 't-${site}', key: '', value: '${n}', buffer: { mode: 'disk', dir, ...extra } });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-disk-action-'));
    connectors = [];
    drops = [];
  });

  afterEach(async () => {
    await Promise.all(connectors.map((connector) => connector.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves a send once the record is on disk, before Kafka acknowledges it', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const action = newConnector(producer).createAction(settings(), actionContext('r:k'));
    await action.send({ site: 'a', n: 1 }, mqttMessage());
    expect(action.queued()).toBe(1);
    expect(producer.open).toHaveLength(1);
    producer.settle();
  });

  it('sends what a closed action left on disk when a new connector starts, ahead of new records', async () => {
    const away = new FakeProducer();
    away.manual = true;
    const first = newConnector(away);
    const action = first.createAction(settings(), actionContext('r:k'));
    await Promise.all([1, 2].map((n) => action.send({ site: 'a', n }, mqttMessage())));
    await turn();
    away.settle(Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError' }));
    await turn();
    await first.stop();

    const back = new FakeProducer();
    const second = newConnector(back);
    const again = second.createAction(settings(), actionContext('r:k'));
    await second.start(new AbortController().signal);
    await again.send({ site: 'b', n: 3 }, mqttMessage());
    await turn();
    expect(back.records().map(([topic, , value]) => `${topic}/${String(value)}`)).toEqual(['t-a/1', 't-a/2', 't-b/3']);
  });

  it('counts a record Kafka refuses for good as dropped (other), and does not send it again', async () => {
    const producer = new FakeProducer();
    producer.failure = tooLarge;
    const connector = newConnector(producer);
    const action = connector.createAction(settings(), actionContext('r:k', (count, reason) => drops.push([count, reason])));
    await action.send({ site: 'a', n: 1 }, mqttMessage());
    await turn();
    await turn();
    expect(drops).toEqual([[1, 'other']]);
    await connector.stop();

    const next = new FakeProducer();
    const later = newConnector(next);
    later.createAction(settings(), actionContext('r:k'));
    await later.start(new AbortController().signal);
    await turn();
    expect(next.batches).toHaveLength(0);
  });

  it('counts a record that expires after it was written (its send resolved already) through the context', async () => {
    // only Date is faked: the test moves the clock past maxBatchAge instead of sleeping
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'] });
    try {
      const producer = new FakeProducer();
      producer.manual = true;
      const connector = newConnector(producer);
      const action = connector.createAction({ ...settings({ maxBatchAge: 10 }), maxInflight: 1 }, actionContext('r:k', (count, reason) => drops.push([count, reason])));
      const first = action.send({ site: 'a', n: 1 }, mqttMessage());
      await turn();
      expect(await action.send({ site: 'a', n: 2 }, mqttMessage())).toBeUndefined(); // on disk: stored, as far as MQTT is concerned
      jest.setSystemTime(Date.now() + 11);
      producer.settle();
      await first;
      for (let i = 0; i < 3; i += 1) await turn();
      expect(drops).toEqual([[1, 'expired']]);
      expect(producer.records().map(([, , value]) => String(value))).toEqual(['1']);
      expect(action.queued()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it("with 'drop_newest', resolves a record that does not fit without writing it", async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const connector = newConnector(producer);
    const action = connector.createAction(settings({ limit: 1, overflow: 'drop_newest' }), actionContext('r:k', (count, reason) => drops.push([count, reason])));
    const results = await Promise.all([1, 2].map((n) => action.send({ site: 'a', n }, mqttMessage())));
    expect(results).toEqual([undefined, { dropped: 'queue_full' }]);
    expect(drops).toEqual([]); // told through the result: the send had not resolved yet
    await turn();
    producer.settle();
    await turn();
    expect(producer.records()).toHaveLength(1);
  });

  it('shares one log between an action and its replacement with the same id (a config change), so nothing is numbered twice', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const connector = newConnector(producer);
    const old = connector.createAction(settings(), actionContext('r:k'));
    await old.send({ site: 'a', n: 1 }, mqttMessage());
    const replacement = connector.createAction(settings({ segmentBytes: 64 }), actionContext('r:k'));
    await replacement.send({ site: 'a', n: 2 }, mqttMessage());
    await turn();
    expect(producer.open).toHaveLength(2);
    producer.settle();
    producer.settle();
    await old.close();
    await replacement.close();

    const next = new FakeProducer();
    const later = newConnector(next);
    later.createAction(settings(), actionContext('r:k'));
    await later.start(new AbortController().signal);
    await turn();
    expect(next.batches).toHaveLength(0);
  });
});

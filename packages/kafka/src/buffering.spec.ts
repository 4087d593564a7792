import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { isDropped, type RuleOutput, type SendResult, silentLogger } from '@sluice/core';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { actionContext } from '../test/fixtures/fake-templates';
import { FakeProducer, turn } from '../test/fixtures/fake-producer';
import { mqttMessage } from '../test/fixtures/messages';
import type { KafkaAction } from './kafka-action';
import { KafkaConnector } from './kafka-connector';
import { FakeTopicDirectory } from './testing/fake-topic-directory';
import { type KafkaActionOptions, parseKafkaConnectorConfig } from './kafka-connector-config';

const config = parseKafkaConnectorConfig({ id: 'upstash', bootstrapHosts: '127.0.0.1:1' });
const leaderMoved = (): Error => new KafkaJSNumberOfRetriesExceeded(
  new KafkaJSProtocolError({ message: 'not leader', type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true } as never),
  { retryCount: 5, retryTime: 100 } as never);
const tooLarge = (): Error => new KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);
const out = (i: number): RuleOutput => ({ clientid: `dev-${i}`, n: i });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fakes only setTimeout/clearTimeout (and Date, so the clock agrees), so a test decides when back-offs and
 * deadlines pass; setImmediate stays real, so turn() still lets the batcher flush. until() cannot be used then.
 */
function fakeTimeouts(): void {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'hrtime', 'performance'] });
}

/** Polls until the condition holds (the machine may be loaded: no fixed sleeps for ordering). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i += 1) await sleep(5);
  expect(condition()).toBe(true);
}

async function settled(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Tracks which sends have settled, without awaiting them. */
function track(promises: ReadonlyArray<Promise<unknown>>): { readonly done: boolean[] } {
  const done = promises.map(() => false);
  promises.forEach((promise, i) => void promise.then(() => { done[i] = true; }, () => { done[i] = true; }));
  return { done };
}

describe('KafkaAction buffering and retries', () => {
  let producer: FakeProducer;
  let connector: KafkaConnector;
  let drops: Array<[number, string]>;
  /** Estimated bytes of one record `out(i)` with i < 10 under the settings below. */
  let recordBytes: number;

  /** How many of these send results say the record was dropped for `reason`. */
  const dropped = (results: readonly SendResult[], reason: string): number => results.filter((r) => isDropped(r) && r.dropped === reason).length;
  const values = (): string[] => producer.records().map(([, , value]) => String(value));
  const create = (settings: Partial<KafkaActionOptions>): KafkaAction =>
    connector.createAction({ topic: 't', key: '', value: '${n}', ...settings }, actionContext('r:k', (count, reason) => drops.push([count, reason])));

  beforeEach(async () => {
    producer = new FakeProducer();
    connector = new KafkaConnector(config, producer, silentLogger, undefined, new FakeTopicDirectory(1));
    drops = [];
    const probe = create({});
    producer.manual = true;
    void probe.send(out(0), mqttMessage());
    recordBytes = probe.queuedBytes();
    await turn();
    producer.settle();
    producer.manual = false;
    producer.batches.length = 0;
  });

  afterEach(async () => {
    await connector.stop();
  });

  describe("overflow 'backpressure' (the default)", () => {
    it('holds sends beyond the limit pending until space frees, then delivers all in order without drops', async () => {
      producer.manual = true;
      const action = create({ buffer: { limit: 10 * recordBytes } });
      const sends = Array.from({ length: 25 }, (_, i) => action.send(out(i % 10), mqttMessage()));
      const { done } = track(sends);
      await turn();
      expect(producer.open).toHaveLength(1);
      expect(producer.open[0]?.batch.topicMessages?.[0]?.messages).toHaveLength(10);
      expect(action.queued()).toBe(25);
      expect(action.queuedBytes()).toBe(10 * recordBytes);
      expect(done.filter(Boolean)).toHaveLength(0);

      producer.settle();
      await turn();
      await turn();
      expect(done.filter(Boolean)).toHaveLength(10);
      expect(producer.open[0]?.batch.topicMessages?.[0]?.messages).toHaveLength(10);
      producer.settle();
      await turn();
      await turn();
      producer.settle();
      await Promise.all(sends);
      expect(values()).toEqual(Array.from({ length: 25 }, (_, i) => String(i % 10)));
      expect(drops).toEqual([]);
      expect(action.queued()).toBe(0);
      expect(action.queuedBytes()).toBe(0);
    });

    it('lets a record larger than the whole limit through when the buffer is empty', async () => {
      const action = create({ buffer: { limit: 1 } });
      await action.send(out(1), mqttMessage());
      await action.send(out(2), mqttMessage());
      expect(values()).toEqual(['1', '2']);
    });

    it('rejects held sends as retriable on close, so their messages stay with the broker', async () => {
      producer.manual = true;
      const action = create({ buffer: { limit: 2 * recordBytes } });
      const sends = Array.from({ length: 5 }, (_, i) => action.send(out(i), mqttMessage()));
      await turn();
      const closing = action.close();
      producer.settle();
      await closing;
      const outcomes = await Promise.all(sends.map(settled));
      expect(outcomes.slice(0, 2)).toEqual([undefined, undefined]);
      for (const error of outcomes.slice(2)) expect(error).toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: true });
    });
  });

  describe("overflow 'drop_newest'", () => {
    it('resolves and counts as queue_full every record that does not fit', async () => {
      const action = create({ buffer: { limit: 10 * recordBytes, overflow: 'drop_newest' } });
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => action.send(out(i % 10), mqttMessage())));
      expect(values()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(dropped(results, 'queue_full')).toBe(15);
      expect(results.slice(0, 10)).toEqual(Array(10).fill(undefined)); // the first ten were stored
      expect(drops).toEqual([]); // told through the results, not the context
    });
  });

  describe("overflow 'drop_oldest'", () => {
    it('drops the oldest waiting records to make room, resolving and counting them', async () => {
      const action = create({ buffer: { limit: 10 * recordBytes, overflow: 'drop_oldest' } });
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => action.send(out(i % 10), mqttMessage())));
      expect(values()).toEqual(['5', '6', '7', '8', '9', '0', '1', '2', '3', '4']);
      expect(dropped(results, 'queue_full')).toBe(15);
      expect(results.slice(15)).toEqual(Array(10).fill(undefined)); // the last ten were stored
    });

    it('cannot take back records in flight: with nothing waiting, the new record is dropped', async () => {
      producer.manual = true;
      const action = create({ buffer: { limit: 4 * recordBytes, overflow: 'drop_oldest' }, maxInflight: 1 });
      const first = Array.from({ length: 4 }, (_, i) => action.send(out(i), mqttMessage()));
      await turn();
      expect(action.inflight()).toBe(4);
      const later = Array.from({ length: 3 }, (_, i) => action.send(out(5 + i), mqttMessage()));
      expect(dropped(await Promise.all(later), 'queue_full')).toBe(3);
      producer.settle();
      await Promise.all(first);
      expect(values()).toEqual(['0', '1', '2', '3']);
    });
  });

  describe('maxBatchAge', () => {
    // Only Date is faked: a loaded machine can take longer than maxBatchAge between two turns, so the
    // test moves the clock itself instead of sleeping past the limit.
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'] });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('drops records that waited longer, resolving them and counting them expired', async () => {
      producer.manual = true;
      const action = create({ buffer: { maxBatchAge: 10 }, maxInflight: 1 });
      const first = action.send(out(1), mqttMessage());
      await turn();
      const waiting = Array.from({ length: 5 }, (_, i) => action.send(out(2 + i), mqttMessage()));
      await turn();
      jest.setSystemTime(Date.now() + 11);
      producer.settle();
      const results = await Promise.all([first, ...waiting]);
      const fresh = action.send(out(9), mqttMessage());
      await turn();
      producer.settle();
      expect(await fresh).toBeUndefined();
      expect(values()).toEqual(['1', '9']);
      expect(results).toEqual([undefined, ...Array(5).fill({ dropped: 'expired' })]);
    });

    it('keeps records younger than the limit', async () => {
      producer.manual = true;
      const action = create({ buffer: { maxBatchAge: 10 }, maxInflight: 1 });
      const first = action.send(out(1), mqttMessage());
      await turn();
      const waiting = Array.from({ length: 2 }, (_, i) => action.send(out(2 + i), mqttMessage()));
      await turn();
      jest.setSystemTime(Date.now() + 10);
      producer.settle();
      await until(() => producer.open.length === 1);
      producer.settle();
      await Promise.all([first, ...waiting]);
      expect(values()).toEqual(['1', '2', '3']);
      expect(drops).toEqual([]);
    });
  });

  describe('retries', () => {
    it('sends again after a retriable failure, keeps the records buffered, and counts retried and retried.success', async () => {
      await connector.start(new AbortController().signal);
      let failures = 2;
      producer.failure = () => (failures-- > 0 ? leaderMoved() : undefined);
      const action = create({ retryBackoff: { initial: 50, max: 100 } });
      const sends = [1, 2, 3].map((i) => action.send(out(i), mqttMessage()));
      await turn();
      expect(connector.status()).toMatchObject({ state: 'connecting', reason: expect.stringContaining('NOT_LEADER_FOR_PARTITION') });
      expect(action.queued()).toBe(3);
      expect(action.queuedBytes()).toBe(3 * recordBytes);
      await Promise.all(sends);
      expect(producer.batches).toHaveLength(3);
      expect(values().slice(-3)).toEqual(['1', '2', '3']);
      expect(connector.status()).toEqual({ state: 'connected' });
      expect(action.metrics()).toMatchObject({ 'retried': 6, 'retried.success': 3, 'retried.failed': 0, 'queuing': 0, 'queuing_bytes': 0 });
    });

    it('gives up after maxRetries with a retriable error, counted retried.failed', async () => {
      producer.failure = leaderMoved;
      const action = create({ maxRetries: 2, retryBackoff: { initial: 1, max: 1 } });
      const errors = await Promise.all([action.send(out(1), mqttMessage()), action.send(out(2), mqttMessage())].map(settled));
      for (const error of errors) expect(error).toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: true });
      expect(producer.batches).toHaveLength(3);
      expect(action.metrics()).toMatchObject({ 'retried': 4, 'retried.success': 0, 'retried.failed': 2, 'queuing': 0 });
    });

    it('fails a retried record for good on an error that is not retriable', async () => {
      let calls = 0;
      producer.failure = () => (calls++ === 0 ? leaderMoved() : tooLarge());
      const action = create({ retryBackoff: { initial: 1, max: 1 } });
      const error = await settled(action.send(out(1), mqttMessage()));
      expect(error).toMatchObject({ retriable: false, message: expect.stringContaining('MESSAGE_TOO_LARGE') });
      expect(action.metrics()).toMatchObject({ 'retried': 1, 'retried.failed': 1 });
    });

    // Issue #11: one request per partition in flight at any maxInflight (two in flight could reach the broker
    // swapped); a failed request goes again before the records after it.
    it('sends one request per partition at a time, whatever maxInflight, and a failed one again before the records after it', async () => {
      producer.manual = true;
      const action = create({ maxInflight: 2, maxBatchRecords: 3, retryBackoff: { initial: 1, max: 1 } });
      const sends = [0, 1, 2, 3, 4, 5].map((i) => action.send(out(i), mqttMessage()));
      const sent = (): string[] | undefined => producer.open[0]?.batch.topicMessages?.[0]?.messages.map((m) => String(m.value));
      await turn();
      expect(producer.open).toHaveLength(1);
      expect(sent()).toEqual(['0', '1', '2']);
      producer.settle(leaderMoved());
      await until(() => producer.batches.length === 2);
      expect(producer.open).toHaveLength(1);
      expect(sent()).toEqual(['0', '1', '2']);
      producer.settle();
      await until(() => producer.batches.length === 3);
      expect(sent()).toEqual(['3', '4', '5']);
      producer.settle();
      await Promise.all(sends);
      expect(values()).toEqual(['0', '1', '2', '0', '1', '2', '3', '4', '5']);
    });

    it('pauses for the back-off, doubling per failure up to max, instead of sending again at once', async () => {
      fakeTimeouts();
      try {
        producer.failure = leaderMoved;
        const action = create({ maxRetries: 3, retryBackoff: { initial: 100, max: 150 } });
        const send = settled(action.send(out(1), mqttMessage()));
        await turn();
        expect(producer.batches).toHaveLength(1);
        for (const [backOff, sentBefore] of [[100, 1], [150, 2], [150, 3]] as const) {
          jest.advanceTimersByTime(backOff - 1);
          await turn();
          expect(producer.batches).toHaveLength(sentBefore);
          jest.advanceTimersByTime(1);
          await turn();
          expect(producer.batches).toHaveLength(sentBefore + 1);
        }
        expect(await send).toMatchObject({ retriable: true });
      } finally {
        jest.useRealTimers();
      }
    });

    it('on close during a back-off, rejects the buffered records as retriable instead of waiting for Kafka', async () => {
      producer.failure = leaderMoved;
      const action = create({ retryBackoff: { initial: 60_000, max: 60_000 } });
      const send = settled(action.send(out(1), mqttMessage()));
      await turn();
      await turn();
      await action.close();
      expect(await send).toMatchObject({ retriable: true });
      expect(action.queued()).toBe(0);
    });
  });

  describe("queryMode 'sync'", () => {
    beforeEach(fakeTimeouts);
    afterEach(() => {
      jest.useRealTimers();
    });

    it('fails the records of a request unanswered after syncQueryTimeout as retriable, and counts the late reply', async () => {
      producer.manual = true;
      const action = create({ queryMode: 'sync', syncQueryTimeout: 1_000, maxRetries: 0 });
      const sends = [1, 2].map((i) => settled(action.send(out(i), mqttMessage())));
      await turn();
      expect(producer.open).toHaveLength(1);
      jest.advanceTimersByTime(999);
      await turn();
      expect(action.inflight()).toBe(2);
      jest.advanceTimersByTime(1);
      for (const error of await Promise.all(sends)) {
        expect(error).toMatchObject({ code: 'ERR_ACTION_WRITE', retriable: true, message: expect.stringContaining('syncQueryTimeout (1000 ms)') });
      }
      expect(action.metrics()).toMatchObject({ inflight: 0, queuing: 0, late_reply: 0 });
      producer.settle();
      await turn();
      expect(action.metrics()['late_reply']).toBe(2);
    });

    // Issue #11: the retry no longer goes beside the late request (two requests of one partition in flight
    // could reach the broker swapped): it goes once the late reply came.
    it('retries a timed-out request once its late reply came, and resolves when the retry is answered in time', async () => {
      producer.manual = true;
      const action = create({ queryMode: 'sync', syncQueryTimeout: 1_000, maxRetries: 1, retryBackoff: { initial: 10, max: 10 } });
      let resolved = false;
      const send = action.send(out(1), mqttMessage()).then(() => { resolved = true; });
      await turn();
      jest.advanceTimersByTime(1_000);
      await turn();
      expect(action.metrics()['retried']).toBe(1);
      jest.advanceTimersByTime(10);
      await turn();
      expect(producer.open).toHaveLength(1); // the partition waits for the late request's reply
      expect(resolved).toBe(false);
      producer.settle(); // the first request's reply, too late
      await turn();
      expect(action.metrics()['late_reply']).toBe(1);
      expect(producer.open).toHaveLength(1); // the retry
      producer.settle();
      await send;
      expect(action.metrics()).toMatchObject({ 'retried.success': 1, 'late_reply': 1, 'queuing': 0 });
      expect(values()).toEqual(['1', '1']);
    });

    it('with maxInflight 1, a timed-out request keeps its slot until its reply comes: nothing overtakes it', async () => {
      producer.manual = true;
      const action = create({ queryMode: 'sync', syncQueryTimeout: 1_000, maxInflight: 1, maxRetries: 1, retryBackoff: { initial: 10, max: 10 } });
      const first = action.send(out(1), mqttMessage());
      await turn();
      jest.advanceTimersByTime(1_000);
      await turn();
      const second = action.send(out(2), mqttMessage());
      jest.advanceTimersByTime(10);
      for (let i = 0; i < 3; i += 1) await turn();
      expect(producer.open).toHaveLength(1); // neither the retry of 1 nor 2 went out beside the late request
      producer.settle(); // the late reply frees the slot
      for (let i = 0; i < 3; i += 1) await turn();
      expect(action.metrics()['late_reply']).toBe(1);
      producer.settle(); // the retry of 1, alone: a failed batch goes again exactly as it was (issue #11)
      for (let i = 0; i < 3; i += 1) await turn();
      producer.settle();
      await Promise.all([first, second]);
      expect(producer.batches.map((batch) => batch.topicMessages?.[0]?.messages.map((m) => String(m.value)))).toEqual([['1'], ['1'], ['2']]);
    });

    it('times a request from when it leaves: one queued behind the idempotent gate does not time out unsent', async () => {
      const gated = new KafkaConnector(parseKafkaConnectorConfig({ id: 'upstash', bootstrapHosts: '127.0.0.1:1', idempotent: true }), producer, silentLogger, undefined, new FakeTopicDirectory(1));
      producer.manual = true;
      const context = actionContext('r:k', (count, reason) => drops.push([count, reason]));
      const [a, b] = ['r:a', 'r:b'].map((id) => gated.createAction({ topic: 't', key: '', value: '${n}', queryMode: 'sync', syncQueryTimeout: 1_000, maxRetries: 0 }, { ...context, id }));
      const sends = [a?.send(out(1), mqttMessage()), b?.send(out(2), mqttMessage())];
      await turn();
      expect(producer.open).toHaveLength(1); // the gate lets one request out at a time
      jest.advanceTimersByTime(900);
      producer.settle();
      for (let i = 0; i < 3; i += 1) await turn();
      expect(producer.open).toHaveLength(1); // b's request left only now
      jest.advanceTimersByTime(900); // 1,800 ms after b's send, 900 ms after its request left
      producer.settle();
      expect(await Promise.all(sends)).toEqual([undefined, undefined]);
      expect(b?.metrics()['late_reply']).toBe(0);
      await gated.stop();
    });

    it("'async' (the default) sets no deadline: a request waits for its reply", async () => {
      producer.manual = true;
      const action = create({});
      let resolved = false;
      const send = action.send(out(1), mqttMessage()).then(() => { resolved = true; });
      await turn();
      jest.advanceTimersByTime(60_000);
      await turn();
      expect(resolved).toBe(false);
      expect(action.inflight()).toBe(1);
      producer.settle();
      await send;
      expect(action.metrics()['late_reply']).toBe(0);
    });
  });

  describe('.metrics', () => {
    it('reports produce latency of acknowledged requests', async () => {
      const action = create({});
      await Promise.all([1, 2].map((i) => action.send(out(i), mqttMessage())));
      await action.send(out(3), mqttMessage());
      await turn();
      const metrics = action.metrics();
      expect(metrics['produce_latency.count']).toBe(2);
      expect(metrics['produce_latency.p99_ms']).toBeGreaterThanOrEqual(metrics['produce_latency.p50_ms']);
      expect(metrics['inflight']).toBe(0);
    });
  });
});

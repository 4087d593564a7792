// Issue 10 item 1: one record that cannot be encoded, or that the broker refuses, must fail alone; the
// other records of the same produce request (other devices' records) are delivered.
import { describe, expect, it } from '@jest/globals';
import { IntegrationError } from '@sluice/core';
import { KafkaJSProtocolError, type Message as KafkaMessage, type ProducerBatch } from 'kafkajs';
import { FakeProducer, turn } from '../test/fixtures/fake-producer';
import { type BatcherOptions, RecordBatcher } from './record-batcher';
import { FakeTopicDirectory } from './testing/fake-topic-directory';
import type { RenderedRecord } from './record-renderer';

// kafkajs's encoder of one record, run by the fake on every message of a request as sendBatch would
// eslint-disable-next-line @typescript-eslint/no-require-imports
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (message: KafkaMessage) => unknown;

const options: BatcherOptions = {
  acks: -1, compression: 0, timeout: 1000, maxBatchBytes: 1 << 20, maxBatchRecords: 1000, maxLingerTime: 0, maxInflight: 1,
  bufferLimit: 1 << 24, overflow: 'backpressure', maxBatchAge: Number.POSITIVE_INFINITY, maxRetries: 3, retryBackoff: { initial: 1, max: 1 },
  directory: new FakeTopicDirectory(1), // every topic exists, one partition
};
const record = (value: string, message: Partial<KafkaMessage> = {}): RenderedRecord => ({ topic: 't', bytes: 100, held: 100, message: { key: null, value, ...message } });
const sentValues = (producer: FakeProducer): string[] => producer.records().map(([, , value]) => String(value));
const outcome = (promise: Promise<unknown>): Promise<'sent' | IntegrationError> =>
  promise.then(() => 'sent' as const, (error: unknown) => {
    if (IntegrationError.is(error)) return error;
    throw error;
  });

/** Throws from the whole request as kafkajs does when one of its records cannot be encoded. */
function encodeEach(batch: ProducerBatch): Error | undefined {
  try {
    for (const group of batch.topicMessages ?? []) for (const message of group.messages) encodeRecord(message);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('RecordBatcher: a bad record fails alone', () => {
  // a disk log holds what an earlier run wrote (or a damaged or hand-edited file): such a record is checked
  it('refuses a record read back from a disk log that kafkajs cannot encode before it joins a request; the others of the batch are sent', async () => {
    const producer = new FakeProducer();
    producer.failure = encodeEach;
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    const poisoned = Object.assign(Object.create(null) as Record<string, unknown>, { toString: Object.prototype.toString });
    const sends = [
      batcher.add(record('a'), undefined, true),
      batcher.add(record('b'), undefined, true),
      batcher.add(record('poison', { headers: poisoned as never }), undefined, true),
      batcher.add(record('c'), undefined, true),
      batcher.add(record('d', { value: undefined as never }), undefined, true),
      batcher.add(record('e'), undefined, true),
    ].map(outcome);
    const results = await Promise.all(sends);

    expect(results.filter((r) => r === 'sent')).toHaveLength(4);
    expect(sentValues(producer)).toEqual(['a', 'b', 'c', 'e']);
    const [poison, noValue] = [results[2], results[4]] as IntegrationError[];
    expect(poison).toMatchObject({ retriable: false, message: expect.stringMatching(/cannot be encoded: its header "toString" is a function/) });
    expect(noValue).toMatchObject({ retriable: false, message: expect.stringMatching(/its value is undefined, not text or bytes/) });
  });

  it('names a bad header in at most a few dozen characters, however long the device made its name', async () => {
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, new FakeProducer(), options);
    const headers = Object.assign(Object.create(null) as Record<string, unknown>, { ['n'.repeat(100_000)]: 42 });
    const result = await outcome(batcher.add(record('x', { headers: headers as never }), undefined, true));
    expect(result).toMatchObject({ retriable: false, message: expect.stringMatching(/its header "n{64}…" \(100000 characters\) is a number/) });
    expect((result as IntegrationError).message.length).toBeLessThan(400);
  });

  it('a record that was not read back from a log and that kafkajs cannot encode still fails alone: its request is split', async () => {
    const { producer, delivered } = fakeBroker(() => undefined);
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    const poisoned = Object.assign(Object.create(null) as Record<string, unknown>, { toString: Object.prototype.toString });
    const results = await Promise.all([record('a'), record('poison', { headers: poisoned as never }), record('b')].map((r) => outcome(batcher.add(r))));
    expect(results.map(brief)).toEqual(['sent', 'failed', 'sent']);
    expect(delivered).toEqual(['a', 'b']);
  });

  it('splits a request the broker refuses for one record until that record fails alone, keeping the order', async () => {
    const { producer, delivered } = fakeBroker((values) => (values.includes('huge') ? tooLarge() : undefined));
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    const values = ['0', '1', '2', 'huge', '4', '5', '6', '7', '8'];
    const results = await Promise.all(values.map((value) => outcome(batcher.add(record(value)))));

    expect(results.map(brief)).toEqual(values.map((v) => (v === 'huge' ? 'failed' : 'sent')));
    expect(results[3]).toMatchObject({ retriable: false, message: expect.stringContaining('MESSAGE_TOO_LARGE') });
    expect(delivered).toEqual(['0', '1', '2', '4', '5', '6', '7', '8']);
    // 9 records, one culprit: a handful of requests, not one per record
    expect(producer.batches.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(values.length)));
  });

  it('a request kafkajs fails with a TypeError while encoding (a record the check let through) is split the same way', async () => {
    const { producer, delivered } = fakeBroker(() => undefined);
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    // passes the check when added, then turns into something kafkajs cannot encode
    let armed = false;
    const slipping = record('x');
    Object.defineProperty(slipping.message, 'value', { get: () => (armed ? Symbol('not bytes') : 'x'), enumerable: true });
    const sends = [batcher.add(record('p')), batcher.add(slipping), batcher.add(record('q'))].map(outcome);
    armed = true;
    const results = await Promise.all(sends);
    expect(results.map(brief)).toEqual(['sent', 'failed', 'sent']);
    expect(results[1]).toMatchObject({ retriable: false, message: expect.stringContaining('TypeError') });
    expect(delivered).toEqual(['p', 'q']);
  });

  it('when Kafka goes away while a request is being split, the rest waits for the retry, in order', async () => {
    const away = (): Error => Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError' });
    // request 2 is the first half of the split: Kafka is away for that one request
    const { producer, delivered } = fakeBroker((values, request) => (request === 2 ? away() : values.includes('huge') ? tooLarge() : undefined));
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    const results = await Promise.all(['0', '1', 'huge', '3'].map((value) => outcome(batcher.add(record(value)))));
    expect(results.map(brief)).toEqual(['sent', 'sent', 'failed', 'sent']);
    expect(delivered).toEqual(['0', '1', '3']);
    expect(batcher.counters.retried).toBe(4);
  });
});

const tooLarge = (): Error => new KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);
const brief = (result: 'sent' | IntegrationError): string => (result === 'sent' ? result : 'failed');

/**
 * A fake producer that encodes every record as kafkajs does, then lets `refuse` fail the request (given the
 * values it holds and its number, from 1); the values of the requests it accepted are `delivered`, in order.
 */
function fakeBroker(refuse: (values: string[], request: number) => Error | undefined): { producer: FakeProducer; delivered: string[] } {
  const producer = new FakeProducer();
  const delivered: string[] = [];
  let request = 0;
  producer.failure = (batch) => {
    request += 1;
    const encoding = encodeEach(batch);
    if (encoding !== undefined) return encoding;
    const values = (batch.topicMessages ?? []).flatMap((g) => g.messages.map((m) => String(m.value)));
    const refused = refuse(values, request);
    if (refused === undefined) delivered.push(...values);
    return refused;
  };
  return { producer, delivered };
}

describe('RecordBatcher: splitting a refused request (review)', () => {
  it('a hand-over while a request is being split writes only the records still waiting for Kafka, and each one written hears its outcome', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    const sends = ['a', 'huge', 'c', 'd'].map((value) => outcome(batcher.add(record(value))));
    await turn();
    producer.settle(tooLarge()); // [a huge c d] refused: split
    await turn();
    producer.settle(tooLarge()); // [a huge] refused: split
    await turn();
    producer.settle(); // [a] delivered
    await turn();
    // the hybrid buffer starts to spill now: what the batcher still holds goes to disk
    const written: string[] = [];
    const heard = new Map<string, number>();
    batcher.handOver((held) => {
      const value = String(held.message.value);
      written.push(value);
      return { written: Promise.resolve(), settled: () => heard.set(value, (heard.get(value) ?? 0) + 1) };
    });
    while (producer.open.length > 0) {
      const values = (producer.open[0]?.batch.topicMessages ?? []).flatMap((g) => g.messages.map((m) => String(m.value)));
      producer.settle(values.includes('huge') ? tooLarge() : undefined);
      await turn();
    }
    await Promise.all(sends);
    // 'a' was delivered before the hand-over: writing it would leave it unacknowledged in the log for ever
    expect(written).toEqual(['huge', 'c', 'd']);
    expect(Object.fromEntries(heard)).toEqual({ huge: 1, c: 1, d: 1 });
  });

  it('a record the broker refuses in a request that also names a topic Kafka refuses fails alone, not with its topic', async () => {
    const unknown = (): Error => new KafkaJSProtocolError({ message: 'unknown', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true } as never);
    const producer = new FakeProducer();
    const delivered: string[] = [];
    producer.failure = (batch) => {
      const groups = batch.topicMessages ?? [];
      if (groups.some((g) => g.topic === 'gone')) return unknown();
      const values = groups.flatMap((g) => g.messages.map((m) => String(m.value)));
      if (values.includes('huge')) return tooLarge();
      delivered.push(...values);
      return undefined;
    };
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    const results = await Promise.all([
      record('a'), { ...record('x'), topic: 'gone' }, record('huge'), record('b'),
    ].map((r) => outcome(batcher.add(r))));
    expect(results.map(brief)).toEqual(['sent', 'failed', 'failed', 'sent']);
    expect(delivered).toEqual(['a', 'b']);
  });

  it('with maxInflight 1, a record held back for a retry while a multi-topic request is split is not overtaken by the records after it', async () => {
    const away = (): Error => Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError' });
    const auth = (): Error => new KafkaJSProtocolError({ message: 'denied', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false } as never);
    const producer = new FakeProducer();
    const delivered: string[] = [];
    let awayOnce = true;
    producer.failure = (batch) => {
      const groups = batch.topicMessages ?? [];
      const values = groups.flatMap((g) => g.messages.map((m) => String(m.value)));
      if (values.includes('huge')) return tooLarge();
      if (groups.some((g) => g.topic === 'denied')) return auth();
      if (awayOnce && values.includes('t1')) {
        awayOnce = false;
        return away(); // Kafka hiccups once on t's first records, while the request is being split
      }
      delivered.push(...values);
      return undefined;
    };
    const batcher = new RecordBatcher({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, options);
    const records = [record('t1'), { ...record('x'), topic: 'denied' }, record('t2'), record('huge')];
    const results = await Promise.all(records.map((r) => outcome(batcher.add(r))));
    expect(results.map(brief)).toEqual(['sent', 'failed', 'sent', 'failed']);
    expect(delivered).toEqual(['t1', 't2']);
  });
});

// The per-partition pipeline of issue #11, against a fake producer and a fake TopicDirectory.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { isDropped, type SendResult, silentLogger } from '@sluice/core';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, type ProducerBatch } from 'kafkajs';
import { FakeProducer, turn } from '../../test/fixtures/fake-producer';
import { FakeMetadata } from '../../test/fixtures/fake-metadata';
import { KafkaTopicDirectory } from '../kafka-topic-directory';
import { RenewableProducer } from '../renewable-producer';
import { SendGate } from '../send-gate';
import { FakeTopicDirectory } from '../testing/fake-topic-directory';
import { PICK_PARTITION } from '../partitioning';
import type { RenderedRecord } from '../record-renderer';
import { MIN_SWEEP_AT } from './partition-router';
import { type PipelineOptions, RecordPipeline } from './record-pipeline';

const where = { connectorId: 'kafka', actionId: 'r:kafka' };
const BYTES = 100;
const base: Omit<PipelineOptions, 'directory'> = {
  acks: -1, compression: 0, timeout: 1000, maxBatchBytes: 1 << 20, maxBatchRecords: 1000, maxLingerTime: 0, maxInflight: 10,
  bufferLimit: 1 << 24, overflow: 'backpressure', maxBatchAge: Number.POSITIVE_INFINITY, maxRetries: Number.POSITIVE_INFINITY,
  retryBackoff: { initial: 1, max: 1 },
};
const leaderMoved = (): Error => new KafkaJSNumberOfRetriesExceeded(
  new KafkaJSProtocolError({ message: 'not leader', type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true } as never),
  { retryCount: 2, retryTime: 100 } as never);
const unknownTopic = (): Error => new KafkaJSProtocolError({ message: 'unknown', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true } as never);

/** A record for `partition` (explicit, as a record read back from a log has it), or for the picker. */
const record = (value: string, topic = 't', partition?: number): RenderedRecord => ({
  topic, bytes: BYTES, held: BYTES, message: { key: null, value, ...(partition === undefined ? {} : { partition }) },
});
/** [topic, partition, value] of every record of a request. */
const contents = (batch: ProducerBatch): Array<[string, number | undefined, string]> => (batch.topicMessages ?? [])
  .flatMap((group) => group.messages.map((m): [string, number | undefined, string] => [group.topic, m.partition, String(m.value)]));
/** The "topic/partition"s a request carries, in order. */
const partitionsOf = (batch: ProducerBatch): string[] => [...new Set((batch.topicMessages ?? [])
  .flatMap((g) => g.messages.map((m) => `${g.topic}/${String(m.partition)}`)))];
const only = (batch: ProducerBatch): string => {
  const partitions = partitionsOf(batch);
  expect(partitions).toHaveLength(1); // one (topic, partition) per request
  return partitions[0] as string;
};
/** Fakes setTimeout and Date only: back-offs and expiry are moved by the test; setImmediate (the linger, the fake directory) stays real. */
const FAKE_ONLY_TIMEOUTS = ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'hrtime', 'performance'] as const;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i += 1) await sleep(5);
  expect(condition()).toBe(true);
}
/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe('RecordPipeline', () => {
  const pipelines: RecordPipeline[] = [];
  const make = (producer: FakeProducer, directory: FakeTopicDirectory, options: Partial<PipelineOptions> = {}): RecordPipeline => {
    const pipeline = new RecordPipeline(where, producer, { ...base, directory, ...options });
    pipelines.push(pipeline);
    return pipeline;
  };

  afterEach(async () => {
    jest.useRealTimers();
    for (const pipeline of pipelines.splice(0)) void pipeline.close().catch(() => undefined);
  });

  describe('order per partition', () => {
    it.each([
      ['each partition led by its own broker (a request each)', true],
      ['all led by one broker (their batches share requests)', false],
    ])('at maxInflight 10, with requests answered out of order, keeps each partition in admission order, one request per partition in flight: %s', async (_, ownLeaders) => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 4, ownLeaders ? { leaderOf: (p) => p } : {});
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxBatchRecords: 7 });
      const next = random(11);
      const stored = new Map<string, string[]>();
      const sends: Array<Promise<SendResult>> = [];
      for (let i = 0; i < 400; i += 1) {
        sends.push(pipeline.add(record(String(i), 't', i % 4)));
        if (i % 50 === 49) await turn();
      }
      let maxOpen = 0;
      while (producer.open.length > 0 || pipeline.queued() > 0) {
        await turn();
        if (producer.open.length === 0) continue;
        maxOpen = Math.max(maxOpen, producer.open.length);
        const open = producer.open.flatMap((call) => partitionsOf(call.batch));
        expect(new Set(open).size).toBe(open.length); // never two requests of one partition in flight
        // answer any one of the open requests, not the oldest
        const [call] = producer.open.splice(Math.floor(next() * producer.open.length), 1);
        for (const [, partition, value] of contents(call?.batch as ProducerBatch)) {
          const key = String(partition);
          stored.set(key, [...(stored.get(key) ?? []), value]);
        }
        call?.resolve([]);
      }
      await Promise.all(sends);
      if (ownLeaders) expect(maxOpen).toBe(4);
      else expect(maxOpen).toBeGreaterThanOrEqual(1);
      for (let p = 0; p < 4; p += 1) {
        expect(stored.get(String(p))).toEqual(Array.from({ length: 100 }, (_, k) => String(4 * k + p)));
      }
    });

    it('chooses the partition with the record\'s picker from the directory\'s partitions and sets it on the message', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 3);
      const producer = new FakeProducer();
      const pipeline = make(producer, directory);
      const seen: number[] = [];
      const pick = (partitions: readonly unknown[]): number => {
        seen.push(partitions.length);
        return 2;
      };
      await pipeline.add({ topic: 't', bytes: BYTES, held: BYTES, message: { key: null, value: 'a', [PICK_PARTITION]: pick } });
      // an explicit partition the topic has is kept; one it does not have is chosen again
      await pipeline.add({ topic: 't', bytes: BYTES, held: BYTES, message: { key: null, value: 'b', partition: 1, [PICK_PARTITION]: pick } });
      await pipeline.add({ topic: 't', bytes: BYTES, held: BYTES, message: { key: null, value: 'c', partition: 7, [PICK_PARTITION]: pick } });
      expect(producer.batches.flatMap(contents)).toEqual([['t', 2, 'a'], ['t', 1, 'b'], ['t', 2, 'c']]);
      expect(seen).toEqual([3, 3]);
    });

    it('sends a failed batch again exactly as it was (the idempotent broker recognises only the same batch), then the later records', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 1);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxBatchRecords: 2 });
      const sends = ['0', '1', '2', '3'].map((v) => pipeline.add(record(v)));
      await turn();
      expect(producer.open.map((call) => contents(call.batch).map(([, , v]) => v))).toEqual([['0', '1']]);
      producer.settle(leaderMoved());
      sends.push(pipeline.add(record('4')));
      await until(() => producer.open.length === 1);
      expect(contents(producer.open[0]?.batch as ProducerBatch).map(([, , v]) => v)).toEqual(['0', '1']);
      while (pipeline.queued() > 0) {
        if (producer.open.length > 0) producer.settle();
        await turn();
      }
      await Promise.all(sends);
      expect(producer.batches.map((batch) => contents(batch).map(([, , v]) => v))).toEqual([['0', '1'], ['0', '1'], ['2', '3'], ['4']]);
      expect(pipeline.counters).toMatchObject({ retried: 2, retriedSuccess: 2 });
    });
  });

  describe('with an idempotent producer', () => {
    it('retries a batch refused with OUT_OF_ORDER_SEQUENCE_NUMBER unchanged, on a new producer (new producer id)', async () => {
      const made: FakeProducer[] = [];
      const renewable = new RenewableProducer(() => {
        const producer = new FakeProducer();
        // kafkajs marks it not retriable; the broker would refuse every later batch of this producer id
        if (made.length === 0) producer.failure = () => new KafkaJSProtocolError({ message: 'out of order', type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', code: 45, retriable: false } as never);
        made.push(producer);
        return producer;
      }, silentLogger);
      await renewable.connect();
      const directory = new FakeTopicDirectory(1);
      const pipeline = new RecordPipeline(where, renewable, { ...base, directory, gate: new SendGate() });
      pipelines.push(pipeline);
      const sends = ['a', 'b', 'c'].map((v) => pipeline.add(record(v)));
      expect(await Promise.all(sends)).toEqual([undefined, undefined, undefined]);
      expect(made.map((producer) => producer.batches.map((batch) => contents(batch).map(([, , v]) => v)))).toEqual([[['a', 'b', 'c']], [['a', 'b', 'c']]]);
      expect(pipeline.counters).toMatchObject({ retried: 3, retriedSuccess: 3 });
      await renewable.disconnect();
    });
  });

  describe('a failing partition', () => {
    it('backs off alone: the other partitions and topics keep flowing', async () => {
      jest.useFakeTimers({ doNotFake: [...FAKE_ONLY_TIMEOUTS] });
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 2);
      directory.createTopic('u', 1);
      await directory.settle();
      const producer = new FakeProducer();
      let broken = true;
      producer.failure = (batch) => (broken && partitionsOf(batch).includes('t/1') ? leaderMoved() : undefined);
      const pipeline = make(producer, directory, { retryBackoff: { initial: 100, max: 60_000 } });
      const stuck = [pipeline.add(record('s0', 't', 1))];
      await turn();
      expect(pipeline.failing()).toBe(true);
      stuck.push(pipeline.add(record('s1', 't', 1)));
      const healthy = Array.from({ length: 20 }, (_, i) => pipeline.add(record(`h${i}`, i % 2 === 0 ? 't' : 'u', 0)));
      expect(await Promise.all(healthy)).toEqual(Array(20).fill(undefined));
      expect(pipeline.failingPartitionCount()).toBe(1);
      expect(pipeline.queued()).toBe(2);
      expect(directory.suspected).toEqual(['t']);
      expect(pipeline.partitions().filter((p) => p.failing).map((p) => `${p.topic}/${String(p.partition)}`)).toEqual(['t/1']);
      broken = false;
      jest.advanceTimersByTime(100);
      await Promise.all(stuck);
      // a failing partition's requests carry no other partition's records
      expect(producer.batches.filter((batch) => partitionsOf(batch).includes('t/1')).every((batch) => partitionsOf(batch).length === 1)).toBe(true);
      expect(producer.batches.filter((batch) => partitionsOf(batch).includes('t/1')).flatMap(contents).map(([, , v]) => v)).toEqual(['s0', 's0', 's1']);
      expect(pipeline.failing()).toBe(false);
    });

    it('retries early once the directory says the topic answers (after retryBackoff.initial), but not again after that early retry failed', async () => {
      jest.useFakeTimers({ doNotFake: [...FAKE_ONLY_TIMEOUTS] });
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 1);
      await directory.settle();
      const producer = new FakeProducer();
      producer.failure = leaderMoved;
      const pipeline = make(producer, directory, { retryBackoff: { initial: 100, max: 10_000 } });
      const send = pipeline.add(record('a'));
      const after = async (ms: number): Promise<number> => {
        jest.advanceTimersByTime(ms);
        await turn();
        return producer.batches.length;
      };
      expect(await after(0)).toBe(1);
      expect(await after(100)).toBe(2); // back-offs of 100, then 200 ms: no word from the directory
      expect(await after(200)).toBe(3); // next back-off: 400 ms
      directory.change('t');
      await directory.settle();
      expect(await after(99)).toBe(3); // never before retryBackoff.initial since the failure
      expect(await after(1)).toBe(4); // early: the directory said the topic answers
      directory.change('t'); // the early retry failed (Kafka answers, the produce does not): its back-off of 800 ms runs
      await directory.settle();
      expect(await after(799)).toBe(4);
      producer.failure = undefined;
      expect(await after(1)).toBe(5);
      expect(await send).toBeUndefined();
    });

    it('retries a topic Kafka says it does not know, instead of failing its records', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('gone', 1);
      const producer = new FakeProducer();
      let missing = 2;
      producer.failure = () => (missing-- > 0 ? unknownTopic() : undefined);
      const pipeline = make(producer, directory);
      expect(await pipeline.add(record('a', 'gone'))).toBeUndefined();
      expect(producer.batches).toHaveLength(3);
      expect(directory.suspected).toEqual(['gone', 'gone']);
    });
  });

  it('fails a record for a name Kafka never accepts as a topic at once, instead of waiting for it', async () => {
    const pipeline = make(new FakeProducer(), new FakeTopicDirectory(1));
    for (const topic of ['no/slashes', 'x'.repeat(250), '..', '']) {
      await expect(pipeline.add(record('a', topic))).rejects.toMatchObject({ retriable: false, message: expect.stringContaining('not a valid Kafka topic name') });
    }
    expect(await pipeline.add(record('b', 'fine.topic_name-1'))).toBeUndefined();
    expect(pipeline.queued()).toBe(0);
  });

  describe('a topic without partitions yet', () => {
    it('holds its records, in order and counted, while other topics flow; they go once the directory learns it', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('known', 1);
      directory.deleteTopic('late');
      const producer = new FakeProducer();
      const pipeline = make(producer, directory);
      const waiting = Array.from({ length: 5 }, (_, i) => pipeline.add(record(`w${i}`, 'late')));
      expect(await pipeline.add(record('k', 'known'))).toBeUndefined();
      await turn();
      expect(producer.batches.flatMap(contents)).toEqual([['known', 0, 'k']]);
      expect([pipeline.queued(), pipeline.queuedBytes(), pipeline.waitingTopicCount()]).toEqual([5, 5 * BYTES, 1]);
      directory.createTopic('late', 2);
      expect(await Promise.all(waiting)).toEqual(Array(5).fill(undefined));
      const late = producer.batches.flatMap(contents).filter(([topic]) => topic === 'late');
      for (const p of [0, 1]) {
        const values = late.filter(([, partition]) => partition === p).map(([, , v]) => v);
        expect(values).toEqual([...values].sort()); // admission order within the partition
      }
      expect(late).toHaveLength(5);
      expect(pipeline.waitingTopicCount()).toBe(0);
    });

    it('expires them by maxBatchAge while the topic stays missing', async () => {
      jest.useFakeTimers({ doNotFake: [...FAKE_ONLY_TIMEOUTS] });
      const directory = new FakeTopicDirectory();
      const producer = new FakeProducer();
      const pipeline = make(producer, directory, { maxBatchAge: 1_000 });
      const first = pipeline.add(record('a', 'late'));
      jest.advanceTimersByTime(500);
      const second = pipeline.add(record('b', 'late'));
      jest.advanceTimersByTime(501); // older than maxBatchAge
      expect(await first).toEqual({ dropped: 'expired' });
      expect(pipeline.queued()).toBe(1);
      jest.advanceTimersByTime(500);
      expect(await second).toEqual({ dropped: 'expired' });
      expect([pipeline.queued(), pipeline.queuedBytes(), pipeline.waitingTopicCount()]).toEqual([0, 0, 0]);
      expect(producer.batches).toHaveLength(0);
    });

    it('applies the overflow policy to them: drop_oldest drops the oldest waiting record of the action', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('known', 1);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { bufferLimit: 3 * BYTES, overflow: 'drop_oldest' });
      const sends = [pipeline.add(record('w0', 'late')), pipeline.add(record('k0', 'known')), pipeline.add(record('w1', 'late')), pipeline.add(record('k1', 'known'))];
      expect(await sends[0]).toEqual({ dropped: 'queue_full' });
      expect(pipeline.queued()).toBe(3);
      directory.createTopic('late', 1);
      while (pipeline.queued() > 0) {
        if (producer.open.length > 0) producer.settle();
        await turn();
      }
      expect((await Promise.all(sends)).map((r) => (isDropped(r) ? r.dropped : 'sent'))).toEqual(['queue_full', 'sent', 'sent', 'sent']);
    });

    it('fails a record at once, not retriable, when the directory refuses to look its topic up (it tracks as many as it may), while other topics flow', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('known', 1);
      directory.refuse('flood-9');
      const producer = new FakeProducer();
      const pipeline = make(producer, directory);
      await expect(pipeline.add(record('a', 'flood-9'))).rejects.toMatchObject({
        retriable: false, message: expect.stringContaining('already tracks 10000 topics in use: the record is not sent'),
      });
      expect(await pipeline.add(record('k', 'known'))).toBeUndefined();
      expect([pipeline.queued(), pipeline.waitingTopicCount()]).toEqual([0, 0]);
      expect(producer.batches.flatMap(contents)).toEqual([['known', 0, 'k']]);
    });

    it('fails the records waiting for a topic the directory forgot and then refused (no onChange would ever come), instead of holding them for ever', async () => {
      const directory = new FakeTopicDirectory();
      directory.deleteTopic('late');
      const pipeline = make(new FakeProducer(), directory);
      const waiting = [pipeline.add(record('a', 'late')), pipeline.add(record('b', 'late'))].map((send) => send.then(() => 'sent', (error: unknown) => error));
      await turn();
      expect(pipeline.waitingTopicCount()).toBe(1);
      directory.refuse('late');
      directory.change('late'); // the real directory tells its listeners about every topic it forgets
      for (const outcome of await Promise.all(waiting)) expect(outcome).toMatchObject({ retriable: false, message: expect.stringContaining('is not looked up') });
      expect([pipeline.queued(), pipeline.queuedBytes(), pipeline.waitingTopicCount()]).toEqual([0, 0, 0]);
    });

    it('rejects them as retriable on close when the directory has a problem with the topic', async () => {
      const directory = new FakeTopicDirectory();
      directory.deleteTopic('late');
      const pipeline = make(new FakeProducer(), directory);
      const send = pipeline.add(record('a', 'late')).then(() => 'sent', (error: unknown) => error);
      await pipeline.close();
      expect(await send).toMatchObject({ retriable: true, message: expect.stringContaining('closed') });
      expect(directory.listenerCount).toBe(0);
    });
  });

  describe('one request per leader', () => {
    it('sends the waiting batches of one topic\'s partitions that one broker leads in one request; another leader\'s, or topic\'s, in another', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 4, { leaderOf: (p) => p % 2 });
      directory.createTopic('u', 1);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory);
      const sends = [0, 1, 2, 3, 0, 1, 2, 3].map((p, i) => pipeline.add(record(`t${i}`, 't', p)));
      sends.push(pipeline.add(record('u0', 'u', 0)));
      await turn();
      expect(producer.open.map((call) => partitionsOf(call.batch))).toEqual([['t/0', 't/2'], ['t/1', 't/3'], ['u/0']]);
      expect(contents(producer.open[0]?.batch as ProducerBatch).map(([, , v]) => v)).toEqual(['t0', 't4', 't2', 't6']);
      while (producer.open.length > 0) producer.settle();
      expect(await Promise.all(sends)).toEqual(Array(9).fill(undefined));
      expect(pipeline.partitions().find((p) => p.partition === 2)?.counters.requests).toBe(1);
    });

    it('adds a partition\'s batch only while the request stays within maxBatchBytes; the rest goes in the next request', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 3);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxBatchBytes: 4 * BYTES });
      const sends = [0, 0, 1, 1, 2, 2].map((p, i) => pipeline.add(record(`v${i}`, 't', p)));
      await turn();
      expect(producer.open.map((call) => partitionsOf(call.batch))).toEqual([['t/0', 't/1'], ['t/2']]);
      while (producer.open.length > 0) producer.settle();
      expect(await Promise.all(sends)).toEqual(Array(6).fill(undefined));
    });

    it('sends each partition of a failed shared request again alone, without spending a retry: only the one at fault fails', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 3);
      const producer = new FakeProducer();
      producer.failure = (batch) => (partitionsOf(batch).includes('t/1') ? unknownTopic() : undefined);
      // no retry at all: a partition sent again only because it shared a request must still be delivered
      const pipeline = make(producer, directory, { maxRetries: 0 });
      const healthy = [pipeline.add(record('a', 't', 0)), pipeline.add(record('c', 't', 2))];
      const faulty = pipeline.add(record('b', 't', 1));
      faulty.catch(() => undefined);
      expect(await Promise.all(healthy)).toEqual([undefined, undefined]);
      await expect(faulty).rejects.toThrow(/unknown/);
      expect(producer.batches.map(partitionsOf)).toEqual([['t/0', 't/2', 't/1'], ['t/0'], ['t/2'], ['t/1']]);
      expect(pipeline.counters.retried).toBe(3); // sent twice each, counted as EMQX counts a record sent again
    });
  });

  describe('linger', () => {
    it('sends a partition\'s batch once its waiting bytes reach maxLingerBytes, without waiting for maxLingerTime', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 2, { leaderOf: (p) => p }); // a batch of the same leader would go along (see 'one request per leader')
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxLingerTime: 3_600_000, maxLingerBytes: 3 * BYTES });
      const sends = [pipeline.add(record('a', 't', 0)), pipeline.add(record('b', 't', 0)), pipeline.add(record('x', 't', 1))];
      await turn();
      expect(producer.open).toHaveLength(0);
      sends.push(pipeline.add(record('c', 't', 0)));
      expect(producer.open.map((call) => contents(call.batch).map(([, , v]) => v))).toEqual([['a', 'b', 'c']]);
      producer.settle();
      // partition 1 has not lingered long enough nor gathered enough: close sends it
      const closed = pipeline.close();
      await turn();
      expect(producer.open.map((call) => contents(call.batch).map(([, , v]) => v))).toEqual([['x']]);
      producer.settle();
      await Promise.all([...sends, closed]);
    });

    it('sends the records that waited for a request once the oldest has lingered maxLingerTime, not the moment the request returns', async () => {
      jest.useFakeTimers({ doNotFake: [...FAKE_ONLY_TIMEOUTS] });
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 1);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxLingerTime: 50 });
      const values = (): string[][] => producer.open.map((call) => contents(call.batch).map(([, , v]) => v));
      const sends = [pipeline.add(record('a'))];
      jest.advanceTimersByTime(50);
      expect(values()).toEqual([['a']]);
      sends.push(pipeline.add(record('b'))); // waits for 'a''s request: due 50 ms from now
      jest.advanceTimersByTime(10);
      producer.settle();
      await turn();
      await turn();
      expect(values()).toEqual([]); // 'b' has waited 10 ms of its 50
      sends.push(pipeline.add(record('c')));
      jest.advanceTimersByTime(39);
      expect(values()).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(values()).toEqual([['b', 'c']]);
      // a request that takes longer than the linger: what waited for it goes the moment it returns
      sends.push(pipeline.add(record('d')));
      jest.advanceTimersByTime(80);
      producer.settle();
      await turn();
      await turn();
      expect(values()).toEqual([['d']]);
      producer.settle();
      expect(await Promise.all(sends)).toEqual([undefined, undefined, undefined, undefined]);
    });
  });

  describe('sendLingering (a source\'s window is full)', () => {
    it('sends what lingers at once, what waited for a request included, and nothing when nothing lingers', async () => {
      jest.useFakeTimers({ doNotFake: [...FAKE_ONLY_TIMEOUTS] });
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 1);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxLingerTime: 1000 });
      const values = (): string[][] => producer.open.map((call) => contents(call.batch).map(([, , v]) => v));
      pipeline.sendLingering();
      expect(producer.batches).toHaveLength(0);
      const sends = [pipeline.add(record('a')), pipeline.add(record('b'))];
      await turn();
      expect(values()).toEqual([]); // lingering for 1 s
      pipeline.sendLingering();
      expect(values()).toEqual([['a', 'b']]);
      sends.push(pipeline.add(record('c'))); // waits for the request, then lingers from its arrival
      producer.settle();
      await turn();
      await turn();
      expect(values()).toEqual([]);
      pipeline.sendLingering();
      expect(values()).toEqual([['c']]);
      producer.settle();
      expect(await Promise.all(sends)).toEqual([undefined, undefined, undefined]);
      expect(producer.batches).toHaveLength(2);
    });

    it('sends records that waited for their topic\'s partitions when told as soon as they have them, without a linger', async () => {
      const directory = new FakeTopicDirectory();
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxLingerTime: 3_600_000 });
      const sends = ['a', 'b'].map((v) => pipeline.add(record(v, 'late')));
      pipeline.sendLingering(); // nothing lingers yet: both wait for the topic
      expect(producer.batches).toHaveLength(0);
      directory.createTopic('late', 1);
      await directory.settle();
      await turn();
      expect(producer.open.map((call) => contents(call.batch).map(([, , v]) => v))).toEqual([['a', 'b']]);
      producer.settle();
      expect(await Promise.all(sends)).toEqual([undefined, undefined]);
    });
  });

  describe('routes of many topics (a templated topic fed device-chosen names)', () => {
    it('removes the routes of idle topics past MIN_SWEEP_AT, keeping those with records pending, in flight or backing off', async () => {
      jest.useFakeTimers({ doNotFake: [...FAKE_ONLY_TIMEOUTS] });
      const directory = new FakeTopicDirectory(1);
      const producer = new FakeProducer();
      producer.failure = (batch) => (partitionsOf(batch).includes('stuck/0') ? leaderMoved() : undefined);
      const pipeline = make(producer, directory, { retryBackoff: { initial: 60_000, max: 60_000 } });
      const stuck = pipeline.add(record('s0', 'stuck'));
      stuck.catch(() => undefined); // rejected by the close after a failed expectation: not an unhandled rejection
      await turn();
      expect(pipeline.failingPartitionCount()).toBe(1);
      for (let round = 0; round < 5; round += 1) {
        const sends = Array.from({ length: MIN_SWEEP_AT }, (_, i) => pipeline.add(record('v', `t${round}-${i}`)));
        expect(await Promise.all(sends)).toEqual(Array(MIN_SWEEP_AT).fill(undefined));
      }
      // 5,121 topics seen; at most max(MIN_SWEEP_AT, 2 x the routes holding records at the last sweep) kept
      expect(pipeline.routeCount()).toBeLessThanOrEqual(2 * MIN_SWEEP_AT);
      // the backing-off partition kept its queue: its record goes once the back-off ends, counted as one partition
      expect(pipeline.partitions().filter((p) => p.topic === 'stuck')).toHaveLength(1);
      producer.failure = undefined;
      jest.advanceTimersByTime(60_000);
      expect(await stuck).toBeUndefined();
      expect(producer.batches.filter((batch) => partitionsOf(batch).includes('stuck/0')).map(only)).toEqual(['stuck/0', 'stuck/0']);
      expect(pipeline.failing()).toBe(false);
    });

    it('gives a send held by back-pressure whose route was removed meanwhile the topic\'s current queue (one request per partition)', async () => {
      const directory = new FakeTopicDirectory(1);
      directory.createTopic('y', 1, { leaderOf: () => 1 }); // its requests carry it alone: the others' leader is broker 0
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { bufferLimit: 2 * BYTES });
      const sends = [pipeline.add(record('a0', 'x')), pipeline.add(record('a1', 'x'))];
      // held (the buffer is full): the route of 'y' is new and idle, so the sweep the new topics bring removes it
      sends.push(pipeline.add(record('b', 'y')));
      for (let i = 0; i <= MIN_SWEEP_AT; i += 1) sends.push(pipeline.add(record('v', `n${i}`)));
      sends.push(pipeline.add(record('c', 'y')));
      for (const send of sends) send.catch(() => undefined); // rejected by the close after a failed expectation
      expect(pipeline.routeCount()).toBeLessThan(MIN_SWEEP_AT);
      // answer every request but those of 'y', so that 'b' stays in flight while 'c' is let in
      let maxY = 0;
      const carriesY = (batch: ProducerBatch): boolean => partitionsOf(batch).includes('y/0');
      for (let quiet = 0; quiet < 3; quiet = pipeline.queued() > 2 || producer.open.some((call) => !carriesY(call.batch)) ? 0 : quiet + 1) {
        await turn();
        maxY = Math.max(maxY, producer.open.filter((call) => carriesY(call.batch)).length);
        const index = producer.open.findIndex((call) => !carriesY(call.batch));
        if (index >= 0) producer.open.splice(index, 1)[0]?.resolve([]);
      }
      expect(maxY).toBe(1);
      while (pipeline.queued() > 0) {
        if (producer.open.length > 0) producer.settle();
        await turn();
      }
      await Promise.all(sends);
      expect(producer.records().filter(([topic]) => topic === 'y').map(([, , v]) => v)).toEqual(['b', 'c']);
    });
  });

  describe('linger of records that waited for their topic', () => {
    it('sends them at once when they reach maxLingerBytes, as newly admitted records', async () => {
      const directory = new FakeTopicDirectory();
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { maxLingerTime: 3_600_000, maxLingerBytes: 3 * BYTES });
      const sends = ['a', 'b', 'c', 'd'].map((v) => pipeline.add(record(v, 'late')));
      for (const send of sends) send.catch(() => undefined); // rejected by the close after a failed expectation
      directory.createTopic('late', 1);
      await directory.settle();
      await turn();
      expect(producer.open.map((call) => contents(call.batch).map(([, , v]) => v))).toEqual([['a', 'b', 'c']]);
      producer.settle();
      // 'd' has not lingered long enough nor gathered enough: close sends it
      const closed = pipeline.close();
      await turn();
      expect(producer.open.map((call) => contents(call.batch).map(([, , v]) => v))).toEqual([['d']]);
      producer.settle();
      await Promise.all([...sends, closed]);
    });
  });

  describe('with the connector\'s topic directory', () => {
    it('keeps a busy topic known to the directory (no forgetting, no refetch after 10 min)', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'hrtime', 'performance'] });
      const metadata = new FakeMetadata({ t: 1 });
      const directory = new KafkaTopicDirectory(metadata, { refreshInterval: 3_600_000, allowAutoTopicCreation: false, logger: silentLogger });
      await directory.start();
      const producer = new FakeProducer();
      const pipeline = make(producer, directory as unknown as FakeTopicDirectory);
      expect(await pipeline.add(record('first', 't'))).toBeUndefined();
      // 15 minutes, a record every 30 s: the topic is busy throughout (the directory forgets after 10 idle minutes)
      for (let minute = 0; minute < 30; minute += 1) {
        jest.advanceTimersByTime(30_000);
        for (let i = 0; i < 4; i += 1) await turn();
        expect(await pipeline.add(record(`r${minute}`, 't'))).toBeUndefined();
      }
      expect(metadata.requests).toEqual([['t']]); // learned once, never forgotten and fetched again
      await directory.close();
    });
  });

  describe('perPartitionLimit', () => {
    const drain = async (producer: FakeProducer, pipeline: RecordPipeline): Promise<void> => {
      while (pipeline.queued() > 0) {
        if (producer.open.length > 0) producer.settle();
        await turn();
      }
    };

    it('applies drop_newest to the records of the partition at its limit only', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 2);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { perPartitionLimit: 2 * BYTES, overflow: 'drop_newest' });
      const sends = [record('a', 't', 0), record('b', 't', 0), record('c', 't', 0), record('x', 't', 1), record('y', 't', 1)].map((r) => pipeline.add(r));
      await drain(producer, pipeline);
      expect((await Promise.all(sends)).map((r) => (isDropped(r) ? r.dropped : 'sent'))).toEqual(['sent', 'sent', 'queue_full', 'sent', 'sent']);
      expect(producer.batches.flatMap(contents).map(([, , v]) => v).sort()).toEqual(['a', 'b', 'x', 'y']);
    });

    it('with backpressure, holds a send for a full partition until that partition has room', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('t', 1);
      const producer = new FakeProducer();
      producer.manual = true;
      const pipeline = make(producer, directory, { perPartitionLimit: BYTES });
      const sends = [pipeline.add(record('a')), pipeline.add(record('b'))];
      await turn();
      expect([producer.open.length, pipeline.queued(), pipeline.queuedBytes()]).toEqual([1, 2, BYTES]);
      await drain(producer, pipeline);
      expect(await Promise.all(sends)).toEqual([undefined, undefined]);
      expect(producer.batches.flatMap(contents).map(([, , v]) => v)).toEqual(['a', 'b']);
    });
  });

  describe('blocked(topic): what a hybrid buffer writes to disk as it comes', () => {
    it('is true while a partition of the topic fails or Kafka has no partitions for it, and only for that topic', async () => {
      const directory = new FakeTopicDirectory();
      directory.createTopic('ok', 1);
      directory.createTopic('flaky', 2);
      directory.deleteTopic('gone');
      const producer = new FakeProducer();
      const blockedTopics: string[] = [];
      const pipeline = make(producer, directory, { retryBackoff: { initial: 60_000, max: 60_000 }, onBlocked: (topic) => blockedTopics.push(topic) });
      expect(['ok', 'flaky', 'gone'].map((topic) => pipeline.blocked(topic))).toEqual([false, false, true]);

      producer.failure = (batch) => (batch.topicMessages?.[0]?.topic === 'flaky' ? leaderMoved() : undefined);
      void pipeline.add(record('f', 'flaky', 1)).catch(() => undefined); // rejected when the spec closes the pipeline
      await pipeline.add(record('o', 'ok'));
      await until(() => pipeline.failing());
      expect(['ok', 'flaky', 'gone'].map((topic) => pipeline.blocked(topic))).toEqual([false, true, true]);
      expect(blockedTopics).toEqual(['flaky']);

      // the topic deleted under a running pipeline: the directory tells, and the pipeline says the topic is blocked
      directory.deleteTopic('ok');
      directory.change('ok');
      await directory.settle();
      expect(pipeline.blocked('ok')).toBe(true);
      expect(blockedTopics).toEqual(['flaky', 'ok']);
      directory.createTopic('ok', 1);
      await directory.settle();
      expect(pipeline.blocked('ok')).toBe(false);
    });
  });
});

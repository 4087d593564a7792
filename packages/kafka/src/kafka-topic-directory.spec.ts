import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { silentLogger } from '@sluice/core';
import { KafkaJSConnectionError } from 'kafkajs';
import { FakeMetadata, partitions } from '../test/fixtures/fake-metadata';
import { KafkaTopicDirectory } from './kafka-topic-directory';

describe(KafkaTopicDirectory.name, () => {
  let kafka: FakeMetadata;
  let directory: KafkaTopicDirectory;
  let changes: string[];

  function make(options: { allowAutoTopicCreation?: boolean; maxTopics?: number; refreshInterval?: number } = {}): KafkaTopicDirectory {
    directory = new KafkaTopicDirectory(kafka, {
      refreshInterval: options.refreshInterval ?? 60_000,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
      logger: silentLogger,
      ...(options.maxTopics === undefined ? {} : { maxTopics: options.maxTopics }),
    });
    directory.onChange((topic) => changes.push(topic));
    return directory;
  }

  /** One probe period (500 ms) and everything it set off. */
  const probe = (): Promise<void> => jest.advanceTimersByTimeAsync(500);
  const settle = (): Promise<void> => jest.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    jest.useFakeTimers();
    kafka = new FakeMetadata();
    changes = [];
  });

  afterEach(async () => {
    await directory.close();
    jest.useRealTimers();
  });

  describe('.partitions', () => {
    it('answers undefined for an unknown topic, then fetches every topic asked about in that turn in one request', async () => {
      kafka.topics.set('a', partitions(3));
      kafka.topics.set('b', partitions(1));
      await make().start();
      expect(directory.partitions('a')).toBeUndefined();
      expect(directory.partitions('b')).toBeUndefined();
      expect(directory.partitions('a')).toBeUndefined();
      expect(changes).toEqual([]);
      await settle();
      expect(kafka.requests).toEqual([['a', 'b']]);
      expect(changes.sort()).toEqual(['a', 'b']);
      expect(directory.partitions('a')?.map((p) => p.partitionId)).toEqual([0, 1, 2]);
      expect(directory.partitions('a')).toBe(directory.partitions('a'));
    });

    it('asks nothing before start, and asks at start what was wanted before', async () => {
      kafka.topics.set('a', partitions(2));
      make();
      expect(directory.partitions('a')).toBeUndefined();
      await settle();
      expect(kafka.requests).toEqual([]);
      await directory.start();
      expect(kafka.requests).toEqual([['a']]);
      expect(directory.partitions('a')).toHaveLength(2);
    });

    it('never calls a listener inside the call that learned something', async () => {
      kafka.topics.set('a', partitions(1));
      await make().start();
      directory.suspect('a');
      directory.watch('a');
      directory.partitions('a');
      expect(changes).toEqual([]);
      await settle();
      expect(changes).toEqual(['a']);
    });
  });

  describe('when a topic does not exist', () => {
    it('says so in problem(), and still learns the other topics of the same request', async () => {
      kafka.topics.set('a', partitions(1));
      kafka.topics.set('c', partitions(1));
      await make().start();
      for (const topic of ['a', 'gone', 'c']) directory.partitions(topic);
      await settle();
      expect(directory.problem('gone')).toBe('kafka topic "gone" does not exist: create it, or set allowAutoTopicCreation on the connector');
      expect(directory.partitions('gone')).toBeUndefined();
      expect(directory.partitions('a')).toHaveLength(1);
      expect(directory.partitions('c')).toHaveLength(1);
      expect(directory.problem('a')).toBeUndefined();
      expect(kafka.requests[0]).toEqual(['a', 'gone', 'c']);
    });

    it('fires onChange at the first probe after the topic is created', async () => {
      await make().start();
      directory.partitions('late');
      await settle();
      changes.length = 0;
      await probe();
      expect(changes).toEqual([]);
      kafka.topics.set('late', partitions(2));
      await probe();
      expect(changes).toEqual(['late']);
      expect(directory.partitions('late')).toHaveLength(2);
      expect(directory.problem('late')).toBeUndefined();
    });

    it('asks about known-missing topics alone and in turns, so many of them do not flood Kafka', async () => {
      await make().start();
      for (let i = 0; i < 20; i++) directory.partitions(`gone-${i}`);
      await settle();
      // the first request fails whole; halving it finds each missing topic (16 requests a round at most)
      for (let i = 0; i < 3; i++) await probe();
      for (let i = 0; i < 20; i++) expect(directory.problem(`gone-${i}`)).toMatch(/does not exist/);
      kafka.requests.length = 0;
      await probe();
      expect(kafka.requests).toHaveLength(8);
      expect(kafka.requests.every((request) => request.length === 1)).toBe(true);
      const asked = new Set(kafka.requests.flat());
      kafka.requests.length = 0;
      await probe();
      await probe();
      for (const request of kafka.requests) asked.add(request[0] as string);
      expect(asked.size).toBe(20);
    });

    it('forgets a topic deleted under it, so new records wait instead of going to a void', async () => {
      kafka.topics.set('t', partitions(1));
      await make({ refreshInterval: 500 }).start();
      directory.partitions('t');
      await settle();
      kafka.topics.delete('t');
      changes.length = 0;
      await probe();
      expect(directory.partitions('t')).toBeUndefined();
      expect(directory.problem('t')).toMatch(/does not exist/);
      expect(changes).toEqual(['t']);
    });

    it('tells onVanished listeners when a topic it knew was deleted, not when a topic was never there', async () => {
      kafka.topics.set('t', partitions(1));
      await make().start();
      const vanished: string[] = [];
      directory.onVanished((topic) => vanished.push(topic));
      directory.partitions('t');
      directory.partitions('never');
      await settle();
      kafka.topics.delete('t');
      directory.refreshSoon();
      await settle();
      expect(vanished).toEqual(['t']);
      expect(directory.partitions('t')).toBeUndefined();
    });

    it('with allowAutoTopicCreation, lets Kafka create it and learns it', async () => {
      await make({ allowAutoTopicCreation: true }).start();
      directory.partitions('auto');
      await settle();
      expect(kafka.created).toEqual(['auto']);
      expect(directory.partitions('auto')).toHaveLength(1);
      expect(changes).toContain('auto');
    });

    it('with allowAutoTopicCreation, says when the broker did not create it, and asks again only now and then', async () => {
      kafka.brokerCreates = false;
      await make({ allowAutoTopicCreation: true }).start();
      directory.partitions('auto');
      await settle();
      expect(directory.problem('auto')).toMatch(/^kafka topic "auto" does not exist and Kafka did not create it \(allowAutoTopicCreation is on/);
      for (let i = 0; i < 10; i++) await probe();
      expect(kafka.created).toEqual(['auto']);
    });
  });

  describe('when Kafka does not answer', () => {
    it('keeps known partitions, probes a suspect topic, and fires onChange when Kafka answers again', async () => {
      kafka.topics.set('t', partitions(2));
      await make().start();
      directory.partitions('t');
      await settle();
      kafka.down = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092');
      directory.suspect('t');
      changes.length = 0;
      await probe();
      await probe();
      expect(directory.partitions('t')).toHaveLength(2);
      expect(changes).toEqual([]);
      kafka.down = undefined;
      const before = kafka.requests.length;
      await probe();
      expect(kafka.requests.length).toBe(before + 1);
      expect(changes).toEqual(['t']);
      await probe();
      expect(kafka.requests.length).toBe(before + 1);
    });

    it('says why an unknown topic has no partitions', async () => {
      kafka.down = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092');
      await make().start();
      directory.partitions('t');
      await settle();
      expect(directory.problem('t')).toBe('Kafka did not answer a metadata request for topic "t": KafkaJSConnectionError: Connection error: connect ECONNREFUSED 127.0.0.1:19092');
      kafka.down = undefined;
      kafka.topics.set('t', partitions(1));
      await probe();
      expect(changes).toEqual(['t']);
      expect(directory.problem('t')).toBeUndefined();
    });
  });

  describe('refresh', () => {
    it('fetches known topics again every refreshInterval and fires onChange when partitions changed', async () => {
      kafka.topics.set('t', partitions(1));
      await make({ refreshInterval: 1_000 }).start();
      directory.partitions('t');
      await settle();
      kafka.requests.length = 0;
      changes.length = 0;
      kafka.topics.set('t', partitions(3));
      await probe();
      expect(kafka.requests).toEqual([]);
      await probe();
      expect(kafka.requests).toEqual([['t']]);
      expect(changes).toEqual(['t']);
      expect(directory.partitions('t')).toHaveLength(3);
    });
  });

  describe('hostile topic names', () => {
    it('never remembers or asks about a name Kafka cannot have, and quotes it short', async () => {
      await make().start();
      const name = `bad/${'x'.repeat(10_000)}\n`;
      expect(directory.partitions(name)).toBeUndefined();
      await settle();
      expect(kafka.requests).toEqual([]);
      expect(directory.size).toBe(0);
      const problem = directory.problem(name) as string;
      expect(problem).toMatch(/^"bad\/x+…" is not a valid Kafka topic name/);
      expect(problem.length).toBeLessThan(200);
    });

    it('remembers at most maxTopics, forgetting those not asked about since the last probe first', async () => {
      await make({ maxTopics: 10 }).start();
      for (let i = 0; i < 15; i++) directory.partitions(`t-${i}`);
      expect(directory.size).toBe(10);
      expect(directory.problem('t-14')).toBe('kafka topic "t-14" is not looked up: the connector already tracks 10 topics in use');
      await settle();
      await probe();
      await probe();
      directory.partitions('t-0');
      for (let i = 20; i < 25; i++) directory.partitions(`t-${i}`);
      expect(directory.size).toBeLessThanOrEqual(10);
      expect(directory.partitions('t-0')).toBeUndefined();
      expect(directory.problem('t-0')).toMatch(/does not exist/);
      expect(directory.problem('t-20')).toBeUndefined();
    });

    it('forgets a missing topic nobody asked about for a minute, and fires onChange so a holder of its records asks again', async () => {
      await make().start();
      directory.partitions('gone');
      await settle();
      changes.length = 0;
      for (let i = 0; i < 140; i++) await probe();
      expect(directory.size).toBe(0);
      expect(changes).toEqual(['gone']);
    });

    it('forgets a known topic nobody asked about for 10 minutes, with onChange, and learns it again when asked', async () => {
      kafka.topics.set('t', partitions(1));
      await make().start();
      directory.partitions('t');
      await settle();
      changes.length = 0;
      for (let i = 0; i < 1_220; i++) await probe();
      expect(directory.size).toBe(0);
      expect(changes).toEqual(['t']);
      expect(directory.partitions('t')).toBeUndefined();
      await settle();
      expect(directory.partitions('t')).toHaveLength(1);
    });

    it('keeps a watched topic however long nobody asks, and beyond maxTopics', async () => {
      await make({ maxTopics: 2 }).start();
      directory.partitions('a');
      directory.partitions('b');
      const unwatch = directory.watch('mine');
      await settle();
      expect(directory.problem('mine')).toMatch(/^kafka topic "mine" does not exist/);
      for (let i = 0; i < 140; i++) await probe();
      expect(directory.problem('mine')).toMatch(/does not exist/);
      unwatch();
      for (let i = 0; i < 140; i++) await probe();
      expect(directory.size).toBe(0);
    });
  });

  describe('.close', () => {
    it('stops probing and closes the source', async () => {
      await make().start();
      directory.partitions('gone');
      await settle();
      await directory.close();
      const before = kafka.requests.length;
      await probe();
      expect(kafka.requests.length).toBe(before);
      expect(kafka.closed).toBe(true);
    });
  });
});

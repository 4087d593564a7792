import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError, silentLogger } from '@sluice/core';
import { actionContext } from '../test/fixtures/fake-templates';
import { FakeProducer, turn } from '../test/fixtures/fake-producer';
import { mqttMessage } from '../test/fixtures/messages';
import type { KafkaAction } from './kafka-action';
import { bufferDirName } from './buffer-dir';
import { KafkaConnector } from './kafka-connector';
import { FakeTopicDirectory } from './testing/fake-topic-directory';
import { parseKafkaActionSettings, parseKafkaConnectorConfig } from './kafka-connector-config';
import { heldInMemory } from './record-renderer';

const config = parseKafkaConnectorConfig({ id: 'upstash', bootstrapHosts: '127.0.0.1:1' });

/** Tracks which sends have settled, without awaiting them. */
function track(promises: ReadonlyArray<Promise<unknown>>): boolean[] {
  const done = promises.map(() => false);
  promises.forEach((promise, i) => void promise.then(() => { done[i] = true; }, () => { done[i] = true; }));
  return done;
}

describe('a KafkaAction with a hybrid buffer', () => {
  let dir: string;
  let connectors: KafkaConnector[];
  let drops: Array<[number, string]>;
  /** Heap estimate of one record `{ n }` with n < 10 under the settings below: what `limit` (memory) counts. */
  let recordBytes: number;
  /** Its wire-size estimate: what `diskLimit` counts of a record spilled to disk. */
  let diskBytes: number;

  const newConnector = (producer: FakeProducer, directory = new FakeTopicDirectory(1)): KafkaConnector => {
    const connector = new KafkaConnector(config, producer, silentLogger, undefined, directory);
    connectors.push(connector);
    return connector;
  };
  const hybrid = (connector: KafkaConnector, buffer: object): KafkaAction => connector.createAction(
    { topic: 't', key: '', value: '${n}', maxInflight: 1, buffer: { mode: 'hybrid', dir, ...buffer } },
    actionContext('r:k', (count, reason) => drops.push([count, reason])),
  );
  /** A hybrid action whose topic is the record's own `t` (a templated topic). */
  const templated = (connector: KafkaConnector, buffer: object): KafkaAction => connector.createAction(
    { topic: '${t}', key: '', value: '${n}', maxInflight: 1, buffer: { mode: 'hybrid', dir, ...buffer } },
    actionContext('r:k', (count, reason) => drops.push([count, reason])),
  );
  const values = (producer: FakeProducer): string[] => producer.records().map(([, , value]) => String(value));
  const segments = (): string[] => readdirSync(path.join(dir, bufferDirName('r:k'))).filter((name) => name.endsWith('.seg'));
  /** The topics of the records written to the log so far, in order. */
  const loggedTopics = (): string[] => segments().flatMap((segment) => [...readFileSync(path.join(dir, bufferDirName('r:k'), segment), 'utf8').matchAll(/"t":"([^"]*)"/g)].map((match) => match[1] as string));
  /** Answers produce requests as they come until the action holds nothing (records on disk included). */
  const drain = async (producer: FakeProducer, action: KafkaAction): Promise<void> => {
    for (let i = 0; i < 2000 && (action.queued() > 0 || producer.open.length > 0); i += 1) {
      if (producer.open.length > 0) producer.settle();
      else await new Promise((resolve) => setTimeout(resolve, 5)); // a disk write (fdatasync) in progress
      await turn();
    }
    expect(action.queued()).toBe(0);
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-hybrid-'));
    connectors = [];
    drops = [];
    // a memory-mode action against a producer that never answers holds the record: its size is what it counts
    const silent = new FakeProducer();
    silent.manual = true;
    const probe = new KafkaConnector(config, silent, silentLogger, undefined, new FakeTopicDirectory(1)).createAction({ topic: 't', key: '', value: '${n}' }, actionContext('probe'));
    void probe.send({ n: 0 }, mqttMessage());
    recordBytes = probe.queuedBytes();
    diskBytes = recordBytes - heldInMemory(0, mqttMessage());
  });

  afterEach(async () => {
    await Promise.all(connectors.map((connector) => connector.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps records in memory while they fit: the send resolves on Kafka\'s ack and nothing is written', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const action = hybrid(newConnector(producer), { limit: 10 * recordBytes });
    const done = track([action.send({ n: 1 }, mqttMessage())]);
    await turn();
    await turn();
    expect(done).toEqual([false]);
    expect(segments()).toEqual([]);
    producer.settle();
    await turn();
    expect(done).toEqual([true]);
  });

  it('spills to disk when memory is full, writing what memory holds too, so every send resolves once on disk', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const action = hybrid(newConnector(producer), { limit: 2 * recordBytes });
    const sends = [1, 2, 3, 4, 5, 6].map((n) => action.send({ n }, mqttMessage()));
    // the two in memory are written as well when spilling starts: an unacknowledged message at the head
    // would hold back the MQTT acknowledgements of all the others, which go out in order
    expect(await Promise.all(sends)).toEqual(Array(6).fill(undefined));
    expect(producer.open).toHaveLength(1); // Kafka has answered nothing yet
    expect(segments()).toHaveLength(1);
    expect(action.queued()).toBe(6);
    // the two in memory at their heap estimate, the four spilled at their size on disk
    expect(action.queuedBytes()).toBe(2 * recordBytes + 4 * diskBytes);
    producer.settle(); // memory frees: the oldest records on disk move in
    await turn();
    await turn();
    // memory has room now, but records wait on disk: a new one queues behind them
    await action.send({ n: 7 }, mqttMessage());
    await drain(producer, action);
    // each once: the records written while in memory are not read back from disk and sent again
    expect(values(producer)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(action.queued()).toBe(0);
    expect(drops).toEqual([]);
  });

  it('when the disk part is full too, back-pressure holds the send until room frees', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const action = hybrid(newConnector(producer), { limit: recordBytes, diskLimit: 2 * diskBytes });
    const sends = [1, 2, 3, 4].map((n) => action.send({ n }, mqttMessage()));
    const done = track(sends);
    await Promise.all(sends.slice(0, 3));
    await turn();
    expect(done).toEqual([true, true, true, false]);
    await drain(producer, action);
    await Promise.all(sends);
    expect(values(producer)).toEqual(['1', '2', '3', '4']);
    expect(drops).toEqual([]);
  });

  it("with overflow 'drop_newest', drops what fits neither in memory nor on disk, counted queue_full", async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const action = hybrid(newConnector(producer), { limit: recordBytes, diskLimit: 2 * diskBytes, overflow: 'drop_newest' });
    const sends = [1, 2, 3, 4, 5].map((n) => action.send({ n }, mqttMessage()));
    expect(await Promise.all(sends.slice(1))).toEqual([undefined, undefined, { dropped: 'queue_full' }, { dropped: 'queue_full' }]);
    expect(drops).toEqual([]);
    await drain(producer, action);
    await sends[0];
    expect(values(producer)).toEqual(['1', '2', '3']);
  });

  it('records still on disk when the action stops, those held in memory included, are sent first by the next run', async () => {
    const away = new FakeProducer();
    away.manual = true;
    const first = newConnector(away);
    const action = hybrid(first, { limit: recordBytes });
    const sends = [1, 2, 3].map((n) => action.send({ n }, mqttMessage()));
    expect(await Promise.all(sends)).toEqual([undefined, undefined, undefined]); // all on disk
    away.settle(Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError' }));
    await turn();
    await first.stop();

    const back = new FakeProducer();
    const second = newConnector(back);
    const again = hybrid(second, { limit: 10 * recordBytes });
    await second.start(new AbortController().signal);
    await again.send({ n: 4 }, mqttMessage());
    await turn();
    expect(values(back)).toEqual(['1', '2', '3', '4']);
    expect(again.queued()).toBe(0);
  });

  it("shows the connector as 'buffering' (not 'connecting') while Kafka is away and records go to disk", async () => {
    const producer = new FakeProducer();
    const connector = newConnector(producer);
    await connector.start(new AbortController().signal);
    const action = hybrid(connector, { limit: recordBytes });
    producer.failure = () => Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError' });
    const first = action.send({ n: 1 }, mqttMessage()).catch(() => undefined);
    await action.send({ n: 2 }, mqttMessage()); // on disk: acknowledged although Kafka is away
    for (let i = 0; i < 3; i += 1) await turn();
    expect(connector.status()).toEqual({ state: 'buffering', reason: expect.stringMatching(/Connection closed.*; records are kept in the disk buffer of 1 action$/) });
    producer.failure = undefined;
    await drain(producer, action);
    await first;
    expect(connector.status()).toEqual({ state: 'connected' });
  });

  it('a failed disk write fails those sends as retriable and does not hold the log back afterwards', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const action = hybrid(newConnector(producer), { limit: recordBytes, segmentBytes: 1 });
    const disk = (action as unknown as { hybrid: { disk: { write: (...args: unknown[]) => Promise<void> } } }).hybrid.disk;
    const write = disk.write.bind(disk);
    let failures = 1;
    disk.write = (...args) => (failures-- > 0 ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })) : write(...args));
    const outcome = (n: number): Promise<string> => action.send({ n }, mqttMessage()).then(() => 'stored', (error: Error) => error.message);
    // 1 was in memory, 2 and 3 spilled: all three were in the one write that failed, so their sends fail
    // (retriable: the MQTT broker keeps the messages) ...
    expect(await Promise.all([1, 2, 3].map(outcome))).toEqual(Array(3).fill(expect.stringContaining('could not write the disk buffer: ENOSPC')));
    // ... and the next record goes to a new segment and is stored
    expect(await outcome(4)).toBe('stored');
    await drain(producer, action);
    await action.close();
    expect(readFileSync(path.join(dir, bufferDirName('r:k'), 'committed'), 'utf8')).toBe('4'); // nothing left to send again
    expect(segments()).toEqual([]);
  });

  it('goes to disk as soon as Kafka fails, not only once memory is full (a source window is much smaller)', async () => {
    const producer = new FakeProducer();
    const connector = newConnector(producer);
    await connector.start(new AbortController().signal);
    const action = hybrid(connector, {}); // the default limit: 256MB, far more than 20 messages
    producer.failure = () => Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError' });
    // a source with a window of 20 sends no 21st message until one of these is acknowledged
    const sends = Array.from({ length: 20 }, (_, n) => action.send({ n }, mqttMessage()));
    expect(await Promise.all(sends)).toEqual(Array(20).fill(undefined)); // all on disk, though Kafka has none
    expect(segments().length).toBeGreaterThan(0);
    expect(connector.status().state).toBe('buffering');
    await action.send({ n: 20 }, mqttMessage()); // new records follow them to disk while Kafka fails
    producer.failure = undefined;
    await drain(producer, action);
    const stored = values(producer);
    expect([...new Set(stored)].map(Number)).toEqual(Array.from({ length: 21 }, (_, n) => n)); // all, in order
    expect(connector.status()).toEqual({ state: 'connected' });
  });

  it('skips a damaged record on disk, counted dropped.other, and sends the ones around it', async () => {
    const producer = new FakeProducer();
    const connector = newConnector(producer);
    await connector.start(new AbortController().signal);
    const action = hybrid(connector, { limit: recordBytes });
    producer.manual = true;
    const first = action.send({ n: 0 }, mqttMessage()); // in flight, unanswered: memory is full
    // spilled: on disk only. 2 and 3 in a later write than 1: the reader, waiting with 1 for room, has not read
    // them ahead yet, so the damage below is what it reads
    await action.send({ n: 1 }, mqttMessage());
    await Promise.all([2, 3].map((n) => action.send({ n }, mqttMessage())));
    // damage record 2's frame in place (same length): its JSON no longer parses
    const [segment] = segments();
    const file = path.join(dir, bufferDirName('r:k'), segment as string);
    const data = readFileSync(file);
    const at = data.indexOf('{"s":2,');
    expect(at).toBeGreaterThan(0);
    data[at] = 0x21;
    writeFileSync(file, data);
    await drain(producer, action);
    await first;
    expect(values(producer)).toEqual(['0', '1', '3']);
    expect(drops).toEqual([[1, 'other']]);
    // the damaged frame's bytes went with it: nothing spilled is left, so nothing is counted queuing
    expect(action.queued()).toBe(0);
    expect(action.queuedBytes()).toBe(0);
  });

  it("writes a missing topic's records to disk as they come (their sends resolve) and keeps the other topics in memory", async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const directory = new FakeTopicDirectory(1);
    directory.deleteTopic('gone');
    const action = templated(newConnector(producer, directory), {});
    const sends = [['gone', 1], ['ok', 2], ['gone', 3], ['ok', 4]].map(([t, n]) => action.send({ t, n }, mqttMessage()));
    const done = track(sends);
    for (let i = 0; i < 20 && !(done[0] && done[2]); i += 1) await new Promise((resolve) => setTimeout(resolve, 5)); // fdatasync
    // the missing topic's messages may be acknowledged (on disk); the healthy topic's wait for Kafka as in memory mode
    expect(done).toEqual([true, false, true, false]);
    expect(loggedTopics()).toEqual(['gone', 'gone']);
    producer.settle();
    await turn();
    await turn();
    expect(done).toEqual([true, true, true, true]); // 2 and 4 went in one request
    directory.createTopic('gone', 1);
    await drain(producer, action);
    expect(await Promise.all(sends)).toEqual(Array(4).fill(undefined));
    // each once: the two written while they waited are not read back from disk and sent again
    expect(producer.records().map(([topic, , value]) => `${topic}:${String(value)}`).sort()).toEqual(['gone:1', 'gone:3', 'ok:2', 'ok:4']);
    expect(drops).toEqual([]);
  });

  it('a topic whose partition Kafka fails goes to disk, what memory held of it included; the other topics do not', async () => {
    const producer = new FakeProducer();
    const connector = newConnector(producer);
    await connector.start(new AbortController().signal);
    const action = templated(connector, {});
    producer.failure = (batch) => (batch.topicMessages?.[0]?.topic === 'bad' ? Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionClosedError' }) : undefined);
    await action.send({ t: 'bad', n: 1 }, mqttMessage()); // Kafka fails it: written to disk, its send resolves
    await action.send({ t: 'ok', n: 2 }, mqttMessage()); // resolved by Kafka's ack
    await action.send({ t: 'bad', n: 3 }, mqttMessage()); // the topic is failing: written as it comes
    await action.send({ t: 'ok', n: 4 }, mqttMessage());
    expect(loggedTopics()).toEqual(['bad', 'bad']);
    expect(values(producer).filter((value) => value === '2' || value === '4')).toEqual(['2', '4']);
    producer.failure = undefined;
    await drain(producer, action);
    const stored = producer.records().filter(([topic]) => topic === 'bad').map(([, , value]) => String(value));
    expect([...new Set(stored)]).toEqual(['1', '3']); // in order (1 may have gone more than once: it was retried)
  });

  it('a spill after records of a blocked topic were written reads back only what spilled: each record is sent once', async () => {
    const producer = new FakeProducer();
    producer.manual = true;
    const directory = new FakeTopicDirectory(1);
    directory.deleteTopic('gone');
    const action = templated(newConnector(producer, directory), { limit: 2 * recordBytes });
    const sends = [['gone', 1], ['ok', 2], ['ok', 3], ['ok', 4]].map(([t, n]) => action.send({ t, n }, mqttMessage()));
    // 1 (written, in memory) and 2 fill memory; 3 and 4 spill, and 2 is written when the spill begins
    expect(await Promise.all(sends)).toEqual(Array(4).fill(undefined));
    expect(loggedTopics()).toEqual(['gone', 'ok', 'ok', 'ok']);
    directory.createTopic('gone', 1);
    await drain(producer, action);
    expect(producer.records().map(([topic, , value]) => `${topic}:${String(value)}`).sort()).toEqual(['gone:1', 'ok:2', 'ok:3', 'ok:4']);
    expect(values(producer).filter((value) => value !== '1')).toEqual(['2', '3', '4']);
  });

  describe("parking: a blocked topic's records on disk only", () => {
    /** `topic:value` of what Kafka stored, in the order it stored them. */
    const stored = (producer: FakeProducer): string[] => producer.records().map(([topic, , value]) => `${topic}:${String(value)}`);
    /** A started connector whose directory has no topic 'gone' (Kafka says it does not exist); every other topic exists. */
    const withGoneMissing = async (): Promise<{ producer: FakeProducer; directory: FakeTopicDirectory; connector: KafkaConnector }> => {
      const producer = new FakeProducer();
      const directory = new FakeTopicDirectory(1);
      directory.deleteTopic('gone');
      const connector = newConnector(producer, directory);
      await connector.start(new AbortController().signal);
      return { producer, directory, connector };
    };
    /** Waits for the sends to resolve (each fdatasync'd). */
    const written = (sends: ReadonlyArray<Promise<unknown>>): Promise<unknown> => Promise.all(sends);

    it('takes no memory for them: with room for 3 records in memory, 50 of a missing topic wait while the other topic stays in memory', async () => {
      const producer = new FakeProducer();
      producer.manual = true;
      const directory = new FakeTopicDirectory(1);
      directory.deleteTopic('gone');
      const action = templated(newConnector(producer, directory), { limit: 3 * recordBytes });
      await written(Array.from({ length: 50 }, (_, n) => action.send({ t: 'gone', n: n % 10 }, mqttMessage()))); // one digit: each diskBytes
      const ok = track([action.send({ t: 'ok', n: 1 }, mqttMessage()), action.send({ t: 'ok', n: 2 }, mqttMessage())]);
      await turn();
      expect(action.queuedBytes()).toBe(50 * diskBytes + 2 * recordBytes); // the parked at their size on disk, the others at their heap estimate
      expect(loggedTopics()).toEqual(Array(50).fill('gone')); // nothing spilled: the healthy topic is not written
      producer.settle();
      await turn();
      expect(ok).toEqual([true, true]);
      expect(stored(producer)).toEqual(['ok:1', 'ok:2']);
    });

    it('reads them back in order once the topic exists, behind them the records that came meanwhile; each once, none dropped', async () => {
      const { producer, directory, connector } = await withGoneMissing();
      const action = templated(connector, { limit: 100 * recordBytes });
      // more than one turn of reading back (512), and more than memory holds (100): read back as room frees
      const count = 1200;
      await written(Array.from({ length: count }, (_, n) => action.send({ t: 'gone', n }, mqttMessage())));
      expect(stored(producer)).toEqual([]);
      directory.createTopic('gone', 1);
      const later = [count, count + 1].map((n) => action.send({ t: 'gone', n }, mqttMessage()));
      await drain(producer, action);
      await written(later);
      expect(stored(producer)).toEqual(Array.from({ length: count + 2 }, (_, n) => `gone:${n}`));
      expect(drops).toEqual([]);
    });

    it('reads them back once the topic exists even when nothing tells the buffer (no notice from the directory, no other traffic)', async () => {
      const { producer, directory, connector } = await withGoneMissing();
      const action = templated(connector, {});
      await written([1, 2].map((n) => action.send({ t: 'gone', n }, mqttMessage())));
      directory.change = () => undefined; // a directory that has forgotten the topic tells nobody it came
      directory.createTopic('gone', 1);
      for (let i = 0; i < 60 && stored(producer).length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stored(producer)).toEqual(['gone:1', 'gone:2']); // by the buffer's own check, once a second
      expect(action.queued()).toBe(0);
    });

    it('counts them against diskLimit: past it, drop_newest drops the blocked topic\'s new records while the others go on', async () => {
      const { producer, directory, connector } = await withGoneMissing();
      const action = templated(connector, { diskLimit: 2 * diskBytes, overflow: 'drop_newest' });
      const results = await Promise.all([1, 2, 3].map((n) => action.send({ t: 'gone', n }, mqttMessage())));
      expect(results).toEqual([undefined, undefined, { dropped: 'queue_full' }]);
      await action.send({ t: 'ok', n: 4 }, mqttMessage());
      expect(stored(producer)).toEqual(['ok:4']);
      directory.createTopic('gone', 1);
      await drain(producer, action);
      expect(stored(producer)).toEqual(['ok:4', 'gone:1', 'gone:2']);
    });

    it('drops, counted expired, those parked longer than maxBatchAge when the topic comes back', async () => {
      const { producer, directory, connector } = await withGoneMissing();
      const action = templated(connector, { maxBatchAge: 40 });
      await written([1, 2].map((n) => action.send({ t: 'gone', n }, mqttMessage())));
      await new Promise((resolve) => setTimeout(resolve, 80));
      await action.send({ t: 'gone', n: 3 }, mqttMessage());
      directory.createTopic('gone', 1);
      await drain(producer, action);
      expect(stored(producer)).toEqual(['gone:3']);
      expect(drops).toEqual([[1, 'expired'], [1, 'expired']]);
    });

    it('drops those parked longer than maxBatchAge while the topic stays away, which frees diskLimit for the rest', async () => {
      const { producer, connector } = await withGoneMissing();
      // room on disk for two: with overflow backpressure, a third would hold every send behind it
      const action = templated(connector, { maxBatchAge: 200, diskLimit: 2 * diskBytes });
      await written([1, 2].map((n) => action.send({ t: 'gone', n }, mqttMessage())));
      expect(action.queued()).toBe(2);
      // the buffer's own check, once a second, finds them too old though 'gone' never comes
      for (let i = 0; i < 50 && drops.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(drops).toEqual([[1, 'expired'], [1, 'expired']]);
      expect(action.queued()).toBe(0);
      expect(action.queuedBytes()).toBe(0);
      // the disk has room again: a new record of the missing topic is parked, and the other topics go
      await written([action.send({ t: 'gone', n: 3 }, mqttMessage()), action.send({ t: 'ok', n: 4 }, mqttMessage())]);
      expect(action.queued()).toBe(1);
      expect(stored(producer)).toEqual(['ok:4']);
    });

    it('are kept with the log: an action replaced by a config change leaves them to its replacement, which sends them first', async () => {
      const { producer, directory, connector } = await withGoneMissing();
      const old = templated(connector, {});
      await written([1, 2].map((n) => old.send({ t: 'gone', n }, mqttMessage())));
      const replacement = templated(connector, {});
      await old.close();
      const third = replacement.send({ t: 'gone', n: 3 }, mqttMessage()); // parked behind the old version's
      directory.createTopic('gone', 1);
      await drain(producer, replacement);
      await third;
      expect(stored(producer)).toEqual(['gone:1', 'gone:2', 'gone:3']);
    });

    it('records the old version parked after its replacement opened are read back by the replacement, with nothing else happening', async () => {
      const { producer, directory, connector } = await withGoneMissing();
      const old = templated(connector, {});
      const replacement = templated(connector, {}); // opened while nothing is parked yet
      await written([1, 2].map((n) => old.send({ t: 'gone', n }, mqttMessage()))); // sends still reaching the old version
      await old.close();
      directory.change = () => undefined; // no notice: only the once-a-second check can find the topic
      directory.createTopic('gone', 1);
      for (let i = 0; i < 60 && stored(producer).length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stored(producer)).toEqual(['gone:1', 'gone:2']);
      expect(replacement.queued()).toBe(0);
    });

    it('after a restart, parks the records an earlier run left of a topic still missing instead of filling memory with them', async () => {
      const firstDirectory = new FakeTopicDirectory(1);
      firstDirectory.deleteTopic('gone');
      const first = newConnector(new FakeProducer(), firstDirectory);
      await first.start(new AbortController().signal);
      const before = templated(first, {});
      await written(Array.from({ length: 20 }, (_, n) => before.send({ t: 'gone', n: n % 10 }, mqttMessage())));
      await first.stop();

      const producer = new FakeProducer();
      const directory = new FakeTopicDirectory(1);
      directory.deleteTopic('gone');
      const second = newConnector(producer, directory);
      const action = templated(second, { limit: 3 * recordBytes });
      await second.start(new AbortController().signal);
      for (let i = 0; i < 20 && action.queuedBytes() !== 20 * diskBytes; i += 1) await turn();
      expect(action.queuedBytes()).toBe(20 * diskBytes); // parked where they lie: none of the 3 records memory holds
      await action.send({ t: 'ok', n: 1 }, mqttMessage()); // memory is free for the other topics
      expect(stored(producer)).toEqual(['ok:1']);
      directory.createTopic('gone', 1);
      await drain(producer, action);
      expect(stored(producer)).toEqual(['ok:1', ...Array.from({ length: 20 }, (_, n) => `gone:${n % 10}`)]);
      expect(drops).toEqual([]);
    });

    it('after a restart, parks every topic\'s leftovers until its lookup answers: one found missing then does not hold up the others', async () => {
      const firstDirectory = new FakeTopicDirectory(1);
      firstDirectory.deleteTopic('gone');
      firstDirectory.deleteTopic('ok');
      const first = newConnector(new FakeProducer(), firstDirectory);
      await first.start(new AbortController().signal);
      const before = templated(first, {});
      await written([
        ...Array.from({ length: 20 }, (_, n) => before.send({ t: 'gone', n: n % 10 }, mqttMessage())),
        ...[1, 2, 3].map((n) => before.send({ t: 'ok', n }, mqttMessage())),
      ]);
      await first.stop();

      // as the connector's directory: nothing known of a topic, and no problem either, until its lookup answers
      const producer = new FakeProducer();
      const directory = new FakeTopicDirectory(1);
      const lookups = new Set<string>();
      const partitions = directory.partitions.bind(directory);
      const problem = directory.problem.bind(directory);
      directory.partitions = (topic) => (lookups.has(topic) ? partitions(topic) : undefined);
      directory.problem = (topic) => (lookups.has(topic) ? problem(topic) : undefined);
      directory.deleteTopic('gone');
      const second = newConnector(producer, directory);
      const action = templated(second, { limit: 3 * recordBytes }); // room for 3 records: far fewer than gone's 20
      await second.start(new AbortController().signal);
      for (let i = 0; i < 10; i += 1) await turn();
      expect(stored(producer)).toEqual([]);
      expect(action.queuedBytes()).toBe(20 * diskBytes + 3 * diskBytes); // all parked where they lie
      lookups.add('gone');
      directory.change('gone'); // missing
      lookups.add('ok');
      directory.createTopic('ok', 1);
      for (let i = 0; i < 40 && stored(producer).length < 3; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(stored(producer)).toEqual(['ok:1', 'ok:2', 'ok:3']);
      await action.send({ t: 'ok', n: 4 }, mqttMessage());
      expect(stored(producer)).toEqual(['ok:1', 'ok:2', 'ok:3', 'ok:4']);
      directory.createTopic('gone', 1);
      await drain(producer, action);
      expect(stored(producer).slice(4)).toEqual(Array.from({ length: 20 }, (_, n) => `gone:${n % 10}`));
    });

    it('records that spilled behind a parked topic\'s are parked again by the reader, in order', async () => {
      const producer = new FakeProducer();
      producer.manual = true;
      const directory = new FakeTopicDirectory(1);
      directory.deleteTopic('gone');
      const action = templated(newConnector(producer, directory), { limit: 2 * recordBytes });
      await written([1, 2].map((n) => action.send({ t: 'gone', n }, mqttMessage()))); // parked
      const ok = [3, 4].map((n) => action.send({ t: 'ok', n }, mqttMessage())); // memory full
      await written([action.send({ t: 'ok', n: 5 }, mqttMessage()), action.send({ t: 'gone', n: 6 }, mqttMessage()), action.send({ t: 'ok', n: 7 }, mqttMessage())]); // spilled
      await written(ok); // written when the spill began
      directory.createTopic('gone', 1);
      await drain(producer, action);
      const gone = stored(producer).filter((record) => record.startsWith('gone'));
      expect(gone).toEqual(['gone:1', 'gone:2', 'gone:6']);
      expect(stored(producer).filter((record) => record.startsWith('ok'))).toEqual(['ok:3', 'ok:4', 'ok:5', 'ok:7']);
    });

    it('leaves them on disk when the action stops: the next run sends them', async () => {
      const directory = new FakeTopicDirectory(1);
      directory.deleteTopic('gone');
      const first = newConnector(new FakeProducer(), directory);
      await first.start(new AbortController().signal);
      const action = templated(first, {});
      await written([1, 2].map((n) => action.send({ t: 'gone', n }, mqttMessage())));
      await first.stop();

      const back = new FakeProducer();
      const second = newConnector(back, new FakeTopicDirectory(1));
      const again = templated(second, {});
      await second.start(new AbortController().signal);
      await again.send({ t: 'gone', n: 3 }, mqttMessage());
      await drain(back, again);
      expect(stored(back)).toEqual(['gone:1', 'gone:2', 'gone:3']);
    });
  });

  it('needs a directory, and refuses drop_oldest', () => {
    const issues = (buffer: object): string[] => {
      try {
        parseKafkaActionSettings({ topic: 't', buffer: { mode: 'hybrid', ...buffer } }, 'r:k');
      } catch (error) {
        if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
        throw error;
      }
      return [];
    };
    expect(issues({})).toEqual(['buffer.dir: a hybrid buffer needs a directory']);
    expect(issues({ dir, overflow: 'drop_oldest' })).toEqual([expect.stringMatching(/^buffer\.overflow: must be 'backpressure' or 'drop_newest'/)]);
    expect(issues({ dir, diskLimit: '2GB' })).toEqual([]);
  });
});

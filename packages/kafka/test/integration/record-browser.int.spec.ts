import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type BrowsedRecord, type RecordBrowser, silentLogger } from '@sluice/core';
import { createTopic, deleteTopic, kafkaBroker, kafkaConfig, randomName } from '@sluice/testkit';
import { type Admin, Kafka, type Producer } from 'kafkajs';
import { createKafkaProducer, KafkaConnector } from '../../src/kafka-connector';
import { type KafkaConnectorOptions, parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { KafkaRecordBrowser } from '../../src/record-browser';

const broker = kafkaBroker();

/** What the test wrote, as the browser should give it back. */
interface Written {
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer>;
}

const asPlain = (record: BrowsedRecord | Written): Written => ({
  partition: record.partition,
  offset: record.offset,
  timestamp: record.timestamp,
  key: record.key,
  value: record.value,
  headers: { ...record.headers },
});

describe('KafkaRecordBrowser against a real broker', () => {
  let admin: Admin;
  let producer: Producer;
  let topic: string;
  let connectors: KafkaConnector[];
  let browsers: KafkaRecordBrowser[];
  const topics: string[] = [];

  function browserOf(options: Partial<KafkaConnectorOptions> = {}): RecordBrowser {
    const config = parseKafkaConnectorConfig({
      id: 'browse-it', bootstrapHosts: broker.bootstrap, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 }, ...options,
    } as KafkaConnectorOptions);
    const connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
    connectors.push(connector);
    return connector.browser();
  }

  /**
   * `use` with a connector's browser; the connector stops before the test ends. Its consumers leave their
   * groups in the background, and kafkajs loads the LeaveGroup request's module only then: jest refuses a
   * require between a test and its afterEach, and the group would be left with its member.
   */
  async function withBrowser<T>(use: (browser: RecordBrowser) => Promise<T>, options: Partial<KafkaConnectorOptions> = {}): Promise<T> {
    const browser = browserOf(options);
    try {
      return await use(browser);
    } finally {
      await connectors.at(-1)!.stop();
    }
  }

  async function newTopic(prefix = 'browse-it', partitions = 3): Promise<string> {
    const name = randomName(prefix);
    topics.push(name);
    await createTopic(name, partitions);
    return name;
  }

  /**
   * Writes one record per call to the given partition, with an explicit timestamp, and returns it as
   * written (offset from the broker's answer).
   */
  async function write(partition: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: Record<string, Buffer> = {}): Promise<Written> {
    const [meta] = await producer.send({
      topic, acks: -1, messages: [{ partition, timestamp: String(timestamp), key, value, headers }],
    });
    return { partition, offset: meta!.baseOffset!, timestamp: String(timestamp), key, value, headers };
  }

  /** 12 records over 3 partitions, timestamps interleaved across partitions; values are not UTF-8. */
  async function writeTwelve(): Promise<Written[]> {
    const base = Date.now() - 60_000;
    const written: Written[] = [];
    for (let i = 0; i < 12; i += 1) {
      written.push(await write(
        (i * 2) % 3,
        base + i * 10,
        i === 4 ? null : Buffer.from(`device-${i}`),
        Buffer.from([0xff, 0x00, i, 0x80, 0xc3]),
        { site: Buffer.from('north'), raw: Buffer.from([0xc3, 0x28, i]) },
      ));
    }
    return written;
  }

  /** Consumer groups whose member reads `name` (found through the subscription each member sent). */
  async function groupsReading(name: string): Promise<string[]> {
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith('sluice-browse-'));
    if (ours.length === 0) return [];
    const described = await admin.describeGroups(ours);
    return described.groups
      .filter((g) => g.members.some((m) => m.memberMetadata.toString('latin1').includes(name)))
      .map((g) => g.groupId);
  }

  async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeEach(async () => {
    connectors = [];
    browsers = [];
    topic = await newTopic();
    // clients of its own per test: a kafkajs client keeps asking about every topic it wrote to or asked
    // offsets of, deleted ones too, and then fails every request
    const kafka = new Kafka(kafkaConfig());
    admin = kafka.admin();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterEach(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect(), ...connectors.map((c) => c.stop()), ...browsers.map((b) => b.close())]);
    await Promise.all(topics.splice(0).map((name) => deleteTopic(name).catch(() => undefined)));
  });

  describe('.topics', () => {
    it('lists the topics sorted, without Kafka\'s __ topics and Sluice\'s _sluice- ones', async () => {
      const internal = await newTopic('_sluice-browse-it', 1);
      const other = await newTopic('a-browse-it', 1);
      const names = await withBrowser((browser) => browser.topics());
      expect(names).toEqual(expect.arrayContaining([topic, other]));
      expect(names).not.toContain(internal);
      expect(names.filter((name) => name.startsWith('__') || name.startsWith('_sluice-'))).toEqual([]);
      expect(names).toEqual([...names].sort());
    });
  });

  describe('.latest', () => {
    it('returns exactly the 5 newest records across partitions, oldest first, bytes as stored', async () => {
      const written = await writeTwelve();
      const records = await withBrowser((browser) => browser.latest(topic, 5));
      expect(records.map(asPlain)).toEqual(written.slice(7).map(asPlain));
      expect(records[0]!.value).toEqual(Buffer.from([0xff, 0x00, 7, 0x80, 0xc3]));
      expect(records[0]!.headers['raw']).toEqual(Buffer.from([0xc3, 0x28, 7]));
    });

    it('picks the newest by timestamp, not by offset', async () => {
      const base = Date.now() - 60_000;
      // partition 0's last record is its oldest: the newest two are the two other records
      const first = await write(0, base + 100, Buffer.from('a'), Buffer.from('new-0'));
      await write(0, base, Buffer.from('b'), Buffer.from('old-0'));
      const third = await write(1, base + 50, null, Buffer.from('mid-1'));
      const records = await withBrowser((browser) => browser.latest(topic, 2));
      expect(records.map(asPlain)).toEqual([third, first].map(asPlain));
    });

    it('returns the whole topic, oldest first, when the limit is larger than the topic', async () => {
      const written = await writeTwelve();
      const records = await withBrowser((browser) => browser.latest(topic, 500));
      expect(records.map(asPlain)).toEqual(written.map(asPlain));
      expect(records.find((r) => r.key === null)?.value).toEqual(Buffer.from([0xff, 0x00, 4, 0x80, 0xc3]));
    });

    it('returns nothing for an empty topic', async () => {
      await expect(withBrowser((browser) => browser.latest(topic, 50))).resolves.toEqual([]);
    });

    it('says so when the topic does not exist', async () => {
      const missing = randomName('browse-missing');
      await expect(withBrowser((browser) => browser.latest(missing, 5))).rejects.toThrow(`topic "${missing}" does not exist on the cluster`);
    });

    it('refuses a limit that is not a positive integer', async () => {
      await withBrowser(async (browser) => {
        await expect(browser.latest(topic, 0)).rejects.toThrow(RangeError);
        await expect(browser.latest(topic, 2.5)).rejects.toThrow(RangeError);
      });
    });

    it('rejects with the reason when its signal is aborted', async () => {
      await writeTwelve();
      const controller = new AbortController();
      controller.abort(new Error('client went away'));
      await expect(withBrowser((browser) => browser.latest(topic, 5, controller.signal))).rejects.toThrow('client went away');
    });

    it('reads in a consumer group of its own that it deletes afterwards', async () => {
      const written = await writeTwelve();
      const groupId = randomName('sluice-browse-it');
      const browser = new KafkaRecordBrowser('it', new Kafka(kafkaConfig()), silentLogger, { newGroupId: () => groupId });
      browsers.push(browser);
      expect((await browser.latest(topic, 3)).map(asPlain)).toEqual(written.slice(9).map(asPlain));
      await browser.close();
      const { groups } = await admin.listGroups();
      expect(groups.map((g) => g.groupId)).not.toContain(groupId);
    });

    it('reads up to an open transaction, without waiting for it (read_committed, up to the last stable offset)', async () => {
      const base = Date.now() - 60_000;
      const committed = [
        await write(0, base, Buffer.from('a'), Buffer.from('1')),
        await write(0, base + 1, Buffer.from('b'), Buffer.from('2')),
        await write(1, base + 2, Buffer.from('c'), Buffer.from('3')),
      ];
      // the high watermark moves past an open transaction's record, which a read_committed reader cannot read
      // before the transaction ends: latest() must end at the last stable offset instead
      const transactional = new Kafka(kafkaConfig()).producer({ transactionalId: randomName('browse-tx'), idempotent: true, maxInFlightRequests: 1 });
      await transactional.connect();
      const transaction = await transactional.transaction();
      try {
        await transaction.send({ topic, messages: [{ partition: 0, key: 'open', value: 'uncommitted' }] });
        // read timeout past the test's own: waiting for the transaction fails the test instead of passing late
        const browser = new KafkaRecordBrowser('it', new Kafka(kafkaConfig()), silentLogger, { readTimeout: 120_000 });
        browsers.push(browser);
        expect((await browser.latest(topic, 10)).map(asPlain)).toEqual(committed.map(asPlain));
        await browser.close();
      } finally {
        await transaction.abort();
        await transactional.disconnect();
      }
    }, 30_000);

    it('keeps working after a topic it read is deleted', async () => {
      const groupIds: string[] = [];
      const newGroupId = (): string => groupIds[groupIds.push(randomName('sluice-browse-it')) - 1]!;
      const browser = new KafkaRecordBrowser('it', new Kafka(kafkaConfig()), silentLogger, { newGroupId });
      browsers.push(browser);
      await writeTwelve();
      expect(await browser.latest(topic, 1)).toHaveLength(1);
      await deleteTopic(topic);
      topics.splice(topics.indexOf(topic), 1);
      topic = await newTopic();
      await producer.disconnect(); // it would ask about the deleted topic too
      producer = new Kafka(kafkaConfig()).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const written = await write(1, Date.now(), Buffer.from('k'), Buffer.from('v'));
      expect((await browser.latest(topic, 1)).map(asPlain)).toEqual([asPlain(written)]);
      expect(await browser.topics()).toContain(topic);
      await browser.close();
      const { groups } = await admin.listGroups();
      expect(groupIds).toHaveLength(2);
      expect(groups.map((g) => g.groupId).filter((id) => groupIds.includes(id))).toEqual([]);
    });
  });

  describe('.follow', () => {
    it('calls back with every record written after it started, commits nothing, and stops on abort', async () => {
      const groupId = randomName('sluice-browse-it');
      const browser = new KafkaRecordBrowser('it', new Kafka(kafkaConfig()), silentLogger, { newGroupId: () => groupId });
      browsers.push(browser);
      const before = await writeTwelve();
      const seen: BrowsedRecord[] = [];
      const controller = new AbortController();
      const following = browser.follow(topic, (record) => seen.push(record), controller.signal);
      // when its consumer is reading cannot be seen from outside: write probes until one arrives
      const probes: Written[] = [];
      await until(async () => {
        if (seen.length > 0) return true;
        probes.push(await write(probes.length % 3, Date.now(), Buffer.from('probe'), Buffer.from('probe')));
        return false;
      }, 'a probe record to be followed');
      const after = [
        await write(0, Date.now(), Buffer.from('k0'), Buffer.from([0xfe, 0xff]), { h: Buffer.from([0x00, 0xff]) }),
        await write(1, Date.now(), null, null),
        await write(2, Date.now(), Buffer.from('k2'), Buffer.from('{"temp": 21.5}'), { site: Buffer.from('north') }),
      ];
      const seenAt = (w: Written): boolean => seen.some((r) => r.partition === w.partition && r.offset === w.offset);
      await until(() => after.every(seenAt), 'the three records to be followed');
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(offsets[0]!.partitions.map((p) => p.offset)).toEqual(['-1', '-1', '-1']);
      controller.abort();
      await following;

      // Kafka orders records within a partition only: one fetch may hand partition 2 over before partition 1
      const byPartition = (a: { partition: number }, b: { partition: number }): number => a.partition - b.partition;
      const tail = seen.filter((r) => !r.key?.equals(Buffer.from('probe')));
      expect(tail.map(asPlain).sort(byPartition)).toEqual(after.map(asPlain).sort(byPartition));
      // nothing written before follow() began, and no probe twice
      const old = new Set(before.map((r) => `${r.partition}@${r.offset}`));
      expect(seen.filter((r) => old.has(`${r.partition}@${r.offset}`))).toEqual([]);
      expect(new Set(seen.map((r) => `${r.partition}@${r.offset}`)).size).toBe(seen.length);
      const { groups } = await admin.listGroups();
      expect(groups.map((g) => g.groupId)).not.toContain(groupId);
    });

    it('ends when the connector stops, and its group is deleted', async () => {
      const browser = browserOf();
      const seen: BrowsedRecord[] = [];
      const following = browser.follow(topic, (record) => seen.push(record), new AbortController().signal);
      let reading: string[] = [];
      await until(async () => (reading = await groupsReading(topic)).length > 0, 'the follow group to show up');
      await connectors[0]!.stop();
      await expect(following).resolves.toBeUndefined();
      const { groups } = await admin.listGroups();
      expect(groups.map((g) => g.groupId).filter((id) => reading.includes(id))).toEqual([]);
    });

    it('says so when the topic does not exist', async () => {
      const missing = randomName('browse-missing');
      await expect(withBrowser((browser) => browser.follow(missing, () => undefined, new AbortController().signal)))
        .rejects.toThrow(`topic "${missing}" does not exist on the cluster`);
    });
  });

  describe('over SASL_SSL with SCRAM-SHA-256', () => {
    it('lists topics and reads the latest records with the connector\'s TLS and SASL settings', async () => {
      const written = await writeTwelve();
      await withBrowser(async (browser) => {
        expect(await browser.topics()).toContain(topic);
        expect((await browser.latest(topic, 4)).map(asPlain)).toEqual(written.slice(8).map(asPlain));
      }, {
        bootstrapHosts: broker.saslSsl,
        ssl: { enable: true, caFile: broker.caFile },
        authentication: { mechanism: 'scram-sha-256', ...broker.users.scram256 },
      });
    });
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@sluice/core';
import { createTopic, deleteTopic, kafkaBroker, randomName } from '@sluice/testkit';
import { createKafkaProducer } from '../../src/kafka-connector';
import { type KafkaConnectorOptions, parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { KafkaMetadataSource } from '../../src/kafka-metadata-source';
import { KafkaTopicDirectory, type MetadataSource } from '../../src/kafka-topic-directory';

const broker = kafkaBroker();

describe('KafkaTopicDirectory against a real broker', () => {
  const topics: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  /** A started directory over the connector's own client settings; `fetches` counts the metadata requests. */
  async function startDirectory(options: Partial<KafkaConnectorOptions> = {}) {
    const config = parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap, ...options } as KafkaConnectorOptions);
    const producer = createKafkaProducer(config, silentLogger);
    await producer.connect();
    const source = KafkaMetadataSource.create(config, producer);
    const counted = { fetches: [] as string[][] };
    const counting: MetadataSource = {
      fetch: (names) => {
        counted.fetches.push([...names]);
        return source.fetch(names);
      },
      create: (topic) => source.create(topic),
      close: () => source.close(),
    };
    const directory = new KafkaTopicDirectory(counting, {
      refreshInterval: config.partitionCountRefreshInterval, allowAutoTopicCreation: config.allowAutoTopicCreation, logger: silentLogger,
    });
    const changes: string[] = [];
    directory.onChange((topic) => changes.push(topic));
    cleanups.push(async () => {
      await directory.close();
      await producer.disconnect();
    });
    await directory.start();
    return { directory, changes, counted };
  }

  const name = (): string => randomName('dir-it');
  /** Creates the topic, and deletes it after the test (deleting a topic that was never created takes kafkajs ~10 s of retries). */
  const create = async (topic: string, partitions: number): Promise<void> => {
    topics.push(topic);
    await createTopic(topic, partitions);
  };

  /** Waits for `done` without a time limit of its own (jest's test timeout is the bound). */
  async function until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    await Promise.all(topics.splice(0).map((topic) => deleteTopic(topic).catch(() => undefined)));
  });

  it('learns an existing topic\'s partitions in one request, and says a missing one does not exist', async () => {
    const present = name();
    const missing = name();
    await create(present, 3);
    const { directory, changes } = await startDirectory();
    expect(directory.partitions(present)).toBeUndefined();
    expect(directory.partitions(missing)).toBeUndefined();
    await until(() => changes.includes(present) && directory.problem(missing) !== undefined);
    expect(directory.partitions(present)?.map((partition) => partition.partitionId)).toEqual([0, 1, 2]);
    expect(directory.problem(missing)).toBe(`kafka topic "${missing}" does not exist: create it, or set allowAutoTopicCreation on the connector`);
  });

  it('fires onChange for a topic created later at the first probe that follows', async () => {
    const late = name();
    const { directory, changes, counted } = await startDirectory();
    directory.watch(late);
    await until(() => directory.problem(late) !== undefined);
    changes.length = 0;
    await create(late, 2);
    const asked = counted.fetches.length;
    await until(() => changes.includes(late));
    // the probe asks about the missing topic alone each period; it answered at the first (or, when the
    // creation landed mid-request, the second) request after the topic existed
    expect(counted.fetches.length - asked).toBeLessThanOrEqual(2);
    expect(directory.partitions(late)).toHaveLength(2);
    expect(directory.problem(late)).toBeUndefined();
  });

  it('with allowAutoTopicCreation, leaves the decision to the broker, as a produce would (the test broker refuses)', async () => {
    // the test broker runs with auto.create.topics.enable=false: an explicit CreateTopics would bypass that policy
    const auto = name();
    const { directory } = await startDirectory({ allowAutoTopicCreation: true });
    directory.partitions(auto);
    await until(() => directory.problem(auto) !== undefined);
    expect(directory.problem(auto)).toBe(`kafka topic "${auto}" does not exist and Kafka did not create it (allowAutoTopicCreation is on; the broker's auto.create.topics.enable may be off): create it`);
    expect(directory.partitions(auto)).toBeUndefined();
  });

  it('reads metadata with the connector\'s TLS and SASL settings', async () => {
    const present = name();
    await create(present, 1);
    const { directory, changes } = await startDirectory({
      bootstrapHosts: broker.saslSsl, ssl: { caFile: broker.caFile }, authentication: { mechanism: 'scram-sha-256', ...broker.users.scram256 },
    });
    directory.partitions(present);
    await until(() => changes.includes(present));
    expect(directory.partitions(present)).toHaveLength(1);
  });
});

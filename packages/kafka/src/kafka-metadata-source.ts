import { silentLogger } from '@sluice/core';
import { type Admin, Kafka, type PartitionMetadata } from 'kafkajs';
import { toKafkaConfig } from './kafka-client-config';
import type { KafkaConnectorConfig } from './kafka-connector-config';
import type { MetadataSource, TopicMetadata } from './kafka-topic-directory';
import type { ProducerClient } from './record-batcher';

/** The admin calls the source uses (a fake in specs). */
export type MetadataAdmin = Pick<Admin, 'connect' | 'disconnect' | 'fetchTopicMetadata'>;

/**
 * Metadata through a kafkajs admin client of its own, with the connector's client settings (brokers, TLS, SASL).
 * Why an admin client: `fetchTopicMetadata` is kafkajs's only public call that answers a topic's partitions and
 * leaders; the producer keeps its metadata private. It costs one more connection to one broker, and its requests
 * never queue behind produce requests. No retries inside kafkajs (the directory asks again every probe), a
 * `metadataRequestTimeout` budget per request, and its log lines dropped: while Kafka is away it fails every
 * 500 ms and the producer already says so.
 *
 * Creation (allowAutoTopicCreation) goes through the producer instead: kafkajs's admin client never sets the
 * request's allow_auto_topic_creation, whereas a send of no records to the topic makes the producer ask for its
 * metadata with it, as a produce would: the broker creates the topic only if its auto.create.topics.enable
 * allows, with its own defaults (an explicit CreateTopics would bypass that policy). No record is written.
 */
export class KafkaMetadataSource implements MetadataSource {
  private connected: Promise<void> | undefined;

  constructor(
    private readonly admin: MetadataAdmin,
    private readonly producer: Pick<ProducerClient, 'sendBatch'>,
  ) {}

  static create(config: KafkaConnectorConfig, producer: Pick<ProducerClient, 'sendBatch'>): KafkaMetadataSource {
    const kafka = new Kafka({
      ...toKafkaConfig(config, silentLogger),
      requestTimeout: config.metadataRequestTimeout,
      retry: { retries: 0 },
    });
    return new KafkaMetadataSource(kafka.admin({ retry: { retries: 0 } }), producer);
  }

  async fetch(topics: readonly string[]): Promise<readonly TopicMetadata[]> {
    await this.connect();
    const answer = await this.admin.fetchTopicMetadata({ topics: [...topics] });
    return answer.topics.map(({ name, partitions }) => ({ name, partitions: byId(partitions) }));
  }

  async create(topic: string): Promise<void> {
    await this.producer.sendBatch({ topicMessages: [{ topic, messages: [] }] });
  }

  async close(): Promise<void> {
    this.connected = undefined;
    await this.admin.disconnect();
  }

  /** Connects once; a failed connect is tried again by the next request (kafkajs reconnects by itself after that). */
  private connect(): Promise<void> {
    this.connected ??= this.admin.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    return this.connected;
  }
}

/** Partitions in id order (Kafka does not promise one), frozen: the pipeline reads them on every record. */
function byId(partitions: readonly PartitionMetadata[]): readonly PartitionMetadata[] {
  return Object.freeze([...partitions].sort((a, b) => a.partitionId - b.partitionId));
}

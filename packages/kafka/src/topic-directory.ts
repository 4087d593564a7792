import type { PartitionMetadata } from 'kafkajs';

/**
 * What the pipeline knows of the cluster's topics: their partitions (to choose a record's partition when it
 * is admitted) and why a topic has none. Kept fresh by the connector's implementation; specs use a fake.
 */
export interface TopicDirectory {
  /** The topic's partitions as last fetched, or undefined while unknown (a fetch is then started). Synchronous: hot path. */
  partitions(topic: string): readonly PartitionMetadata[] | undefined;
  /** Why the topic has no partitions (does not exist, not authorized, Kafka unreachable), or undefined. */
  problem(topic: string): string | undefined;
  /**
   * Whether the directory holds the topic, so that onChange will tell when its partitions are learned. False for a
   * topic it refused to look up (it tracks as many topics as it may): records waiting for it would wait for ever.
   */
  tracks(topic: string): boolean;
  /** Kafka failed a request for this topic: fetch its metadata again soon, and keep probing until Kafka answers. */
  suspect(topic: string): void;
  /**
   * Called when a topic's partitions were (re)learned, or a probe found Kafka answering again. Never called
   * synchronously from inside another method of the directory. Returns the unsubscribe function.
   */
  onChange(listener: (topic: string) => void): () => void;
  /** Keeps the topic's metadata fresh and its problem() known (an action's constant topic). Returns the unwatch function. */
  watch(topic: string): () => void;
}

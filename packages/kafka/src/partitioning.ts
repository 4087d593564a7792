import type { Message as KafkaMessage, PartitionerArgs, PartitionMetadata } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * MurmurHash2 as the Java client computes it (org.apache.kafka.common.utils.Utils.murmur2), on the
 * UTF-8 bytes of the key, so a key lands on the same partition whichever client produced it.
 * Math.imul keeps every step in 32-bit arithmetic without a Long library.
 */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i += 1) {
    const i4 = i * 4;
    let k = (data[i4] as number) | ((data[i4 + 1] as number) << 8) | ((data[i4 + 2] as number) << 16) | ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner picks for a non-null key. */
export function javaKeyPartition(key: string | Buffer, partitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}

export type PartitionStrategy = 'random' | 'key_dispatch' | 'round_robin';

/** Chooses a partition for one record from the topic's current metadata (which kafkajs keeps fresh). */
export type PickPartition = (partitions: readonly PartitionMetadata[], key: string | Buffer | null) => number;

/** Attached to each record we produce so one producer can serve actions with different strategies. */
export const PICK_PARTITION: unique symbol = Symbol('sluice.kafka.pickPartition');
export type RoutedMessage = KafkaMessage & { [PICK_PARTITION]?: PickPartition };

export function createPicker(strategy: PartitionStrategy, partitionsLimit: number | undefined): PickPartition {
  const limit = partitionsLimit ?? Number.MAX_SAFE_INTEGER;
  let counter = Math.floor(Math.random() * 1024);
  // partitionsLimit: only the first N partitions (ids are 0..n-1) are used
  const usable = (partitions: readonly PartitionMetadata[]): number => Math.min(limit, partitions.length);
  const withLeader = (partitions: readonly PartitionMetadata[], count: number, index: number): number => {
    // Walk from the chosen index to the next partition that has a leader; partition ids are 0..n-1.
    for (let step = 0; step < count; step += 1) {
      const id = (index + step) % count;
      const partition = partitionById(partitions, id);
      if (partition !== undefined && partition.leader >= 0) return id;
    }
    return index % count;
  };
  switch (strategy) {
    case 'key_dispatch':
      return (partitions, key) => {
        const count = usable(partitions);
        if (key === null) return withLeader(partitions, count, (counter += 1));
        // like Java: a keyed record goes to its hash's partition even when that one has no leader
        return javaKeyPartition(key, count);
      };
    case 'round_robin':
      return (partitions) => {
        const count = usable(partitions);
        counter = (counter + 1) % count;
        return withLeader(partitions, count, counter);
      };
    case 'random':
      return (partitions) => {
        const count = usable(partitions);
        return withLeader(partitions, count, Math.floor(Math.random() * count));
      };
  }
}

/**
 * The partition with this id: metadata lists them by id as a rule, so the index is tried first; a loop, not
 * find() with an arrow, which made a closure per record on the hot path.
 */
export function partitionById(partitions: readonly PartitionMetadata[], id: number): PartitionMetadata | undefined {
  const at = partitions[id];
  if (at !== undefined && at.partitionId === id) return at;
  for (const partition of partitions) if (partition.partitionId === id) return partition;
  return undefined;
}

/** The producer's partitioner: honours an explicit partition, else the record's own strategy. */
export function routingPartitioner(): (args: PartitionerArgs) => number {
  return ({ partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const pick = (message as RoutedMessage)[PICK_PARTITION];
    const key = message.key === undefined || message.key === null ? null : (message.key as string | Buffer);
    // a binary key is hashed on its own bytes, as the Java client does (not on a lossy UTF-8 decoding)
    if (pick !== undefined) return pick(partitionMetadata, key);
    return key === null ? Math.floor(Math.random() * partitionMetadata.length) : javaKeyPartition(key, partitionMetadata.length);
  };
}

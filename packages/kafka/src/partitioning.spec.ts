import { describe, expect, it } from '@jest/globals';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { createPicker, javaKeyPartition, murmur2, PICK_PARTITION, routingPartitioner } from './partitioning';

const partitions = (count: number, leaderless: number[] = []): PartitionMetadata[] =>
  Array.from({ length: count }, (_, id) => ({ partitionId: id, leader: leaderless.includes(id) ? -1 : 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));

describe(murmur2.name, () => {
  // Values from Apache Kafka's UtilsTest.testMurmur2 (the Java client's hash)
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %s like the Java client', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
  });

  it('puts keys on the same partitions as kafkajs DefaultPartitioner (Java-compatible)', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const metadata = partitions(12);
    for (let i = 0; i < 500; i += 1) {
      const key = `device-${i}-${'é'.repeat(i % 5)}`;
      expect(javaKeyPartition(key, 12)).toBe(kafkajs({ topic: 't', partitionMetadata: metadata, message: { key, value: 'v' } }));
    }
  });
});

describe(createPicker.name, () => {
  it('key_dispatch honours partitionsLimit', () => {
    const pick = createPicker('key_dispatch', 3);
    for (let i = 0; i < 50; i += 1) expect(pick(partitions(12), `k${i}`)).toBe(javaKeyPartition(`k${i}`, 3));
  });

  it('round_robin cycles through partitions that have a leader', () => {
    const pick = createPicker('round_robin', undefined);
    const seen = Array.from({ length: 8 }, () => pick(partitions(4, [2]), null));
    expect(new Set(seen)).toEqual(new Set([0, 1, 3]));
  });

  it('random stays within partitionsLimit', () => {
    const pick = createPicker('random', 2);
    for (let i = 0; i < 100; i += 1) expect(pick(partitions(8), 'k')).toBeLessThan(2);
  });
});

describe(routingPartitioner.name, () => {
  it("applies the record's own picker, or an explicit partition", () => {
    const partitioner = routingPartitioner();
    const metadata = partitions(6);
    expect(partitioner({ topic: 't', partitionMetadata: metadata, message: { value: 'v', key: 'x', [PICK_PARTITION]: () => 4 } as never })).toBe(4);
    expect(partitioner({ topic: 't', partitionMetadata: metadata, message: { value: 'v', partition: 5 } })).toBe(5);
    expect(partitioner({ topic: 't', partitionMetadata: metadata, message: { value: 'v', key: 'abc' } })).toBe(javaKeyPartition('abc', 6));
  });
});

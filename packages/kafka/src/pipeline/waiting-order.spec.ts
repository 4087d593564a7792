// Records that wait for their topic's partitions keep their place: a record admitted after the directory has
// learned the topic, but before its onChange has given the waiting records their partitions, goes behind them.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ProducerBatch } from 'kafkajs';
import { FakeProducer } from '../../test/fixtures/fake-producer';
import { FakeTopicDirectory } from '../testing/fake-topic-directory';
import type { RenderedRecord } from '../record-renderer';
import { type PipelineOptions, RecordPipeline } from './record-pipeline';

const options: Omit<PipelineOptions, 'directory'> = {
  acks: -1, compression: 0, timeout: 1000, maxBatchBytes: 1 << 20, maxBatchRecords: 1000, maxLingerTime: 0, maxInflight: 10,
  bufferLimit: 1 << 24, overflow: 'backpressure', maxBatchAge: Number.POSITIVE_INFINITY, maxRetries: Number.POSITIVE_INFINITY,
  retryBackoff: { initial: 1, max: 1 },
};
const record = (value: string): RenderedRecord => ({ topic: 'late', bytes: 100, held: 100, message: { key: null, value } });
const values = (batches: readonly ProducerBatch[]): string[] =>
  batches.flatMap((batch) => (batch.topicMessages ?? []).flatMap((group) => group.messages.map((m) => String(m.value))));

describe('records waiting for their topic', () => {
  let pipeline: RecordPipeline | undefined;

  afterEach(async () => {
    await pipeline?.close().catch(() => undefined);
    pipeline = undefined;
  });

  it('are sent before a record admitted once the topic is known but before the directory said so', async () => {
    const directory = new FakeTopicDirectory();
    const producer = new FakeProducer();
    pipeline = new RecordPipeline({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, { ...options, directory });
    const first = pipeline.add(record('x1'));
    // the topic appears: the directory answers partitions() at once, its onChange comes on a later turn
    directory.createTopic('late', 1);
    const second = pipeline.add(record('x2'));
    await Promise.all([first, second]);
    expect(values(producer.batches)).toEqual(['x1', 'x2']);
  });
});

// `failing()` and the `partitions.failing` gauge say whether some partition is backing off after a failure. A
// hybrid buffer spills every record to disk while failing() is true, so it must end with the failure's cause:
// once the partition has nothing left to retry (its records dropped or expired), and once the pipeline closed.
import { afterEach, describe, expect, it } from '@jest/globals';
import { isDropped } from '@sluice/core';
import { KafkaJSProtocolError } from 'kafkajs';
import { FakeProducer } from '../../test/fixtures/fake-producer';
import { FakeTopicDirectory } from '../testing/fake-topic-directory';
import type { RenderedRecord } from '../record-renderer';
import { type PipelineOptions, RecordPipeline } from './record-pipeline';

const options: Omit<PipelineOptions, 'directory'> = {
  acks: -1, compression: 0, timeout: 1000, maxBatchBytes: 1 << 20, maxBatchRecords: 1000, maxLingerTime: 0, maxInflight: 10,
  bufferLimit: 1 << 24, overflow: 'backpressure', maxBatchAge: Number.POSITIVE_INFINITY, maxRetries: Number.POSITIVE_INFINITY,
  // far longer than the spec: only the drop or the close can end the back-off in time
  retryBackoff: { initial: 60_000, max: 60_000 },
};
const record = (value: string): RenderedRecord => ({ topic: 't', bytes: 100, held: 100, message: { key: null, value } });
const leaderless = (): Error => new KafkaJSProtocolError({ message: 'no leader', type: 'LEADER_NOT_AVAILABLE', code: 5, retriable: true } as never);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the failing state of a partition', () => {
  let pipeline: RecordPipeline | undefined;

  afterEach(async () => {
    await pipeline?.close().catch(() => undefined);
    pipeline = undefined;
  });

  async function failingPipeline(extra: Partial<PipelineOptions>): Promise<{ pipeline: RecordPipeline; sent: Promise<unknown> }> {
    const directory = new FakeTopicDirectory(1);
    const producer = new FakeProducer();
    producer.failure = () => leaderless();
    const made = new RecordPipeline({ connectorId: 'kafka', actionId: 'r:kafka' }, producer, { ...options, ...extra, directory });
    const sent = made.add(record('a')).catch((error: unknown) => error);
    // Polled rather than checked after a fixed sleep: on a loaded CI machine a fixed sleep overran a short
    // maxBatchAge, the record expired first and the failing state had already ended (a failed CI run).
    const giveUpAt = Date.now() + 2_000;
    while (!made.failing() && Date.now() < giveUpAt) await sleep(1);
    expect(made.failing()).toBe(true);
    expect(made.failingPartitionCount()).toBe(1);
    return { pipeline: made, sent };
  }

  it('ends when the partition\'s records expired while it backed off', async () => {
    // long enough to see the failing state start on a busy machine, far shorter than the 60 s back-off
    const made = await failingPipeline({ maxBatchAge: 1_500 });
    pipeline = made.pipeline;
    // an outcome within the spec's time, not after the 60 s back-off
    const outcome = await Promise.race([made.sent, sleep(5_000).then(() => 'still waiting')]);
    expect(isDropped(outcome as never)).toBe(true);
    expect(pipeline.failing()).toBe(false);
    expect(pipeline.failingPartitionCount()).toBe(0);
  });

  it('ends when the pipeline closes', async () => {
    const made = await failingPipeline({});
    pipeline = made.pipeline;
    await pipeline.close();
    expect(pipeline.failingPartitionCount()).toBe(0);
    expect(pipeline.failing()).toBe(false);
  });
});

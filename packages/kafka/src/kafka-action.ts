import { DROPPED, type DropReason, IntegrationError, isDropped, type Message, type RuleOutput, type SendResult, ActionWriteError, type Action, type ActionMetricKind } from '@sluice/core';
import type { DiskBuffer, StoredRecord } from './disk-buffer';
import type { HybridBuffer } from './hybrid-buffer';
import type { KafkaActionSettings } from './kafka-connector-config';
import { PICK_PARTITION, type PickPartition } from './partitioning';
import type { RecordBatcher } from './record-batcher';
import { heldBeforeRender, heldFromDisk, type RecordRenderer, type RenderedRecord } from './record-renderer';
import { SchemaWaitQueue, SubjectPending, type SchemaValueEncoder } from './schema-value-encoder';

/** A disk-buffered action's log, what an earlier run left in it, and who hears of records lost for good. */
export interface DurableStore {
  readonly buffer: DiskBuffer;
  /** Closes the log once no action uses it any more. */
  readonly release: () => Promise<void>;
  /** Read at creation; sent by replay() once the connector is up. */
  leftover: StoredRecord[];
  readonly pick: PickPartition;
  /** A record already acknowledged to MQTT that Kafka refused for good. */
  readonly lost: (error: Error) => void;
  /** A record already acknowledged to MQTT (it was on disk) that the buffer then dropped, e.g. expired. */
  readonly droppedLater: (reason: DropReason) => void;
}

// A type alias, not an interface: it must be assignable to core's Record<string, number> (Action.metrics).
export type KafkaActionMetrics = {
  readonly 'retried': number;
  readonly 'retried.success': number;
  readonly 'retried.failed': number;
  readonly 'late_reply': number;
  readonly 'queuing': number;
  readonly 'queuing_bytes': number;
  readonly 'inflight': number;
  readonly 'partitions.failing': number;
  readonly 'topics.waiting': number;
  readonly 'produce_latency.count': number;
  readonly 'produce_latency.p50_ms': number;
  readonly 'produce_latency.p99_ms': number;
  readonly 'produce_latency.max_ms': number;
  readonly 'rejected.invalid_json': number;
  readonly 'rejected.schema': number;
};

/**
 * Which of the metrics only grow: exporters need it (a Prometheus counter gets `_total` and `rate()`
 * works on it), and a number alone cannot say. `satisfies` keeps it in step with KafkaActionMetrics.
 */
export const KAFKA_METRIC_KINDS = {
  'retried': 'counter',
  'retried.success': 'counter',
  'retried.failed': 'counter',
  'late_reply': 'counter',
  'queuing': 'gauge',
  'queuing_bytes': 'gauge',
  'inflight': 'gauge',
  'partitions.failing': 'gauge',
  'topics.waiting': 'gauge',
  'produce_latency.count': 'counter',
  'produce_latency.p50_ms': 'gauge',
  'produce_latency.p99_ms': 'gauge',
  'produce_latency.max_ms': 'gauge',
  'rejected.invalid_json': 'counter',
  'rejected.schema': 'counter',
} as const satisfies Record<keyof KafkaActionMetrics, ActionMetricKind>;

/** One rule's way into Kafka: renders each output into a record and hands it to its own batcher. */
export class KafkaAction implements Action {
  constructor(
    readonly id: string,
    readonly settings: KafkaActionSettings,
    private readonly renderer: RecordRenderer,
    private readonly batcher: RecordBatcher,
    /** The disk log: every record in `disk` mode, the overflow of memory in `hybrid` mode. */
    private readonly durable?: DurableStore,
    private readonly hybrid?: HybridBuffer,
    /** With `valueSchema`: its sends wait in send() while the registry is asked for a subject's schema id. */
    private readonly encoder?: SchemaValueEncoder,
  ) {
    this.schemaWaits = encoder === undefined ? undefined : new SchemaWaitQueue({
      bufferLimit: settings.buffer.limit,
      overflow: settings.buffer.overflow,
      maxBatchAge: settings.buffer.maxBatchAge,
      bufferedBytes: () => batcher.queuedBytes(),
    });
  }

  /** With `valueSchema`: the records waiting for a schema id, bounded by the action's buffer settings. */
  private readonly schemaWaits: SchemaWaitQueue | undefined;

  private closing = false;

  readonly metricKinds = KAFKA_METRIC_KINDS;

  /** Whether accepted records are kept on disk (a `disk` or `hybrid` buffer) while Kafka is away. */
  get buffersOnDisk(): boolean {
    return this.durable !== undefined;
  }

  /** The Kafka topic when it is not templated; undefined otherwise. */
  get constantTopic(): string | undefined {
    return this.renderer.constantTopic;
  }

  send(output: RuleOutput, message: Message): Promise<SendResult> {
    return this.route(output, message, undefined);
  }

  /** `since`: when a record that waited for its schema id first arrived (undefined: now). */
  private route(output: RuleOutput, message: Message, since: number | undefined): Promise<SendResult> {
    let record;
    try {
      record = this.renderer.render(output, message);
    } catch (error) {
      if (error instanceof SubjectPending) return this.sendOnceReady(error.ready, output, message, since);
      return Promise.reject(error as Error);
    }
    if (this.hybrid !== undefined) return this.hybrid.send(record);
    return this.durable === undefined ? this.batcher.add(record) : this.sendDurably(record, this.durable);
  }

  /**
   * The record's schema id is being fetched: it waits (as records wait for Kafka in an outage, its message
   * unacknowledged), then renders again; the buffer's limit, overflow policy and maxBatchAge bound the
   * waiting records (SchemaWaitQueue). A registry that refuses the subject fails it, not retriable.
   */
  private sendOnceReady(ready: Promise<void>, output: RuleOutput, message: Message, since: number | undefined): Promise<SendResult> {
    const waits = this.schemaWaits as SchemaWaitQueue;
    const arrived = since ?? waits.now();
    // not rendered yet (it cannot be encoded): what the runtime keeps for it counts against buffer.limit
    const waited = waits.hold(heldBeforeRender(message), (this.encoder as SchemaValueEncoder).track(ready), arrived);
    return waited.then((dropped) => dropped === undefined ? this.route(output, message, arrived) : DROPPED[dropped], (error: unknown) => {
      if (IntegrationError.is(error) && !error.retriable) this.renderer.counters.schema++;
      throw error;
    });
  }

  /** Why the action's records wait for its schema registry, or undefined (the connector's status shows it). */
  get registryProblem(): string | undefined {
    return this.encoder?.problem;
  }

  /** Starts fetching the schema id of a topic that is not templated, so the first records need not wait. */
  prepareSchema(): void {
    const topic = this.renderer.constantTopic;
    if (this.encoder !== undefined && topic !== undefined) this.encoder.prepare(topic);
  }

  /**
   * Sends what an earlier run left in the disk buffer; the connector calls it once connected. The
   * records go first, ahead of new ones, since they were accepted earlier.
   */
  replay(): void {
    if (this.hybrid !== undefined) {
      this.hybrid.schedulePump(); // a hybrid buffer reads its leftovers from disk as memory frees
      return;
    }
    const durable = this.durable;
    if (durable === undefined) return;
    const records = durable.leftover;
    durable.leftover = [];
    for (const stored of records) {
      const message = { ...stored.message, [PICK_PARTITION]: durable.pick };
      // read back from the log: the batcher checks it can be encoded before it joins a request
      this.batcher.add({ topic: stored.topic, bytes: stored.bytes, held: heldFromDisk(stored.bytes), message }, undefined, true).then(
        (result) => {
          durable.buffer.ack(stored.seq);
          if (isDropped(result)) durable.droppedLater(result.dropped);
        },
        (error: Error) => this.settleDurable(stored.seq, error, durable),
      );
    }
  }

  /**
   * With a disk buffer, send() resolves once the record is in the buffer and on disk: the MQTT message is
   * acknowledged then, and the record survives a restart until Kafka has it.
   */
  private sendDurably(record: RenderedRecord, durable: DurableStore): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      let seq: number | undefined;
      let onDisk = false;
      const stored = this.batcher.add(record, () => {
        const appended = durable.buffer.append(record.topic, record.bytes, record.message);
        seq = appended.seq;
        appended.written.then(() => {
          onDisk = true;
          resolve();
        }, (error: Error) => reject(new ActionWriteError(this.batcher.where,
          `could not write the disk buffer: ${error.message}`, { retriable: true, cause: error })));
      });
      stored.then((result) => {
        if (seq !== undefined) durable.buffer.ack(seq);
        // a drop after the send resolved (the record was on disk) is told apart: the runtime counted it stored
        if (isDropped(result) && onDisk) durable.droppedLater(result.dropped);
        resolve(result); // dropped before it was written, or Kafka was quicker than the disk
      }, (error: Error) => {
        if (seq === undefined) reject(error); // never accepted (closed action, unknown topic)
        else this.settleDurable(seq, error, durable);
      });
    });
  }

  /** A retriable failure (the action closing) leaves the record on disk for the next start. */
  private settleDurable(seq: number, error: Error, durable: DurableStore): void {
    if (IntegrationError.is(error) && error.retriable) return;
    durable.buffer.ack(seq);
    durable.lost(error);
  }

  /** A source's window is full: the records lingering go now (see RecordPipeline.sendLingering). */
  sendNow(): void {
    this.batcher.sendLingering();
  }

  queued(): number {
    return this.batcher.queued() + (this.hybrid?.queued() ?? 0) + (this.schemaWaits?.size ?? 0);
  }

  /**
   * The action's `queuing_bytes`: the heap estimate of the records in memory (what `buffer.limit` counts), the
   * wire bytes of a hybrid buffer's records on disk (what `diskLimit` counts), and the sends waiting for a schema id.
   */
  queuedBytes(): number {
    return this.batcher.queuedBytes() + (this.hybrid?.queuedBytes() ?? 0) + (this.schemaWaits?.bytes ?? 0);
  }

  inflight(): number {
    return this.batcher.inflight();
  }

  /**
   * The action's Kafka-side metrics, at EMQX's names where EMQX has one. Counters are cumulative since
   * the action was created; `queuing*`, `inflight`, `partitions.failing` (partitions backing off after a
   * retriable failure, or retrying) and `topics.waiting` (topics whose records wait for their partitions to be
   * known: missing, or not fetched yet) are gauges; latencies are of produce requests
   * (sent → acknowledged), in ms, read from buckets (upper bound of the bucket holding the quantile).
   * `matched`, `success`, `failed` and `dropped.*` are counted by the runtime (dropped via ActionContext).
   */
  metrics(): KafkaActionMetrics {
    const { counters, latency } = this.batcher;
    return {
      'retried': counters.retried,
      'retried.success': counters.retriedSuccess,
      'retried.failed': counters.retriedFailed,
      'late_reply': counters.lateReply,
      'queuing': this.queued(),
      'queuing_bytes': this.queuedBytes(),
      'inflight': this.batcher.inflight(),
      'partitions.failing': this.batcher.failingPartitionCount(),
      'topics.waiting': this.batcher.waitingTopicCount(),
      'produce_latency.count': latency.count,
      'produce_latency.p50_ms': latency.quantile(0.5),
      'produce_latency.p99_ms': latency.quantile(0.99),
      'produce_latency.max_ms': latency.max,
      'rejected.invalid_json': this.renderer.counters.invalidJson,
      'rejected.schema': this.renderer.counters.schema,
    };
  }

  /** Set once close() was called: the action takes no more records (its rule was removed or replaced). */
  get closed(): boolean {
    return this.closing;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.encoder?.close();
    this.schemaWaits?.close();
    this.hybrid?.close();
    await this.batcher.close();
    await this.durable?.release();
  }
}

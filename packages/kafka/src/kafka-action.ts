import type { Message, RuleOutput, SinkAction } from '@sluice/core';
import type { KafkaActionSettings } from './kafka-sink-config';
import type { RecordBatcher } from './record-batcher';
import type { RecordRenderer } from './record-renderer';

export interface KafkaActionMetrics {
  readonly 'retried': number;
  readonly 'retried.success': number;
  readonly 'retried.failed': number;
  readonly 'queuing': number;
  readonly 'queuing_bytes': number;
  readonly 'inflight': number;
  readonly 'produce_latency.count': number;
  readonly 'produce_latency.p50_ms': number;
  readonly 'produce_latency.p99_ms': number;
  readonly 'produce_latency.max_ms': number;
}

/** One rule's way into Kafka: renders each output into a record and hands it to its own batcher. */
export class KafkaAction implements SinkAction {
  constructor(
    readonly id: string,
    readonly settings: KafkaActionSettings,
    private readonly renderer: RecordRenderer,
    private readonly batcher: RecordBatcher,
  ) {}

  /** The Kafka topic when it is not templated; undefined otherwise. */
  get constantTopic(): string | undefined {
    return this.renderer.constantTopic;
  }

  send(output: RuleOutput, message: Message): Promise<void> {
    let record;
    try {
      record = this.renderer.render(output, message);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.batcher.add(record);
  }

  queued(): number {
    return this.batcher.queued();
  }

  /** Estimated bytes waiting to be sent; the action's `queuing_bytes`. */
  queuedBytes(): number {
    return this.batcher.queuedBytes();
  }

  inflight(): number {
    return this.batcher.inflight();
  }

  /**
   * The action's Kafka-side metrics, at EMQX's names where EMQX has one. Counters are cumulative since
   * the action was created; `queuing*` and `inflight` are gauges; latencies are of produce requests
   * (sent → acknowledged), in ms, read from buckets (upper bound of the bucket holding the quantile).
   * `matched`, `success`, `failed` and `dropped.*` are counted by the runtime (dropped via ActionContext).
   */
  metrics(): KafkaActionMetrics {
    const { counters, latency } = this.batcher;
    return {
      'retried': counters.retried,
      'retried.success': counters.retriedSuccess,
      'retried.failed': counters.retriedFailed,
      'queuing': this.batcher.queued(),
      'queuing_bytes': this.batcher.queuedBytes(),
      'inflight': this.batcher.inflight(),
      'produce_latency.count': latency.count,
      'produce_latency.p50_ms': latency.quantile(0.5),
      'produce_latency.p99_ms': latency.quantile(0.99),
      'produce_latency.max_ms': latency.max,
    };
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}

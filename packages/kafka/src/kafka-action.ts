import type { Message, RuleOutput, SinkAction } from '@sluice/core';
import type { KafkaActionSettings } from './kafka-sink-config';
import type { RecordBatcher } from './record-batcher';
import type { RecordRenderer } from './record-renderer';

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

  close(): Promise<void> {
    return this.batcher.close();
  }
}

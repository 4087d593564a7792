import { type PipelineOptions, RecordPipeline } from './pipeline/record-pipeline';

export type { OverflowPolicy } from './pipeline/admission';
export { type ProducerClient, ReplyTimeoutError } from './pipeline/request-sender';
export type { HandedOver, PartitionSnapshot, PipelineCounters as BatcherCounters } from './pipeline/record-pipeline';

export type BatcherOptions = PipelineOptions;

/**
 * The Kafka action's producer pipeline under the name the action, the hybrid buffer and the connector use
 * (`new RecordBatcher(where, producer, options)`); the pieces are in ./pipeline.
 */
export class RecordBatcher extends RecordPipeline {}

import type { CompressionTypes, Message as KafkaMessage, ProducerBatch, RecordMetadata } from 'kafkajs';
import type { SendGate } from '../send-gate';
import { LatencyHistogram } from '../latency-histogram';
import type { Entry } from './entry';
import type { PartitionQueue } from './partition-queue';

/** The part of a kafkajs Producer the connector uses: the seam a second driver (or a test fake) implements. */
export interface ProducerClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}

/** One partition's batch in a produce request. */
export interface RequestPart {
  readonly queue: PartitionQueue;
  readonly entries: readonly Entry[];
}

/** A produce request that outlived the `sync` query mode's reply timeout. */
export class ReplyTimeoutError extends Error {
  override readonly name = 'ReplyTimeoutError';

  constructor(timeoutMs: number) {
    super(`no reply from Kafka within syncQueryTimeout (${timeoutMs} ms); the records are retried as maxRetries allows: raise syncQueryTimeout if the cluster is slow but healthy`);
  }
}

export interface RequestSenderOptions {
  readonly acks: -1 | 0 | 1;
  readonly compression: CompressionTypes;
  readonly timeout: number;
  readonly gate?: SendGate | undefined;
  readonly replyTimeout?: number | undefined;
  readonly now: () => number;
  /** A `sync` request's reply came after its deadline (its records were failed then); the partition may go on. */
  readonly onLateReply: (queue: PartitionQueue, records: number) => void;
}

/**
 * Sends one partition's batch as one produce request (or several partitions' of one topic, sendTogether): through the idempotent gate when there is one, timed
 * (latency) from when it leaves, with the `sync` reply deadline. A request past its deadline is failed with
 * ReplyTimeoutError but keeps its partition busy (`queue.late`) until its reply does come: kafkajs still has it
 * open, and sending the partition's next request beside it could reorder the partition.
 */
export class RequestSender {
  readonly latency = new LatencyHistogram();
  /** `sync` requests past their deadline whose reply has not come: they still count against maxInflight. */
  late = 0;

  constructor(
    private readonly producer: ProducerClient,
    private readonly options: RequestSenderOptions,
  ) {}

  send(queue: PartitionQueue, entries: readonly Entry[]): Promise<RecordMetadata[]> {
    const messages = new Array<KafkaMessage>(entries.length);
    for (let i = 0; i < entries.length; i += 1) messages[i] = (entries[i] as Entry).record.message;
    const batch: ProducerBatch = {
      acks: this.options.acks, compression: this.options.compression, timeout: this.options.timeout,
      topicMessages: [{ topic: queue.topic, messages }],
    };
    const gate = this.options.gate;
    if (gate === undefined && this.options.replyTimeout === undefined) return this.timed(batch);
    return new Request(this, queue, batch, messages.length).start(gate, this.options.replyTimeout);
  }

  /**
   * Several partitions' batches of one topic as one request (the pipeline gives it the partitions of one leader
   * broker). Only without the idempotent gate and `sync` deadlines: the pipeline does not combine then.
   */
  sendTogether(parts: readonly RequestPart[]): Promise<RecordMetadata[]> {
    const messages: KafkaMessage[] = [];
    for (const { entries } of parts) for (const entry of entries) messages.push(entry.record.message);
    const topic = (parts[0] as RequestPart).queue.topic;
    return this.timed({ acks: this.options.acks, compression: this.options.compression, timeout: this.options.timeout, topicMessages: [{ topic, messages }] });
  }

  /** The request on the wire, its latency recorded once acknowledged. */
  async timed(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const started = this.options.now();
    const metadata = await this.producer.sendBatch(batch);
    this.latency.record(this.options.now() - started);
    return metadata;
  }

  /** Called by a request whose deadline passed. */
  timedOut(queue: PartitionQueue): void {
    this.late += 1;
    queue.late += 1;
  }

  /** Called by a late request when its reply comes. */
  lateReply(queue: PartitionQueue, records: number): void {
    this.late -= 1;
    queue.late -= 1;
    this.options.onLateReply(queue, records);
  }
}

/** One gated or deadline-bound request (per batch, never per record). */
class Request {
  private late = false;
  private timer: NodeJS.Timeout | undefined;
  private resolve!: (metadata: RecordMetadata[]) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly sender: RequestSender,
    private readonly queue: PartitionQueue,
    private readonly batch: ProducerBatch,
    private readonly records: number,
  ) {}

  start(gate: SendGate | undefined, timeoutMs: number | undefined): Promise<RecordMetadata[]> {
    // timed (and given its `sync` deadline) from the request leaving, not from entering the gate: a request
    // queued behind others must not time out before it was even sent
    const leave = (): Promise<RecordMetadata[]> => {
      if (timeoutMs !== undefined) this.timer = setTimeout(() => this.expire(timeoutMs), timeoutMs);
      return this.sender.timed(this.batch);
    };
    const reply = gate === undefined ? leave() : gate.run(leave);
    if (timeoutMs === undefined) return reply;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      reply.then((metadata) => this.settle(metadata, undefined), (error: unknown) => this.settle(undefined, error));
    });
  }

  private expire(timeoutMs: number): void {
    this.late = true;
    this.sender.timedOut(this.queue);
    this.reject(new ReplyTimeoutError(timeoutMs));
  }

  private settle(metadata: RecordMetadata[] | undefined, error: unknown): void {
    if (this.late) {
      this.sender.lateReply(this.queue, this.records);
      return;
    }
    clearTimeout(this.timer);
    if (metadata !== undefined) this.resolve(metadata);
    else this.reject(error);
  }
}

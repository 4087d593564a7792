import {
  type ActionContext, type ActionRef, ConfigError, type ConnectionTestReport, type ConnectorStatus, type Logger, NotConnectedError, type Connector, type ActionWriteError, ThrottledLog,
  type RecordBrowser,
} from '@sluice/core';
import { Kafka, type Producer } from 'kafkajs';
import { COMPRESSION, ensureCodec } from './codecs';
import { testKafkaConnection } from './connection-test';
import { actionBufferDir } from './buffer-dir';
import { openDiskBuffer } from './disk-buffer';
import { type DurableStore, KafkaAction } from './kafka-action';
import { HybridBuffer } from './hybrid-buffer';
import { toKafkaConfig } from './kafka-client-config';
import { type KafkaActionSettings, type KafkaConnectorConfig, parseKafkaActionSettings } from './kafka-connector-config';
import { classifyKafkaError } from './kafka-errors';
import { KafkaMetadataSource } from './kafka-metadata-source';
import { KafkaTopicDirectory, quoteTopic, UNANSWERED } from './kafka-topic-directory';
import { SendGate } from './send-gate';
import { createPicker, PICK_PARTITION, type PickPartition, routingPartitioner } from './partitioning';
import { type ProducerClient, RecordBatcher } from './record-batcher';
import { KafkaRecordBrowser } from './record-browser';
import { RecordRenderer } from './record-renderer';
import { RenewableProducer } from './renewable-producer';
import type { SchemaRegistryClient } from './schema-registry-client';
import { installProduceEncoding } from './produce-encoding';
import { createSchemaRegistryClient } from './schema-registry-config';
import { SchemaValueEncoder } from './schema-value-encoder';
import type { TopicDirectory } from './topic-directory';
import { compileCodec, type ValueCodec } from './value-codecs';

const ACKS = { all: -1, leader: 1, none: 0 } as const;

/** Runs the staged connection test for the given topics. */
export type ConnectionTester = (topics: readonly string[]) => Promise<ConnectionTestReport>;

/** The connector's TopicDirectory: started once the producer is connected, closed on stop. */
export interface ConnectorTopicDirectory extends TopicDirectory {
  start(): Promise<void>;
  close(): Promise<void>;
  /** Called when a topic that had partitions was deleted (see RenewableProducer). */
  onVanished?(listener: (topic: string) => void): () => void;
  /** Fetch every known topic again soon. */
  refreshSoon?(): void;
}

/**
 * A Kafka connector: one kafkajs producer and one topic directory (the cluster's metadata) shared by every
 * action that names it. Each action renders its records and queues them per partition on its own (its acks
 * and compression go with its requests); a record's partition is chosen from the directory when it is admitted.
 */
export class KafkaConnector implements Connector {
  readonly id: string;
  private readonly actions = new Map<string, KafkaAction>();
  private current: ConnectorStatus = { state: 'disconnected', reason: 'not started' };
  private readonly tester: ConnectionTester;
  /** The cluster's topics, shared by the actions: each record's partition is chosen from it. */
  private readonly directory: ConnectorTopicDirectory;
  /** The constant topic each action watches (its problem makes the connector disconnected), and how to stop. */
  private readonly watched = new Map<KafkaAction, () => void>();
  private readonly gate: SendGate | undefined;
  /** Once connected, a new disk-buffered action replays its leftovers at once. */
  private started = false;
  /** Made on the first browser() call: clients of its own, off the producer's connections. */
  private recordBrowser: KafkaRecordBrowser | undefined;
  /** The connector's `schemaRegistry`, shared by its actions with `valueSchema`. */
  private readonly registry: SchemaRegistryClient | undefined;

  constructor(
    private readonly config: KafkaConnectorConfig,
    private readonly producer: ProducerClient,
    private readonly logger: Logger,
    tester?: ConnectionTester,
    directory?: ConnectorTopicDirectory,
  ) {
    this.id = config.id;
    this.gate = config.idempotent ? new SendGate() : undefined;
    this.tester = tester ?? ((topics) => testKafkaConnection(config, { topics, logger }));
    this.registry = createSchemaRegistryClient(config);
    this.directory = directory ?? new KafkaTopicDirectory(KafkaMetadataSource.create(config, producer), {
      refreshInterval: config.partitionCountRefreshInterval,
      allowAutoTopicCreation: config.allowAutoTopicCreation,
      logger: logger.child('topics'),
    });
    if (producer instanceof RenewableProducer) {
      this.directory.onVanished?.((topic) => void producer.renew(`kafka topic ${quoteTopic(topic)} was deleted`));
    }
  }

  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): KafkaAction {
    const parsed: KafkaActionSettings = parseKafkaActionSettings(settings, context.id);
    if (this.config.idempotent && parsed.requiredAcks !== 'all') {
      throw new ConfigError(`kafka action "${context.id}"`, [{ path: 'requiredAcks', message: `must be "all" (the default): connector "${this.id}" is idempotent` }]);
    }
    ensureCodec(parsed.compression);
    const where: ActionRef = { connectorId: this.id, actionId: context.id };
    const pick = createPicker(parsed.partitionStrategy, parsed.partitionsLimit);
    const encoder = this.schemaEncoder(parsed, context.id, where);
    const renderer = new RecordRenderer(where, parsed, context.templates, pick, encoder);
    let hybrid: HybridBuffer | undefined;
    const batcher = new RecordBatcher(where, this.producer, {
      acks: ACKS[parsed.requiredAcks],
      compression: COMPRESSION[parsed.compression],
      timeout: this.config.requestTimeout,
      maxBatchBytes: parsed.maxBatchBytes,
      maxBatchRecords: parsed.maxBatchRecords,
      maxLingerTime: parsed.maxLingerTime,
      maxLingerBytes: parsed.maxLingerBytes,
      maxInflight: parsed.maxInflight,
      bufferLimit: parsed.buffer.limit,
      ...(parsed.buffer.perPartitionLimit === undefined ? {} : { perPartitionLimit: parsed.buffer.perPartitionLimit }),
      directory: this.directory,
      overflow: parsed.buffer.overflow,
      maxBatchAge: parsed.buffer.maxBatchAge,
      maxRetries: parsed.maxRetries,
      retryBackoff: parsed.retryBackoff,
      ...(parsed.queryMode === 'sync' ? { replyTimeout: parsed.syncQueryTimeout } : {}),
      onRoom: () => hybrid?.schedulePump(),
      onBlocked: (topic) => hybrid?.onBlocked(topic),
      onUnblocked: () => hybrid?.schedulePump(),
      onResult: (error) => this.onResult(error),
      ...(this.gate === undefined ? {} : { gate: this.gate }),
    });
    const durable = this.durableStore(parsed, context, pick);
    if (parsed.buffer.mode === 'hybrid' && durable !== undefined) {
      hybrid = new HybridBuffer(batcher, durable.buffer, {
        where,
        diskLimit: parsed.buffer.diskLimit,
        overflow: parsed.buffer.overflow === 'drop_newest' ? 'drop_newest' : 'backpressure',
        droppedLater: durable.droppedLater,
        lost: durable.lost,
        restore: (stored) => ({ ...stored.message, [PICK_PARTITION]: pick }),
        maxBatchAge: parsed.buffer.maxBatchAge,
      }, durable.leftover);
      durable.leftover = [];
    }
    const action = new KafkaAction(context.id, parsed, renderer, batcher, durable, hybrid, encoder);
    this.forgetClosedActions();
    this.actions.set(context.id, action);
    if (action.constantTopic !== undefined) this.watched.set(action, this.directory.watch(action.constantTopic));
    if (this.started) {
      action.replay();
      action.prepareSchema();
    }
    return action;
  }

  /** Actions of removed rules are closed, not told to the connector: forget them, and stop watching their topics. */
  private forgetClosedActions(): void {
    for (const [id, known] of this.actions) if (known.closed) this.actions.delete(id);
    for (const [action, unwatch] of this.watched) {
      if (!action.closed) continue;
      unwatch();
      this.watched.delete(action);
    }
  }

  /** The encoder of an action with `valueSchema`: its schema compiled now, so a bad one is a ConfigError. */
  private schemaEncoder(parsed: KafkaActionSettings, actionId: string, where: ActionRef): SchemaValueEncoder | undefined {
    const valueSchema = parsed.valueSchema;
    if (valueSchema === undefined) return undefined;
    const fail = (path: string, message: string): never => {
      throw new ConfigError(`kafka action "${actionId}"`, [{ path, message }]);
    };
    if (this.registry === undefined) fail('valueSchema', `connector "${this.id}" has no schemaRegistry to register or read the schema in`);
    const schemaType = valueSchema.type === 'avro' ? 'AVRO' : 'JSON';
    let codec: ValueCodec | undefined;
    if (valueSchema.schema !== undefined) {
      const text = typeof valueSchema.schema === 'string' ? valueSchema.schema : JSON.stringify(valueSchema.schema);
      try {
        codec = compileCodec(schemaType, text);
      } catch (error) {
        fail('valueSchema.schema', `is not ${schemaType === 'AVRO' ? 'an Avro schema' : 'a JSON Schema'}: ${(error as Error).message.slice(0, 300)}`);
      }
    }
    return new SchemaValueEncoder(where, this.registry as SchemaRegistryClient, {
      schemaType,
      codec,
      subject: valueSchema.subject,
      backoff: { initial: parsed.retryBackoff.initial, max: parsed.retryBackoff.max },
    });
  }

  /** A disk buffer under `buffer.dir`, in a subdirectory named after the action (bufferDirName), opened (read) now. */
  private durableStore(parsed: KafkaActionSettings, context: ActionContext, pick: PickPartition): DurableStore | undefined {
    if (parsed.buffer.mode === 'memory') return undefined;
    const dir = actionBufferDir(parsed.buffer.dir as string, context.id);
    let opened;
    try {
      opened = openDiskBuffer(dir, parsed.buffer.segmentBytes);
    } catch (error) {
      throw new ConfigError(`kafka action "${context.id}"`, [{ path: 'buffer.dir', message: `cannot use ${dir}: ${(error as Error).message}` }]);
    }
    // a topic that went away can fail every record on disk: one line per 10 s, with the count in between
    const warnings = new ThrottledLog(context.logger);
    return {
      ...opened,
      pick,
      lost: (error) => {
        context.dropped(1, 'other');
        warnings.warn('lost', 'a disk-buffered record (its MQTT message acknowledged already) is lost', () => ({ error: error.message }));
      },
      droppedLater: (reason) => context.dropped(1, reason),
    };
  }

  async start(signal: AbortSignal): Promise<void> {
    this.current = { state: 'connecting' };
    try {
      await this.producer.connect();
    } catch (error) {
      const reason = await this.diagnose(error);
      this.current = { state: 'disconnected', reason };
      throw new NotConnectedError(this.id, `cannot connect to Kafka connector "${this.id}": ${reason}`, { cause: error });
    }
    if (signal.aborted) {
      await this.producer.disconnect();
      this.current = { state: 'stopped' };
      return;
    }
    this.current = { state: 'connected' };
    this.started = true;
    this.logger.info('connected to Kafka', { bootstrapHosts: this.config.bootstrapHosts });
    // the actions' topics are checked now (one metadata request), so status() is right from the start
    await this.directory.start();
    for (const action of this.actions.values()) {
      action.replay();
      action.prepareSchema();
    }
  }

  async stop(): Promise<void> {
    const browser = this.recordBrowser;
    this.recordBrowser = undefined;
    // the runtime closes actions first; closing again is harmless and flushes anything left
    const closing = [...this.actions.values()].map((action) => action.close());
    if (browser !== undefined) closing.push(browser.close());
    await Promise.all(closing);
    this.actions.clear();
    for (const unwatch of this.watched.values()) unwatch();
    this.watched.clear();
    await this.directory.close();
    await this.producer.disconnect();
    this.current = { state: 'stopped' };
  }

  /** Reads topics back for the console with the producer's client settings (brokers, TLS, SASL). */
  browser(): RecordBrowser {
    this.recordBrowser ??= new KafkaRecordBrowser(this.id, new Kafka(toKafkaConfig(this.config, this.logger)), this.logger.child('browser'));
    return this.recordBrowser;
  }

  test(): Promise<ConnectionTestReport> {
    const topics = new Set<string>();
    for (const action of this.actions.values()) {
      if (action.constantTopic !== undefined) topics.add(action.constantTopic);
    }
    return this.tester([...topics]);
  }

  /**
   * `buffering` instead of `connecting` while Kafka is away after a start and some action keeps records on
   * disk: those records are safe and intake goes on, which is what an operator (and /readyz) needs to know.
   */
  status(): ConnectorStatus {
    this.forgetClosedActions();
    const topic = this.current.state === 'connected' ? this.topicProblem() : undefined;
    if (topic !== undefined) return { state: 'disconnected', reason: topic };
    const registry = this.registryProblem();
    if (registry !== undefined && this.current.state === 'connected') return { state: 'disconnected', reason: registry };
    if (this.current.state !== 'connecting' || !this.started) return this.current;
    const onDisk = [...this.actions.values()].filter((action) => action.buffersOnDisk && !action.closed).length;
    if (onDisk === 0) return this.current;
    // A count, not the ids: an id is caller-chosen text, and /readyz scrubs secret values out of reasons,
    // so quoting ids would let an API caller test password guesses by naming actions after them.
    // GET /api/actions lists the actions themselves.
    return {
      state: 'buffering',
      reason: `${this.current.reason ?? 'Kafka is not answering'}; records are kept in the disk buffer of ${onDisk} action${onDisk > 1 ? 's' : ''}`,
    };
  }

  /**
   * An action's constant topic that does not exist (or may not be used): its records wait, so the connector is not
   * ready. The reason does not name the topic, for the same reason it does not name actions (see status()): an
   * action's topic is caller-chosen text too (PUT /api/rules), and /readyz is open to anyone. The log line of the
   * directory and the connection test (POST /api/connectors/:id/test) name it. Only problems of the topic itself
   * count: while Kafka does not answer, the producer's own state says so.
   */
  private topicProblem(): string | undefined {
    let first: string | undefined;
    const topics = new Set<string>();
    for (const [action] of this.watched) {
      const topic = action.constantTopic;
      if (topic === undefined || topics.has(topic)) continue;
      const problem = this.directory.problem(topic);
      if (problem === undefined || problem.startsWith(UNANSWERED)) continue;
      topics.add(topic);
      first ??= problem.split(quoteTopic(topic)).join('of an action (named in the log and by the connection test)');
    }
    if (first === undefined) return undefined;
    return topics.size === 1 ? first : `${first} (and ${topics.size - 1} more topic${topics.size > 2 ? 's' : ''} of actions)`;
  }

  /**
   * Kafka may be fine while the schema registry is not: records of actions with `valueSchema` then wait,
   * and the connector says why (the first such action's reason, and how many actions wait).
   */
  private registryProblem(): string | undefined {
    let first: string | undefined;
    let count = 0;
    for (const action of this.actions.values()) {
      const problem = action.closed ? undefined : action.registryProblem;
      if (problem === undefined) continue;
      first ??= problem;
      count++;
    }
    if (first === undefined) return undefined;
    return count === 1 ? first : `${first} (and the records of ${count - 1} more action${count > 2 ? 's' : ''})`;
  }

  /** Once started, a transient failure shows as connecting with its reason, never as a teardown. */
  private onResult(error: ActionWriteError | undefined): void {
    // a topic kafkajs had sent to may have been deleted: that fails sends to every topic until the directory
    // notices it and the producer is replaced (RenewableProducer), so the directory looks at once
    if (error !== undefined && classifyKafkaError(error.cause ?? error).reason === 'UNKNOWN_TOPIC_OR_PARTITION') this.directory.refreshSoon?.();
    if (this.current.state === 'stopped' || this.current.state === 'disconnected') return;
    if (error === undefined) {
      if (this.current.state !== 'connected') this.current = { state: 'connected' };
    } else if (error.retriable) {
      this.current = { state: 'connecting', reason: error.message };
    }
  }

  /** Names the failing stage of a connect that failed, by running the staged test. */
  private async diagnose(error: unknown): Promise<string> {
    try {
      const report = await this.tester([]);
      const failed = report.stages.find((stage) => !stage.ok);
      if (failed !== undefined) return `${failed.stage} stage failed: ${failed.detail}`;
    } catch {
      // the test itself failed; fall back to kafkajs's own words
    }
    return error instanceof Error ? error.message : String(error);
  }
}

/** The connector's producer in production: a kafkajs producer replaced when a topic it wrote to is deleted. */
export function createRenewableProducer(config: KafkaConnectorConfig, logger: Logger): RenewableProducer {
  return new RenewableProducer(() => createKafkaProducer(config, logger), logger);
}

/** The kafkajs producer of a connector: our partitioner, our logger, no auto-created topics unless asked. */
export function createKafkaProducer(config: KafkaConnectorConfig, logger: Logger): Producer {
  installProduceEncoding();
  const kafka = new Kafka(toKafkaConfig(config, logger));
  return kafka.producer({
    createPartitioner: routingPartitioner,
    allowAutoTopicCreation: config.allowAutoTopicCreation,
    metadataMaxAge: config.partitionCountRefreshInterval,
    retry: { ...config.retry },
    idempotent: config.idempotent,
    // an idempotent producer keeps its sequence numbers right only with one request in flight per broker
    ...(config.idempotent ? { maxInFlightRequests: 1 } : {}),
  });
}

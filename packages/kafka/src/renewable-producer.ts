import type { Logger } from '@sluice/core';
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import { classifyKafkaError } from './kafka-errors';
import type { ProducerClient } from './record-batcher';

/** Renewals at most this often: a topic deleted and re-created in a loop must not churn connections. */
const MIN_RENEW_INTERVAL = 5_000;

/**
 * Refusals after which the broker takes no further batch of a partition from this producer id (idempotent): the
 * sequence it expects and the one kafkajs sends have parted (a request written but not acknowledged, then a batch
 * that differs from it; or the broker forgot the producer id). Sending again on the same producer is refused for
 * ever; as the Java client bumps its epoch, the producer is replaced (a new producer id, sequences from 0).
 */
const PRODUCER_STATE_ERRORS: ReadonlySet<string> = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

interface Generation {
  readonly producer: ProducerClient;
  inflight: number;
  retired: boolean;
  /** Why the broker no longer takes this producer's batches (PRODUCER_STATE_ERRORS): sends wait for its replacement. */
  stale: string | undefined;
}

/**
 * The connector's producer, replaceable by a fresh kafkajs producer. Why: a kafkajs 2.2.4 producer puts every
 * topic it ever sent to in each metadata request it makes, and Kafka's answer carries an error for a deleted
 * one, which kafkajs throws for the whole request. Once a topic the producer wrote to is deleted, every metadata
 * refresh fails (at the latest `partitionCountRefreshInterval` later), and with it every send, to every topic,
 * until that topic exists again. A fresh producer knows only the topics it is sent to from then on. Sends in flight
 * finish on the producer they started on, which is disconnected once they have settled.
 */
export class RenewableProducer implements ProducerClient {
  private current: Generation;
  private connected = false;
  private renewing: Promise<void> | undefined;
  private lastRenewal = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly create: () => ProducerClient,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.current = { producer: create(), inflight: 0, retired: false, stale: undefined };
  }

  async connect(): Promise<void> {
    await this.current.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.renewing?.catch(() => undefined);
    await this.current.producer.disconnect();
  }

  /**
   * A send after the broker refused the current producer's sequence (a retry, typically) waits for its replacement
   * and goes on the new producer id: records the old one wrote without an acknowledgement may then be written a
   * second time (a new producer id cannot be recognised as the same batch). While renewals are rate-limited the
   * send goes on the old producer, and is refused again: the pipeline backs off and retries.
   */
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const stale = this.current.stale;
    if (stale !== undefined && this.connected) return this.renew(stale).then(() => this.sendOn(this.current, batch));
    return this.sendOn(this.current, batch);
  }

  private sendOn(generation: Generation, batch: ProducerBatch): Promise<RecordMetadata[]> {
    generation.inflight += 1;
    return generation.producer.sendBatch(batch).then((metadata) => {
      this.settled(generation);
      return metadata;
    }, (error: unknown) => {
      this.settled(generation);
      // renewal starts before the pipeline hears of the failure, so its retry finds it under way
      if (generation === this.current && generation.stale === undefined) {
        const { reason } = classifyKafkaError(error);
        if (PRODUCER_STATE_ERRORS.has(reason)) {
          generation.stale = `Kafka refused the producer's batch sequence (${reason})`;
          void this.renew(generation.stale);
        }
      }
      throw error;
    });
  }

  private settled(generation: Generation): void {
    generation.inflight -= 1;
    if (generation.retired && generation.inflight === 0) void this.close(generation);
  }

  /** Replaces the kafkajs producer (at most once per 5 s; a no-op while not connected). Never throws. */
  renew(reason: string): Promise<void> {
    if (!this.connected || this.renewing !== undefined || this.now() - this.lastRenewal < MIN_RENEW_INTERVAL) return this.renewing ?? Promise.resolve();
    this.lastRenewal = this.now();
    this.renewing = (async () => {
      const next: Generation = { producer: this.create(), inflight: 0, retired: false, stale: undefined };
      try {
        await next.producer.connect();
      } catch (error) {
        this.logger.warn('could not replace the Kafka producer; keeping the current one', { reason, error: error instanceof Error ? error.message : String(error) });
        await next.producer.disconnect().catch(() => undefined);
        return;
      }
      if (!this.connected) {
        await next.producer.disconnect().catch(() => undefined);
        return;
      }
      const old = this.current;
      this.current = next;
      old.retired = true;
      this.logger.info('replaced the Kafka producer', { reason });
      if (old.inflight === 0) await this.close(old);
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async close(generation: Generation): Promise<void> {
    await generation.producer.disconnect().catch((error: unknown) => {
      this.logger.debug('disconnecting a replaced Kafka producer failed', { error: error instanceof Error ? error.message : String(error) });
    });
  }
}

import type { PartitionMetadata } from 'kafkajs';
import { javaKeyPartition, PICK_PARTITION, type RoutedMessage } from '../partitioning';
import type { TopicDirectory } from '../topic-directory';
import { EntryQueue } from './entry';
import { PartitionQueue } from './partition-queue';

/** One topic's queues: a queue per partition (indexed by partition id) and the records waiting for its partitions. */
export class TopicRoute {
  /** The topic's partitions as last read from the directory; undefined while unknown. */
  metadata: readonly PartitionMetadata[] | undefined = undefined;
  readonly partitions: Array<PartitionQueue | undefined> = [];
  /** Records admitted while the topic's partitions were unknown (missing topic, metadata not fetched yet), in order. */
  readonly unrouted = new EntryQueue();
  /** Removed from the router while idle: an entry still naming it (held by back-pressure) is routed again. */
  removed = false;
  /** Partitions of the topic with failures > 0 (backing off, or retrying). */
  failingPartitions = 0;

  constructor(readonly topic: string) {}

  /** Nothing waiting for the topic, and no partition holding, sending, or backing off: the route may go. */
  get idle(): boolean {
    if (this.unrouted.length > 0) return false;
    for (const queue of this.partitions) {
      if (queue !== undefined && (queue.bufferedBytes !== 0 || queue.length > 0 || queue.busy || queue.backingOff || queue.failures > 0)) return false;
    }
    return true;
  }
}

/**
 * Routes kept before idle ones are removed. A templated topic fed device-chosen names would otherwise keep a
 * route (and its partition queues) per name for ever. When a new route would pass `sweepAt`, the idle routes
 * go, and `sweepAt` becomes twice the routes left (at least this): the sweep's O(routes) cost is paid once
 * per that many new topics, never per record, and routes stay at most max(MIN_SWEEP_AT, 2 × routes holding
 * records), the latter bounded by the buffer (a route holds records only while they count against its limit).
 */
export const MIN_SWEEP_AT = 1024;

/** Kafka's own rule for topic names (Topic.validate in the Java code): 249 of [a-zA-Z0-9._-], not "." or "..". */
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** Whether Kafka could ever have this topic: a record for a name it refuses fails instead of waiting for it. */
export function isLegalTopic(topic: string): boolean {
  return LEGAL_TOPIC.test(topic) && topic !== '.' && topic !== '..';
}

/**
 * Chooses each record's partition when it is admitted, from the directory's metadata, with the record's own
 * picker (`message[PICK_PARTITION]`); an explicit `message.partition` the topic has is kept. The choice is
 * written to `message.partition`, so kafkajs sends the record there (its partitioner honours it).
 */
export class PartitionRouter {
  private readonly topics = new Map<string, TopicRoute>();
  /** Most actions have one constant topic: the last route is kept to skip the Map lookup. */
  private lastTopic: string | undefined;
  private lastRoute: TopicRoute | undefined;
  private sweepAt: number;

  constructor(
    private readonly directory: TopicDirectory,
    private readonly minSweepAt = MIN_SWEEP_AT,
  ) {
    this.sweepAt = minSweepAt;
  }

  /** Routes kept now (specs, diagnostics). */
  get size(): number {
    return this.topics.size;
  }

  /** The topic's queues; undefined for a name Kafka never accepts (no route is kept for it). */
  route(topic: string): TopicRoute | undefined {
    if (topic === this.lastTopic) return this.lastRoute as TopicRoute;
    let route = this.topics.get(topic);
    if (route === undefined) {
      if (!isLegalTopic(topic)) return undefined;
      if (this.topics.size >= this.sweepAt) this.sweep();
      route = new TopicRoute(topic);
      this.topics.set(topic, route);
    }
    this.lastTopic = topic;
    this.lastRoute = route;
    return route;
  }

  /** Removes the idle routes (see MIN_SWEEP_AT); a new topic's route is made on the topic's next record. */
  sweep(): void {
    for (const [topic, route] of this.topics) {
      if (!route.idle) continue;
      route.removed = true;
      this.topics.delete(topic);
    }
    if (this.lastRoute?.removed === true) {
      this.lastTopic = undefined;
      this.lastRoute = undefined;
    }
    this.sweepAt = Math.max(this.minSweepAt, 2 * this.topics.size);
  }

  /** The known route of a topic, without making one. */
  find(topic: string): TopicRoute | undefined {
    return this.topics.get(topic);
  }

  /** Reads the topic's partitions from the directory again; true when it has some. */
  refresh(route: TopicRoute): boolean {
    const metadata = this.directory.partitions(route.topic);
    route.metadata = metadata !== undefined && metadata.length > 0 ? metadata : undefined;
    return route.metadata !== undefined;
  }

  /**
   * The partition queue of the record, its partition chosen and set on the message; undefined while the
   * topic's partitions are unknown (the record then waits in the route's `unrouted` queue).
   */
  place(route: TopicRoute, message: RoutedMessage): PartitionQueue | undefined {
    let metadata = route.metadata;
    if (metadata === undefined) {
      if (!this.refresh(route)) return undefined;
      metadata = route.metadata as readonly PartitionMetadata[];
    }
    const partition = choosePartition(metadata, message);
    message.partition = partition;
    return (route.partitions[partition] ??= new PartitionQueue(route, partition));
  }

  forEachRoute(visit: (route: TopicRoute) => void): void {
    for (const route of this.topics.values()) visit(route);
  }

  forEachQueue(visit: (queue: PartitionQueue) => void): void {
    for (const route of this.topics.values()) {
      for (const queue of route.partitions) if (queue !== undefined) visit(queue);
    }
  }
}

/**
 * An explicit partition the topic has (a record read back from a disk log keeps the one it was given), else
 * the record's picker, else the Java client's default: murmur2 of the key, random without one.
 */
export function choosePartition(metadata: readonly PartitionMetadata[], message: RoutedMessage): number {
  const explicit = message.partition;
  const count = metadata.length;
  if (typeof explicit === 'number' && Number.isInteger(explicit) && explicit >= 0 && explicit < count) return explicit;
  const key = message.key === undefined || message.key === null ? null : (message.key as string | Buffer);
  const pick = message[PICK_PARTITION];
  const chosen = pick !== undefined ? pick(metadata, key) : key === null ? Math.floor(Math.random() * count) : javaKeyPartition(key, count);
  // a picker is the action's code: never let its answer index outside the topic
  return Number.isInteger(chosen) && chosen >= 0 && chosen < count ? chosen : 0;
}

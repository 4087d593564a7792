import type { PartitionMetadata } from 'kafkajs';
import type { TopicDirectory } from '../topic-directory';

/**
 * A TopicDirectory for unit specs: topics and their partitions are what the spec says. `onChange` listeners
 * are called on a later turn (never inside a call of the pipeline), as the real directory does; `settle()`
 * waits for that.
 */
export class FakeTopicDirectory implements TopicDirectory {
  private readonly topics = new Map<string, PartitionMetadata[]>();
  private readonly problems = new Map<string, string>();
  private readonly listeners = new Set<(topic: string) => void>();
  private readonly watched = new Map<string, number>();
  private readonly refused = new Set<string>();
  /** Topics the pipeline suspected, in order (one per failed request). */
  readonly suspected: string[] = [];
  /** Topics asked for while unknown. */
  readonly asked: string[] = [];
  started = false;
  closed = false;

  constructor(
    /** When set, every topic exists with this many partitions, known at once (a directory whose cache is warm). */
    private readonly everyTopic?: number,
  ) {}

  /**
   * Sets (or replaces) a topic with `count` partitions and tells the listeners. Every partition is led by broker 0
   * unless `leaderOf` says otherwise (the pipeline puts the batches of one leader's partitions in one request);
   * those in `leaderless` have no leader (-1).
   */
  createTopic(topic: string, count: number, options: { readonly leaderless?: readonly number[]; readonly leaderOf?: (partition: number) => number } = {}): void {
    this.topics.set(topic, metadataOf(count, options.leaderless, options.leaderOf));
    this.problems.delete(topic);
    this.change(topic);
  }

  /** Forgets a topic (deleted, or never there): records for it wait. */
  deleteTopic(topic: string, problem = `kafka topic "${topic}" does not exist`): void {
    this.topics.delete(topic);
    this.problems.set(topic, problem);
  }

  /** Tells the listeners, on a later turn, that the topic answers again (the probe's report). */
  change(topic: string): void {
    setImmediate(() => {
      for (const listener of this.listeners) listener(topic);
    });
  }

  /** Lets pending change notifications run. */
  settle(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  partitions(topic: string): readonly PartitionMetadata[] | undefined {
    let partitions = this.topics.get(topic);
    if (partitions === undefined && this.everyTopic !== undefined && !this.problems.has(topic)) {
      partitions = metadataOf(this.everyTopic);
      this.topics.set(topic, partitions);
    }
    if (partitions === undefined) this.asked.push(topic);
    return partitions;
  }

  async start(): Promise<void> {
    this.started = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** A topic never created says it does not exist, as the real directory does once its fetch is answered. */
  problem(topic: string): string | undefined {
    if (this.topics.has(topic)) return undefined;
    return this.problems.get(topic) ?? `kafka topic "${topic}" does not exist`;
  }

  /** Every topic is tracked unless the spec said it is refused (a full directory). */
  tracks(topic: string): boolean {
    return !this.refused.has(topic);
  }

  /** Makes the directory refuse to look the topic up, as the real one does when it tracks MAX_TOPICS already. */
  refuse(topic: string, problem = `kafka topic "${topic}" is not looked up: the connector already tracks 10000 topics in use`): void {
    this.refused.add(topic);
    this.problems.set(topic, problem);
  }

  suspect(topic: string): void {
    this.suspected.push(topic);
  }

  onChange(listener: (topic: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  watch(topic: string): () => void {
    this.watched.set(topic, (this.watched.get(topic) ?? 0) + 1);
    return () => {
      const count = (this.watched.get(topic) ?? 1) - 1;
      if (count === 0) this.watched.delete(topic);
      else this.watched.set(topic, count);
    };
  }

  /** Topics watched now. */
  watching(): string[] {
    return [...this.watched.keys()];
  }

  /** How many listeners are subscribed (a closed pipeline unsubscribes). */
  get listenerCount(): number {
    return this.listeners.size;
  }
}

function metadataOf(count: number, leaderless: readonly number[] = [], leaderOf: (partition: number) => number = () => 0): PartitionMetadata[] {
  const partitions: PartitionMetadata[] = [];
  for (let id = 0; id < count; id += 1) {
    const leader = leaderless.includes(id) ? -1 : leaderOf(id);
    partitions.push({ partitionErrorCode: 0, partitionId: id, leader, replicas: [leader], isr: [leader] });
  }
  return partitions;
}

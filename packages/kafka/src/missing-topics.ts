/**
 * Topics Kafka just reported as unknown, remembered for a short while. Without it every record for a
 * missing topic (a templated topic fed a bad value, say) would hold a request slot through kafkajs's
 * whole retry schedule (about 9 s with the default retry settings) before failing.
 */
export class MissingTopics {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly rememberMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  mark(topic: string): void {
    this.until.set(topic, this.now() + this.rememberMs);
  }

  /** True while the topic is remembered as missing; forgets it once the time is up. */
  has(topic: string): boolean {
    if (this.until.size === 0) return false;
    const until = this.until.get(topic);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.until.delete(topic);
    return false;
  }
}

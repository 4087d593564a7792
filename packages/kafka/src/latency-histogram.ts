/** Upper bounds (ms) of the buckets: roughly 1-2-5 steps, so p50/p99 are read to within a factor of about 2. */
const BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, Number.POSITIVE_INFINITY];

/**
 * Produce latency (request sent → acknowledged) in fixed buckets: recording is one comparison loop over
 * 16 numbers and no allocation, so it can run per request. Cumulative since the action was created.
 */
export class LatencyHistogram {
  private readonly counts = new Array<number>(BOUNDS.length).fill(0);
  private total = 0;
  private maxMs = 0;

  record(ms: number): void {
    let i = 0;
    while (ms > (BOUNDS[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.total += 1;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxMs;
  }

  /** Upper bound of the bucket holding the q-quantile (the max for the last, open bucket); 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BOUNDS.length; i += 1) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.min(BOUNDS[i] as number, this.maxMs);
    }
    return this.maxMs;
  }

  /** Bucket upper bounds and counts, for an exporter that wants the whole histogram. */
  buckets(): Array<{ readonly le: number; readonly count: number }> {
    return BOUNDS.map((le, i) => ({ le, count: this.counts[i] as number }));
  }
}

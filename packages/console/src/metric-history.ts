/**
 * The last minutes of a few metric series, for the rule detail's charts: a fixed ring of samples (one per
 * /api/stream snapshot, i.e. per second), oldest overwritten, read out in time order as uPlot's aligned
 * columns. Counters become per-second rates here, so a chart shows activity, not an ever-growing total.
 */

/** uPlot's AlignedData shape: x values (seconds since the epoch), then one array per series. */
export type AlignedColumns = [number[], ...Array<Array<number | null>>];

export class MetricHistory {
  private readonly times: Float64Array;
  private readonly series: Float64Array[];
  private next = 0;
  private size = 0;

  /** `capacity` samples of `seriesCount` series (300 at one a second = 5 minutes). */
  constructor(readonly seriesCount: number, readonly capacity = 300) {
    this.times = new Float64Array(capacity);
    this.series = Array.from({ length: seriesCount }, () => new Float64Array(capacity));
  }

  get length(): number {
    return this.size;
  }

  /** Adds one sample; `at` in epoch milliseconds, `values` one per series (missing ones count as 0). */
  push(at: number, values: readonly number[]): void {
    this.times[this.next] = at / 1000;
    for (let s = 0; s < this.seriesCount; s++) (this.series[s] as Float64Array)[this.next] = values[s] ?? 0;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  clear(): void {
    this.next = 0;
    this.size = 0;
  }

  /** The samples oldest first, as uPlot's columns (a copy: uPlot keeps what it is given). */
  columns(): AlignedColumns {
    const start = (this.next - this.size + this.capacity) % this.capacity;
    const pick = (ring: Float64Array): number[] => {
      const out = new Array<number>(this.size);
      for (let i = 0; i < this.size; i++) out[i] = ring[(start + i) % this.capacity] as number;
      return out;
    };
    return [pick(this.times), ...this.series.map(pick)];
  }
}

/**
 * Per-second rates of counters between two snapshots. A counter that went down was reset (Reset metrics,
 * a replaced rule): its new value is what happened since, so that is the count used. Undefined before
 * there is a previous snapshot, or when the clock did not move.
 */
export function counterRates(previous: { at: number; values: readonly number[] } | undefined, at: number, values: readonly number[]): number[] | undefined {
  if (previous === undefined) return undefined;
  const seconds = (at - previous.at) / 1000;
  if (!(seconds > 0)) return undefined;
  return values.map((value, i) => {
    const before = previous.values[i] ?? 0;
    const delta = value >= before ? value - before : value;
    return delta / seconds;
  });
}

/**
 * Feeds a MetricHistory with counter snapshots: each sample is the rate over the last `smoothing`
 * intervals between snapshots (5 s at one a second: steady traffic reads as a level, not as 0, 3, 0, 3 ...).
 */
export class RateHistory {
  readonly history: MetricHistory;
  private readonly recent: Array<{ at: number; values: readonly number[] }> = [];

  constructor(seriesCount: number, capacity = 300, private readonly smoothing = 5) {
    this.history = new MetricHistory(seriesCount, capacity);
  }

  /** Records counters read at `at`; returns true when a sample was added (from the second call on). */
  add(at: number, counters: readonly number[]): boolean {
    const previous = this.recent[this.recent.length - 1];
    // a counter that went down was reset: the window starts again from the snapshot before this one
    if (previous !== undefined && counters.some((value, i) => value < (previous.values[i] ?? 0))) this.recent.splice(0, this.recent.length - 1);
    const rates = counterRates(this.recent[0], at, counters);
    this.recent.push({ at, values: counters });
    if (this.recent.length > this.smoothing) this.recent.shift();
    if (rates === undefined) return false;
    this.history.push(at, rates);
    return true;
  }
}

/**
 * The x range of a chart: `windowSeconds` ending at the newest sample (x in epoch seconds), or at `nowMs`
 * before there is one.
 */
export function timeWindow(times: ArrayLike<number> | undefined, windowSeconds: number, nowMs: number): [number, number] {
  const count = times?.length ?? 0;
  const end = count > 0 ? (times as ArrayLike<number>)[count - 1] as number : nowMs / 1000;
  return [end - windowSeconds, end];
}

/**
 * Whether a series has fewer than two values between idx0 and idx1 (inclusive): a line needs two, so such a
 * series is drawn as dots, and a rule's first rate shows at once instead of after the next sample.
 */
export function tooFewForALine(column: ArrayLike<number | null | undefined> | undefined, idx0: number, idx1: number): boolean {
  if (column === undefined) return true;
  let values = 0;
  for (let i = Math.max(0, idx0); i <= idx1 && i < column.length; i++) {
    if (column[i] !== null && column[i] !== undefined && ++values > 1) return false;
  }
  return true;
}

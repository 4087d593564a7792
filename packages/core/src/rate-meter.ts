/**
 * Rates of a monotonically growing counter, as EMQX shows them: `current` (per second over the last
 * sampling interval), `max` (highest current rate since start) and `last5m` (average over the last five
 * minutes). The counter itself is read by sample(); nothing happens per message.
 */
export class RateMeter {
  private readonly window: number[] = [];
  /** Counters start at 0 (and are zeroed with reset()), so the first interval counts from 0 too. */
  private last = 0;
  current = 0;
  max = 0;
  last5m = 0;

  /** `windowSize` samples make up five minutes (with the default 5 s interval: 60). */
  constructor(private readonly intervalMs: number, private readonly windowSize = Math.round(300_000 / intervalMs)) {}

  /** Called every `intervalMs` with the counter's current value. */
  sample(count: number): void {
    const delta = count - this.last;
    this.last = count;
    this.current = (delta * 1000) / this.intervalMs;
    if (this.current > this.max) this.max = this.current;
    this.window.push(delta);
    if (this.window.length > this.windowSize) this.window.shift();
    let sum = 0;
    for (const d of this.window) sum += d;
    this.last5m = (sum * 1000) / (this.window.length * this.intervalMs);
  }

  /** Forgets history (used when counters are reset). */
  reset(): void {
    this.window.length = 0;
    this.last = 0;
    this.current = 0;
    this.max = 0;
    this.last5m = 0;
  }
}

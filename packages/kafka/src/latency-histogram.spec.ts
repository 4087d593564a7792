import { describe, expect, it } from '@jest/globals';
import { LatencyHistogram } from './latency-histogram';

describe(LatencyHistogram.name, () => {
  it('is all zero when empty', () => {
    const histogram = new LatencyHistogram();
    expect([histogram.count, histogram.max, histogram.quantile(0.5), histogram.quantile(0.99)]).toEqual([0, 0, 0, 0]);
  });

  it('reads quantiles as the upper bound of their bucket, capped by the max seen', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 98; i += 1) histogram.record(3);
    histogram.record(150);
    histogram.record(90_000);
    expect(histogram.count).toBe(100);
    expect(histogram.quantile(0.5)).toBe(5);
    expect(histogram.quantile(0.99)).toBe(200);
    expect(histogram.quantile(1)).toBe(90_000);
    expect(histogram.max).toBe(90_000);
    expect(histogram.buckets().find((bucket) => bucket.le === 5)).toEqual({ le: 5, count: 98 });
  });
});

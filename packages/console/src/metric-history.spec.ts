import { describe, expect, it } from '@jest/globals';
import { counterRates, MetricHistory, RateHistory, timeWindow, tooFewForALine } from './metric-history';

describe(MetricHistory.name, () => {
  it('reads samples oldest first as uPlot columns (x in seconds)', () => {
    const history = new MetricHistory(2, 4);
    history.push(1000, [1, 10]);
    history.push(2000, [2, 20]);
    expect(history.columns()).toEqual([[1, 2], [1, 2], [10, 20]]);
  });

  it('overwrites the oldest sample once full', () => {
    const history = new MetricHistory(1, 3);
    for (let s = 1; s <= 5; s++) history.push(s * 1000, [s]);
    expect(history.length).toBe(3);
    expect(history.columns()).toEqual([[3, 4, 5], [3, 4, 5]]);
  });

  it('is empty after clear()', () => {
    const history = new MetricHistory(1, 3);
    history.push(1000, [1]);
    history.clear();
    expect(history.columns()).toEqual([[], []]);
  });
});

describe('counterRates', () => {
  it('divides the increase by the seconds between the snapshots', () => {
    expect(counterRates({ at: 1000, values: [10, 5] }, 3000, [30, 5])).toEqual([10, 0]);
  });

  it('takes a counter that went down as reset: its value is the count since', () => {
    expect(counterRates({ at: 0, values: [100] }, 1000, [3])).toEqual([3]);
  });

  it('gives nothing without a previous snapshot or when the clock did not move', () => {
    expect(counterRates(undefined, 1000, [1])).toBeUndefined();
    expect(counterRates({ at: 1000, values: [1] }, 1000, [2])).toBeUndefined();
  });
});

describe(RateHistory.name, () => {
  it('adds a rate sample from the second snapshot on', () => {
    const rates = new RateHistory(1, 10, 1);
    expect(rates.add(1000, [0])).toBe(false);
    expect(rates.add(2000, [4])).toBe(true);
    expect(rates.add(4000, [8])).toBe(true);
    expect(rates.history.columns()).toEqual([[2, 4], [4, 2]]);
  });

  it('takes the rate over the last `smoothing` intervals', () => {
    const rates = new RateHistory(1, 10, 2);
    // a message every other second
    [0, 1, 1, 2, 2, 3].forEach((count, s) => rates.add(s * 1000, [count]));
    expect(rates.history.columns()[1]).toEqual([1, 0.5, 0.5, 0.5, 0.5]);
  });

  it('starts the window again after a reset', () => {
    const rates = new RateHistory(1, 10, 5);
    [10, 20, 30].forEach((count, s) => rates.add(s * 1000, [count]));
    rates.add(3000, [2]);
    rates.add(4000, [4]);
    expect(rates.history.columns()[1]).toEqual([10, 10, 2, 2]);
  });
});

describe('timeWindow', () => {
  it('ends at the newest sample, even when there is only one (uPlot would end it 1000 days later)', () => {
    expect(timeWindow([1_800_000_000], 300, 0)).toEqual([1_799_999_700, 1_800_000_000]);
    expect(timeWindow([100, 200, 250], 60, 0)).toEqual([190, 250]);
  });

  it('ends now before there is a sample', () => {
    expect(timeWindow([], 300, 1_800_000_000_000)).toEqual([1_799_999_700, 1_800_000_000]);
    expect(timeWindow(undefined, 300, 1_800_000_000_000)).toEqual([1_799_999_700, 1_800_000_000]);
  });
});

describe('tooFewForALine', () => {
  it('is true with no value or one value in view (drawn as dots), false from two', () => {
    expect(tooFewForALine([], 0, -1)).toBe(true);
    expect(tooFewForALine(undefined, 0, 0)).toBe(true);
    expect(tooFewForALine([5], 0, 0)).toBe(true);
    expect(tooFewForALine([null, 5], 0, 1)).toBe(true);
    expect(tooFewForALine([4, 5], 0, 1)).toBe(false);
    expect(tooFewForALine([0, null, 0], 0, 2)).toBe(false);
  });

  it('counts only the values between idx0 and idx1', () => {
    expect(tooFewForALine([1, 2, 3], 2, 2)).toBe(true);
    expect(tooFewForALine([1, 2, 3], 1, 2)).toBe(false);
  });
});

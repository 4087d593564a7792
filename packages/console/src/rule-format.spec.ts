import { describe, expect, it } from '@jest/globals';
import { breakdown, formatCount, formatRate } from './rule-format';

describe('formatCount', () => {
  it('groups thousands and shows a dash for no value', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(undefined)).toBe('–');
  });
});

describe('formatRate', () => {
  it('keeps fewer decimals as the rate grows', () => {
    expect(formatRate(0)).toBe('0 msg/s');
    expect(formatRate(0.2)).toBe('0.20 msg/s');
    expect(formatRate(42.25)).toBe('42.3 msg/s');
    expect(formatRate(1234.4)).toBe('1234 msg/s');
    expect(formatRate(Number.NaN)).toBe('–');
  });
});

describe('breakdown', () => {
  it('lists the parts that are not zero', () => {
    expect(breakdown([['queue full', 3], ['expired', 0], ['other', 1200]])).toBe('queue full 3, other 1,200');
    expect(breakdown([['expired', 0], ['other', undefined]])).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import type { StreamSnapshot } from './api-types';
import { flowRates, formatRate, perSecond } from './rates';

function snapshot(at: number, received: number[], success: number[]): StreamSnapshot {
  const source = (n: number) => ({ received: n, duplicates: 0, unrouted: 0, pending: 0, acknowledged: n, leftToBroker: 0 });
  const action = (n: number) => ({ success: n }) as unknown as StreamSnapshot['actions'][string];
  return {
    at,
    status: {},
    rules: {},
    sources: Object.fromEntries(received.map((n, i) => [`s${i}`, source(n)])),
    actions: Object.fromEntries(success.map((n, i) => [`a${i}`, action(n)])),
  };
}

describe('perSecond', () => {
  it('divides the delta by the elapsed seconds', () => {
    expect(perSecond(10, 30, 1000, 3000)).toBe(10);
  });
  it('is 0 without an earlier reading, when time did not move or when the counter was reset', () => {
    expect(perSecond(undefined, 30, undefined, 3000)).toBe(0);
    expect(perSecond(10, 30, 3000, 3000)).toBe(0);
    expect(perSecond(30, 5, 1000, 2000)).toBe(0);
  });
});

describe('flowRates', () => {
  it('sums sources for messages in and actions for records out', () => {
    const rates = flowRates(snapshot(0, [1, 2], [0]), snapshot(2000, [5, 8], [6]));
    expect(rates).toEqual({ in: 5, out: 3 });
  });
  it('is zero for the first snapshot', () => {
    expect(flowRates(undefined, snapshot(0, [5], [5]))).toEqual({ in: 0, out: 0 });
  });
});

describe('formatRate', () => {
  it.each([[0, '0'], [-1, '0'], [0.44, '0.4'], [9.96, '10'], [12.4, '12'], [1234, '1.2k']])('%d → %s', (rate, text) => {
    expect(formatRate(rate)).toBe(text);
  });
});

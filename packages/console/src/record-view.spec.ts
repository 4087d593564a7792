import { describe, expect, it } from '@jest/globals';
import { appendNewest, formatTimestamp, shownPreview } from './record-view';

describe('appendNewest', () => {
  const r = (partition: number, offset: string) => ({ partition, offset });

  it('appends a new record last', () => {
    expect(appendNewest([r(0, '1')], r(1, '1'))).toEqual([r(0, '1'), r(1, '1')]);
  });

  it('leaves the list as it is for a record it holds already', () => {
    const list = [r(0, '1'), r(0, '2')];
    expect(appendNewest(list, r(0, '2'))).toBe(list);
  });

  it('drops the oldest past the maximum', () => {
    expect(appendNewest([r(0, '1'), r(0, '2')], r(0, '3'), 2)).toEqual([r(0, '2'), r(0, '3')]);
  });
});

describe('shownPreview', () => {
  it('shows a short single-line text whole', () => {
    expect(shownPreview('{"temp": 27.5}')).toBeUndefined();
  });

  it('folds a long or multi-line text behind its first characters, whitespace collapsed', () => {
    expect(shownPreview('a'.repeat(10), 4)).toBe('aaaa…');
    expect(shownPreview('{\n  "a": 1,\n  "b": 2\n}')).toBe('{ "a": 1, "b": 2 }…');
  });
});

describe('formatTimestamp', () => {
  it('shows epoch milliseconds as local date and time with milliseconds', () => {
    const ms = new Date(2026, 11, 5, 9, 8, 7, 6).getTime();
    expect(formatTimestamp(String(ms))).toBe('2026-12-05 09:08:07.006');
  });

  it('keeps a text that is not a number', () => {
    expect(formatTimestamp('soon')).toBe('soon');
    expect(formatTimestamp('')).toBe('');
  });
});

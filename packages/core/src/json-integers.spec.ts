import { describe, expect, it } from '@jest/globals';
import { parseJsonExact, stringifyJson } from './json-integers';

describe('parseJsonExact', () => {
  it('reads an integer beyond 2^53 as an exact bigint, everything else as JSON.parse does', () => {
    expect(parseJsonExact('{"ts": 1733400000123456789, "l": [-18446744073709551615, 1.5, 1234567890123456], "s": "1733400000123456789"}'))
      .toEqual({ ts: 1733400000123456789n, l: [-18446744073709551615n, 1.5, 1234567890123456], s: '1733400000123456789' });
    for (const text of ['{"a": 1, "b": "x"}', '[0.12345678901234567, 1e16, 1.5e+1234567890123456, 12345678901234567.5]', '"\\"1733400000123456789"']) {
      expect(parseJsonExact(text)).toEqual(JSON.parse(text));
    }
  });

  it('refuses invalid JSON as JSON.parse does', () => {
    expect(() => parseJsonExact('{"ts": 1733400000123456789')).toThrow(SyntaxError);
    expect(() => parseJsonExact('[01733400000123456789]')).toThrow(SyntaxError);
  });
});

describe('stringifyJson', () => {
  it('writes a bigint as its digits, a JSON number, where JSON.stringify throws', () => {
    expect(() => JSON.stringify({ ts: 1n })).toThrow(TypeError);
    expect(stringifyJson({ ts: 1733400000123456789n, l: [-18446744073709551615n], s: 'a' })).toBe('{"ts":1733400000123456789,"l":[-18446744073709551615],"s":"a"}');
    expect(stringifyJson(1733400000123456789n)).toBe('1733400000123456789');
    expect(stringifyJson({ a: 1, b: [true, null] })).toBe('{"a":1,"b":[true,null]}');
    expect(stringifyJson(undefined)).toBeUndefined();
  });

  it('round-trips with parseJsonExact', () => {
    const value = { ts: 1733400000123456789n, m: { n: -9007199254740993n }, s: 'x' };
    expect(parseJsonExact(stringifyJson(value) as string)).toEqual(value);
  });
});

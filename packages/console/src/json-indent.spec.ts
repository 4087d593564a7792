import { describe, expect, it } from '@jest/globals';
import { indentJson } from './json-indent';

describe('indentJson', () => {
  it('indents as JSON.stringify(value, null, 2) does', () => {
    const value = { a: 1, b: [1, 'x, y', { c: null }], d: {}, e: [], f: 'say "{hi}": [ok]', g: '\\' };
    expect(indentJson(JSON.stringify(value))).toBe(JSON.stringify(value, null, 2));
  });

  it('keeps the digits of an integer beyond 2^53 and the .0 of a float, which JSON.parse would not', () => {
    expect(indentJson('{"ts":1733400000123456789,"t":2.0}')).toBe('{\n  "ts": 1733400000123456789,\n  "t": 2.0\n}');
  });

  it('drops whitespace outside strings only', () => {
    expect(indentJson('{ "a b" : [ 1 , 2 ] }')).toBe('{\n  "a b": [\n    1,\n    2\n  ]\n}');
  });
});

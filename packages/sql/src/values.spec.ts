import { describe, expect, it } from '@jest/globals';
import { SqlFloat, compareStrings, describeValue, formatFixed, formatFloat, formatInteger, toText, typeName, type SqlValue } from './values';

const F = (n: number): SqlFloat => new SqlFloat(n);

describe('formatFloat (float_to_binary with 10 decimals, compact)', () => {
  it.each<[number, string]>([
    [2, '2.0'],
    [3.1415926535898, '3.1415926536'],
    [0.300000004, '0.300000004'],
    [0.1 + 0.2, '0.3'],
    [-1.5, '-1.5'],
    [1e-11, '0.0'],
    [123456.789, '123456.789'],
    [1e22, '10000000000000000000000.0'],
    [-0, '-0.0'],
  ])('%p → %s', (n, expected) => {
    expect(formatFloat(n)).toBe(expected);
  });
});

describe('formatFloat fast path', () => {
  it('agrees with the exact 10-decimal formatting on random values of every magnitude', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 20000; i++) {
      const magnitude = 10 ** Math.floor(random() * 30 - 12);
      const digits = Math.floor(random() * 12);
      const n = Number(((random() - 0.5) * magnitude).toFixed(digits > 0 ? digits : 0));
      expect(formatFloat(n)).toBe(formatFixed(n, 10));
    }
  });
});

describe('formatInteger', () => {
  it.each<[number, string]>([
    [0, '0'],
    [-7, '-7'],
    [999_999_999, '999999999'],
    [1e9, '1000000000'],
    [1_000_000_001, '1000000001'],
    [1_765_000_000_123, '1765000000123'],
    [1_765_000_000_000_000, '1765000000000000'],
    [1_765_000_000_000_001, '1765000000000001'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [2 ** 60, '1152921504606847000'], // beyond 2^53: String()'s shortest digits, as before
    [-1_765_000_000_123, '-1765000000123'],
    [1e21, '1000000000000000000000'],
  ])('%p → %s', (n, text) => {
    expect(formatInteger(n)).toBe(text);
  });

  it('writes what String() writes for 100,000 safe integers around every power of ten from 1e9', () => {
    let seed = 7;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let exponent = 9; exponent <= 15; exponent++) {
      for (let i = 0; i < 100_000 / 7; i++) {
        const around = 10 ** exponent * (1 + Math.floor(next() * 9));
        const n = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, around + Math.floor((next() - 0.5) * 2e9)));
        expect(formatInteger(n)).toBe(String(n));
      }
    }
  });
});

describe('formatFixed', () => {
  it.each<[number, number, string]>([
    [20.2, 15, '20.199999999999999'],
    [1.5, 2, '1.5'],
    [1, 3, '1.0'],
    [3.14159, 2, '3.14'],
    [2.5, 0, '3'],
  ])('%p with %p decimals → %s', (n, d, expected) => {
    expect(formatFixed(n, d)).toBe(expected);
  });
});

describe('toText (str)', () => {
  it.each<[SqlValue, string]>([
    ['abc', 'abc'],
    [123, '123'],
    [-7, '-7'],
    [F(2), '2.0'],
    [27.5, '27.5'],
    [true, 'true'],
    [false, 'false'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{ a: 1 }, '{"a":1}'],
    [[1, 2, 300], '[1,2,300]'],
    [[104, 105], 'hi'],
    [[], ''],
    [['a', 'b'], '["a","b"]'],
    [Buffer.from('héllo'), 'héllo'],
    [1e21, '1000000000000000000000'],
  ])('%p → %j', (v, expected) => {
    expect(toText(v)).toBe(expected);
  });
});

describe('typeName / describeValue', () => {
  it.each<[SqlValue, string]>([
    [1, 'integer'],
    [1.5, 'float'],
    [F(1), 'float'],
    ['s', 'string'],
    [Buffer.alloc(1), 'binary'],
    [[], 'array'],
    [{}, 'map'],
    [null, 'null'],
    [undefined, 'undefined'],
    [true, 'boolean'],
  ])('%p is %s', (v, name) => {
    expect(typeName(v)).toBe(name);
  });

  it('cuts long values', () => {
    expect(describeValue('x'.repeat(100))).toMatch(/^'x+\.\.\. \(string\)$/);
    expect(describeValue('x'.repeat(100)).length).toBeLessThan(60);
  });
});

describe('compareStrings (UTF-8 byte order)', () => {
  it.each<[string, string, number]>([
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'a', 0],
    ['ab', 'a', 1],
    ['2', '10', 1],
    ['\uffff', '\u{1F600}', -1],
    ['\u{1F600}', '\uffff', 1],
    ['é', 'z', 1],
  ])('%j vs %j', (a, b, expected) => {
    expect(compareStrings(a, b)).toBe(expected);
  });
});

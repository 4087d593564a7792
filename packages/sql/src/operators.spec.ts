import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import {
  add,
  compare,
  compareTerms,
  divide,
  exactEquals,
  intDiv,
  multiply,
  negate,
  rem,
  subtract,
  topicMatch,
  type ComparisonOperator,
} from './operators';
import { SqlFloat, type SqlValue } from './values';

const F = (n: number): SqlFloat => new SqlFloat(n);
type Binary = (a: SqlValue, b: SqlValue) => SqlValue;

describe('arithmetic (§4.7)', () => {
  it.each<[string, Binary, SqlValue, SqlValue, SqlValue]>([
    ['+', add, 1, 2, 3],
    ['+', add, 1, 2.5, 3.5],
    ['+', add, 1.5, 1.5, F(3)],
    ['+', add, F(2), 1, F(3)],
    ['+', add, -1, 1, 0],
    ['+', add, 'abc', 1, 'abc1'],
    ['+', add, 1, 'abc', '1abc'],
    ['+', add, '5', 1, '51'],
    ['+', add, 'a', 'b', 'ab'],
    ['+', add, 'x', 2, 'x2'],
    ['+', add, 'x', F(2), 'x2.0'],
    ['+', add, 'v', true, 'vtrue'],
    ['+', add, 'v', undefined, 'vundefined'],
    ['+', add, 'v', null, 'vnull'],
    ['+', add, 'm', { a: 1 }, 'm{"a":1}'],
    ['-', subtract, 5, 3, 2],
    ['-', subtract, 5, 0.5, 4.5],
    ['-', subtract, 5.5, 0.5, F(5)],
    ['-', subtract, 3, 5, -2],
    ['*', multiply, 3, 4, 12],
    ['*', multiply, 3, 0.5, 1.5],
    ['*', multiply, F(2), 3, F(6)],
    ['*', multiply, -3, 0, 0],
    ['/', divide, 4, 2, F(2)],
    ['/', divide, 1, 4, 0.25],
    ['/', divide, 7, 2, 3.5],
    ['/', divide, F(9), 3, F(3)],
    ['/', divide, -1, 8, -0.125],
    ['div', intDiv, 7, 2, 3],
    ['div', intDiv, -7, 2, -3],
    ['div', intDiv, 7, -2, -3],
    ['div', intDiv, 1, 2, 0],
    ['mod', rem, 7, 2, 1],
    ['mod', rem, -7, 2, -1],
    ['mod', rem, 7, -2, 1],
    ['mod', rem, 6, 3, 0],
  ])('%s: %p, %p → %p', (_op, fn, a, b, expected) => {
    expect(fn(a, b)).toStrictEqual(expected);
  });

  it.each<[string, Binary, SqlValue, SqlValue]>([
    ['+', add, 1, undefined],
    ['+', add, undefined, undefined],
    ['+', add, true, 1],
    ['+', add, [1], 1],
    ['-', subtract, '5', 1],
    ['-', subtract, undefined, 1],
    ['-', subtract, 1, null],
    ['*', multiply, '2', 3],
    ['*', multiply, 2, undefined],
    ['/', divide, 1, 0],
    ['/', divide, 1, F(0)],
    ['/', divide, 1, 0.0],
    ['/', divide, '4', 2],
    ['/', divide, undefined, 2],
    ['div', intDiv, 7.5, 2],
    ['div', intDiv, 7, F(2)],
    ['div', intDiv, 7, 0],
    ['div', intDiv, '7', 2],
    ['mod', rem, 7, 0],
    ['mod', rem, 7.5, 2],
    ['mod', rem, undefined, 2],
    ['*', multiply, 2n ** 65535n, 4], // past MAX_INTEGER_BITS
  ])('%s raises on %p, %p', (op, fn, a, b) => {
    expect(() => fn(a, b)).toThrow(RuleEvaluationError);
    try {
      fn(a, b);
    } catch (error) {
      expect((error as Error).message).toContain(`'${op}'`);
    }
  });

  it('names the argument kinds in the error', () => {
    expect(() => subtract('5', 1)).toThrow("operator '-': needs two numbers, got '5' (string) and 1 (integer)");
  });

  it.each<[SqlValue, SqlValue]>([
    [5, -5],
    [-2.5, 2.5],
    [F(2), F(-2)],
    [0, 0],
  ])('negate %p → %p', (a, expected) => {
    expect(negate(a)).toStrictEqual(expected);
  });

  it.each<SqlValue>(['1', undefined, null, true, [1]])('negate raises on %p', (a) => {
    expect(() => negate(a)).toThrow(RuleEvaluationError);
  });
});

describe('compare (§4.6)', () => {
  const ops: ComparisonOperator[] = ['=', '!=', '<>', '<', '<=', '>', '>='];

  it.each<[SqlValue, SqlValue, boolean[]]>([
    // undefined and undefined: equal terms
    [undefined, undefined, [true, false, false, false, true, false, true]],
    // undefined and anything else: always false
    [undefined, 1, [false, false, false, false, false, false, false]],
    [1, undefined, [false, false, false, false, false, false, false]],
    [undefined, null, [false, false, false, false, false, false, false]],
    [undefined, 'undefined', [false, false, false, false, false, false, false]],
    // numbers
    [1, 1, [true, false, false, false, true, false, true]],
    [1, F(1), [true, false, false, false, true, false, true]],
    [1, 2, [false, true, true, true, true, false, false]],
    [2.5, 2, [false, true, true, false, false, true, true]],
    // number vs string: the string is parsed
    [1, '1', [true, false, false, false, true, false, true]],
    ['1', 1, [true, false, false, false, true, false, true]],
    [1, '1.0', [true, false, false, false, true, false, true]],
    [31400, '3.14e4', [true, false, false, false, true, false, true]],
    [10, '9', [false, true, true, false, false, true, true]],
    ['+200', 200, [true, false, false, false, true, false, true]],
    [-3, '-3', [true, false, false, false, true, false, true]],
    // atoms vs strings: by name
    [true, 'true', [true, false, false, false, true, false, true]],
    ['false', false, [true, false, false, false, true, false, true]],
    [null, 'null', [true, false, false, false, true, false, true]],
    [true, 'false', [false, true, true, false, false, true, true]],
    // strings byte-wise
    ['2', '10', [false, true, true, false, false, true, true]],
    ['abc', 'abd', [false, true, true, true, true, false, false]],
    ['a', 'a', [true, false, false, false, true, false, true]],
    ['é', 'z', [false, true, true, false, false, true, true]],
    // term order across types: number < atom < map < list < string
    [1, true, [false, true, true, true, true, false, false]],
    [true, { a: 1 }, [false, true, true, true, true, false, false]],
    [{ a: 1 }, [1], [false, true, true, true, true, false, false]],
    [[1], 'a', [false, true, true, true, true, false, false]],
    [null, true, [false, true, true, true, true, false, false]],
    [false, null, [false, true, true, true, true, false, false]],
    [true, false, [false, true, true, false, false, true, true]],
    // structures
    [[1, 2], [1, 2], [true, false, false, false, true, false, true]],
    [[1, 2], [1, F(2)], [true, false, false, false, true, false, true]],
    [[1], [1, 2], [false, true, true, true, true, false, false]],
    [{ a: 1 }, { a: 1 }, [true, false, false, false, true, false, true]],
    [{ a: 1 }, { a: 1, b: 0 }, [false, true, true, true, true, false, false]],
    [{ a: 2 }, { b: 1 }, [false, true, true, true, true, false, false]],
    [Buffer.from('abc'), 'abc', [true, false, false, false, true, false, true]],
    [null, null, [true, false, false, false, true, false, true]],
  ])('%p vs %p', (a, b, expected) => {
    expect(ops.map((op) => compare(op, a, b))).toEqual(expected);
  });

  it.each<[SqlValue, SqlValue]>([
    [1, 'abc'],
    ['abc', 1],
    [1, '1e5'],
    [1, '.5'],
    [1, '1.'],
    [1, ' 1'],
    [1, ''],
    [F(2), 'two'],
  ])('raises when %p is compared with the non-number %p', (a, b) => {
    expect(() => compare('=', a, b)).toThrow(RuleEvaluationError);
    expect(() => compare('=', a, b)).toThrow(/not a number/);
  });
});

describe('compareTerms', () => {
  it('sorts a mixed list in Erlang term order', () => {
    // (Array.prototype.sort never passes undefined to the comparator, so it is checked apart.)
    const values: SqlValue[] = ['b', [2], { k: 1 }, true, 3, null, false, 1.5, 'a', [1, 2]];
    const sorted = [...values].sort(compareTerms);
    expect(sorted).toEqual([1.5, 3, false, null, true, { k: 1 }, [1, 2], [2], 'a', 'b']);
    expect(compareTerms(true, undefined)).toBe(-1);
    expect(compareTerms(undefined, { k: 1 })).toBe(-1);
  });
});

describe('exactEquals (IN, CASE x WHEN, contains)', () => {
  it.each<[SqlValue, SqlValue, boolean]>([
    [1, 1, true],
    [1, F(1), false],
    [F(1), F(1), true],
    [1.5, 1.5, true],
    [1, '1', false],
    ['a', 'a', true],
    ['a', Buffer.from('a'), true],
    [Buffer.from('a'), 'a', true],
    [Buffer.from('a'), Buffer.from('a'), true],
    [null, null, true],
    [undefined, undefined, true],
    [null, undefined, false],
    [true, true, true],
    [true, 'true', false],
    [[1, { a: 'x' }], [1, { a: 'x' }], true],
    [[1, { a: 'x' }], [1, { a: 'y' }], false],
    [[1], [F(1)], false],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[], {}, false],
  ])('%p =:= %p is %p', (a, b, expected) => {
    expect(exactEquals(a, b)).toBe(expected);
  });
});

describe('topicMatch (§6)', () => {
  it.each<[string, string, boolean]>([
    ['t/a', 't/a', true],
    ['t/a', 't/b', false],
    ['t/a', 't/+', true],
    ['t/a/b', 't/+', false],
    ['t/a/b', 't/#', true],
    ['t', 't/#', true],
    ['sport', 'sport/#', true],
    ['t/+/a', 't/#', true],
    ['t', 't/+', false],
    ['a//c', 'a/+/c', true],
    ['a//c', 'a//c', true],
    ['a/b/c', 'a/+/+', true],
    ['a/b', '#', true],
    ['$SYS/broker', '#', false],
    ['$SYS/broker', '+/broker', false],
    ['$SYS/broker', '$SYS/#', true],
    ['$SYS/broker', '$SYS/+', true],
    ['a/$x', 'a/+', true],
    ['/a', '+/a', true],
    ['/a', '/a', true],
    ['a/', 'a/+', true],
    ['a', 'a/b', false],
    ['a/b', 'a', false],
    ['', '+', true],
    ['a/b/c', '+/b/#', true],
    ['ab', 'a', false],
    ['a', 'ab', false],
  ])('%j =~ %j is %p', (topic, filter, expected) => {
    expect(topicMatch(topic, filter)).toBe(expected);
  });

  it('is false when either side is undefined', () => {
    expect(topicMatch(undefined, '#')).toBe(false);
    expect(topicMatch('a', undefined)).toBe(false);
  });

  it('accepts binaries and raises on other kinds', () => {
    expect(topicMatch(Buffer.from('a/b'), 'a/+')).toBe(true);
    expect(() => topicMatch(1, '#')).toThrow(RuleEvaluationError);
  });
});

describe('string + and maxStringSize', () => {
  it('refuses a concatenation over the limit before building it', () => {
    const half = 'x'.repeat(600);
    expect(() => add(half, half, 1024)).toThrow(RuleEvaluationError);
    expect(() => add(half, half, 1024)).toThrow(
      "operator '+': the concatenated string would be 1200 characters, over the limit of 1024 (maxStringSize; raise it",
    );
    expect(add(half, 'y', 1024)).toBe(`${half}y`);
    expect(add(half, half, 1200)).toBe(half + half);
  });

  it('bounds the JSON text of a map or list joined to a string', () => {
    const big = { k: 'x'.repeat(2000) };
    expect(() => add(big, '', 1024)).toThrow(/^operator '\+': the JSON text of the map would be longer than 1024/);
    expect(() => add('', ['y'.repeat(2000)], 1024)).toThrow(RuleEvaluationError);
  });

  it('leaves numbers alone whatever the limit', () => {
    expect(add(1, 2, 1)).toBe(3);
    expect(add(1.5, 1.5, 1)).toEqual(F(3));
  });
});

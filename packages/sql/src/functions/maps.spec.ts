import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlFloat, type SqlValue } from '../values';
import { lookupFunction, type FunctionContext } from './index';

const F = (n: number): SqlFloat => new SqlFloat(n);
const ctx: FunctionContext = { input: {}, inCondition: false };
const call = (name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, ctx);

describe('map functions (§8.5)', () => {
  const m = { a: { b: 1 }, 'x.y': 2, s: '{"k":"v"}' };

  it.each<[string, SqlValue[], SqlValue]>([
    ['map_new', [], {}],
    ['map_get', ['a', m], { b: 1 }],
    ['map_get', ['a.b', m], 1],
    ['map_get', ['a.c', m], undefined],
    ['map_get', ['a.c', m, 'dflt'], 'dflt'],
    ['map_get', ['x.y', m], undefined],
    ['map_get', ['s.k', m], 'v'],
    ['map_get', ['a.b', '{"a":{"b":2.0}}'], F(2)],
    ['map_get', ['a', 'not json', 0], 0],
    ['map_get', ['a', 1, 'd'], 'd'],
    ['map_get', ['a.b.c', { a: { b: 5 } }, 'd'], 'd'],
    ['map_put', ['c', 3, { a: 1 }], { a: 1, c: 3 }],
    ['map_put', ['a', 3, { a: 1 }], { a: 3 }],
    ['map_put', ['a.b.c', 1, {}], { a: { b: { c: 1 } } }],
    ['map_put', ['a.b', 1, { a: { x: 0 } }], { a: { x: 0, b: 1 } }],
    ['map_put', ['a.b', 1, { a: 'str' }], { a: { b: 1 } }],
    ['map_put', ['k', 'v', undefined], { k: 'v' }],
    ['map_put', ['k', 'v', [1]], { k: 'v' }],
    ['mget', ['a', { a: 1 }], 1],
    ['mget', ['x.y', m], 2],
    ['mget', ['a.b', m], undefined],
    ['mget', ['z', { a: 1 }, 'd'], 'd'],
    ['mget', ['k', '{"k":[1]}'], [1]],
    ['mget', [true, { true: 't' }], 't'],
    ['mget', [['a', 'b'], { a: { b: 1 } }, 'd'], 'd'],
    ['mget', [1, { 1: 'one' }, 'd'], 'd'],
    ['mput', ['x.y', 1, {}], { 'x.y': 1 }],
    ['mput', ['a', 2, '{"a":1,"b":2}'], { a: 2, b: 2 }],
    ['mput', ['k', undefined, { k: 1 }], { k: undefined }],
    ['map_keys', [{ b: 1, a: 2, c: 3 }], ['a', 'b', 'c']],
    ['map_keys', ['{"z":1,"y":2}'], ['y', 'z']],
    ['map_keys', [{}], []],
    ['map_values', [{ b: 1, a: 2 }], [2, 1]],
    ['map_values', ['{"b":"x","a":null}'], [null, 'x']],
    ['map_to_entries', [{ b: 1, a: 'x' }], [{ key: 'a', value: 'x' }, { key: 'b', value: 1 }]],
    ['map_to_entries', [{}], []],
    ['map_size', [{ a: 1, b: 2 }], 2],
    ['map_size', ['{}'], 0],
    ['map_size', [[]], 0],
    ['map_size', ['{"a" : "b"}'], 1],
    ['mget', ['a', '{"a" : 1}'], 1],
    ['mput', ['a.b', 2, { 'a.b': 1 }], { 'a.b': 2 }],
    ['map_put', ['a.c', 1, { a: { b: 1 } }], { a: { b: 1, c: 1 } }],
    ['map_to_entries', ['{"a":1,"b":"b"}'], [{ key: 'a', value: 1 }, { key: 'b', value: 'b' }]],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(name, ...args)).toStrictEqual(expected);
  });

  it('map_put does not modify its argument', () => {
    const original = { a: { b: 1 } };
    call('map_put', 'a.c', 2, original);
    call('mput', 'z', 2, original);
    expect(original).toStrictEqual({ a: { b: 1 } });
  });

  it.each<[string, SqlValue[]]>([
    ['map_get', [1, {}]],
    ['map_put', [undefined, 1, {}]],
    ['mget', ['a', 'not json']],
    ['mget', ['a', 1]],
    ['mput', ['a', 1, '[1]']],
    ['mput', [[1], 1, {}]],
    ['map_keys', [1]],
    ['map_keys', ['[1,2]']],
    ['map_values', [undefined]],
    ['map_to_entries', [[1]]],
    ['map_size', [null]],
    ['map_new', [1]],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });
});

describe('array functions (§8.6)', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['nth', [1, ['a', 'b', 'c']], 'a'],
    ['nth', [3, ['a', 'b', 'c']], 'c'],
    ['length', [[1, 2, 3]], 3],
    ['length', [[]], 0],
    ['sublist', [2, [1, 2, 3]], [1, 2]],
    ['sublist', [5, [1, 2, 3]], [1, 2, 3]],
    ['sublist', [0, [1, 2, 3]], []],
    ['sublist', [2, 1, [1, 2, 3]], [2]],
    ['sublist', [2, 5, [1, 2, 3]], [2, 3]],
    ['sublist', [4, 1, [1, 2, 3]], []],
    ['sublist', [4, 2, [1, 2, 3, 4]], [4]],
    ['sublist', [5, 2, [1, 2, 3, 4]], []],
    ['sublist', [1, 1, [1, 2, 3, 4]], [1]],
    ['contains', ['a', ['', 'ab', 3, 'a']], true],
    ['contains', ['c', ['', 'ab', 3, 'a']], false],
    ['contains', [{ a: 'b' }, [{ a: 1 }, { a: 'b' }]], true],
    ['contains', [{ a: 'b' }, [{ a: 1 }]], false],
    ['first', [[1, 2]], 1],
    ['last', [[1, 2]], 2],
    ['contains', [2, [1, 2, 3]], true],
    ['contains', [4, [1, 2, 3]], false],
    ['contains', [F(2), [1, 2, 3]], false],
    ['contains', ['1', [1]], false],
    ['contains', [{ a: [1] }, [{ a: [1] }]], true],
    ['contains', [undefined, [undefined]], true],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['nth', [0, [1]]],
    ['nth', [2, [1]]],
    ['nth', [-1, [1]]],
    ['nth', ['1', [1]]],
    ['nth', [1, 'abc']],
    ['length', ['abc']],
    ['length', [{}]],
    ['sublist', [-1, [1]]],
    ['sublist', [0, 1, [1]]],
    ['sublist', [1, -1, [1]]],
    ['sublist', [1, 'x']],
    ['first', [[]]],
    ['last', [[]]],
    ['first', ['abc']],
    ['contains', [1, 'abc']],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });
});

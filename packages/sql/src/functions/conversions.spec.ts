import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlFloat, type SqlValue } from '../values';
import { lookupFunction, type FunctionContext } from './index';

const F = (n: number): SqlFloat => new SqlFloat(n);
const ctx: FunctionContext = { input: {}, inCondition: false };
const call = (name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, ctx);

describe('type tests (§8.3)', () => {
  const samples: [string, SqlValue][] = [
    ['undefined', undefined],
    ['null', null],
    ['true', true],
    ['int', 1],
    ['float', 1.5],
    ['integral float', F(2)],
    ['string', 'a'],
    ['binary', Buffer.from([0xff])],
    ['map', { a: 1 }],
    ['array', [1]],
  ];
  const expectations: Record<string, string[]> = {
    is_null: ['undefined'],
    is_not_null: ['null', 'true', 'int', 'float', 'integral float', 'string', 'binary', 'map', 'array'],
    is_null_var: ['undefined', 'null'],
    is_not_null_var: ['true', 'int', 'float', 'integral float', 'string', 'binary', 'map', 'array'],
    is_str: ['string', 'binary'],
    is_bool: ['true'],
    is_int: ['int'],
    is_float: ['float', 'integral float'],
    is_num: ['int', 'float', 'integral float'],
    is_map: ['map'],
    is_array: ['array'],
  };
  const cases: [string, string, SqlValue, boolean][] = [];
  for (const [fn, trueFor] of Object.entries(expectations)) {
    for (const [label, value] of samples) cases.push([fn, label, value, trueFor.includes(label)]);
  }
  it.each(cases)('%s(%s) is %p', (fn, _label, value, expected) => {
    expect(call(fn, value)).toBe(expected);
  });

  it('is_bool(false) is true (the code, not the manual: §11.4)', () => {
    expect(call('is_bool', false)).toBe(true);
  });

  it.each<[SqlValue, boolean]>([
    [[], true],
    ['', true],
    [{}, true],
    ['{}', true],
    [' { } ', true],
    [[1], false],
    [{ a: 1 }, false],
    ['{"a":1}', false],
  ])('is_empty(%p) is %p', (v, expected) => {
    expect(call('is_empty', v)).toBe(expected);
  });

  it.each<SqlValue>([1, 'abc', undefined])('is_empty(%p) raises', (v) => {
    expect(() => call('is_empty', v)).toThrow(RuleEvaluationError);
  });
});

describe('conversions (§8.3)', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['str', ['a'], 'a'],
    ['str', [12], '12'],
    ['str', [F(2)], '2.0'],
    ['str', [3.14159265358979], '3.1415926536'],
    ['str', [0.300000004], '0.300000004'],
    ['str', [true], 'true'],
    ['str', [null], 'null'],
    ['str', [undefined], 'undefined'],
    ['str', [{ a: [1, 'x'] }], '{"a":[1,"x"]}'],
    ['str', [[104, 105]], 'hi'],
    ['str_utf8', ['héllo'], 'héllo'],
    ['str_utf8', [12], '12'],
    ['str_utf8', [[104, 233]], 'hé'],
    // A list that is not code points is written as JSON, as str() does (EMQX 5.x).
    ['str_utf8', [[{ a: 1 }, { '你好👋': 1 }]], '[{"a":1},{"你好👋":1}]'],
    ['str_utf8', [['a', 'b']], '["a","b"]'],
    ['str_utf16_le', ['hi'], Buffer.from([0x68, 0, 0x69, 0])],
    ['str_utf16_le', [1], Buffer.from([0x31, 0])],
    ['int', [5], 5],
    ['int', [3.9], 3],
    ['int', [-3.14], -4],
    ['int', [F(7)], 7],
    ['int', [true], 1],
    ['int', [false], 0],
    ['int', ['42'], 42],
    ['int', ['+200'], 200],
    ['int', ['-17'], -17],
    ['int', ['3.1415e2'], 314],
    ['int', ['2.5'], 2],
    ['float', [1], F(1)],
    ['float', [1.5], 1.5],
    ['float', ['1.5'], 1.5],
    ['float', ['3'], F(3)],
    ['float', ['1.0e2'], F(100)],
    ['float', [3.14159, 2], 3.14],
    ['float', [2, 3], F(2)],
    ['float', ['2.71828', 3], 2.718],
    ['float2str', [20.2, 15], '20.199999999999999'],
    ['float2str', [1.5, 3], '1.5'],
    ['float2str', [F(2), 2], '2.0'],
    ['float2str', [3.14159, 2], '3.14'],
    ['bool', [true], true],
    ['bool', ['true'], true],
    ['bool', [1], true],
    ['bool', [F(1)], true],
    ['bool', [false], false],
    ['bool', ['false'], false],
    ['bool', [0], false],
    ['bool', [F(0)], false],
    ['map', [{ a: 1 }], { a: 1 }],
    ['map', ['{"a":{"b":2.0}}'], { a: { b: F(2) } }],
    ['map', [[]], {}],
    ['bin2hexstr', ['abc'], '616263'],
    ['bin2hexstr', [Buffer.from([0, 255, 16])], '00FF10'],
    ['bin2hexstr', [''], ''],
    ['bin2hexstr', ['abc', '0x'], '0x616263'],
    ['sqlserver_bin2hexstr', ['abc'], '0x616263'],
    ['hexstr2bin', ['616263'], 'abc'],
    ['hexstr2bin', ['6A6b'], 'jk'],
    ['hexstr2bin', ['A'], '\n'],
    ['hexstr2bin', ['00ff'], Buffer.from([0, 255])],
    ['hexstr2bin', ['0x616263', '0x'], 'abc'],
    ['hexstr2bin', [''], ''],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['int', ['abc']],
    ['int', ['1e5']],
    ['int', [undefined]],
    ['int', [null]],
    ['int', [[1]]],
    ['float', ['abc']],
    ['float', [true]],
    ['float', [undefined]],
    ['float', [1.5, 0]],
    ['float', [1.5, -1]],
    ['float2str', [2, 2]],
    ['float2str', ['1.5', 2]],
    ['float2str', [1.5, -1]],
    ['bool', ['yes']],
    ['bool', [2]],
    ['bool', [undefined]],
    ['bool', ['TRUE']],
    ['map', ['[1,2]']],
    ['map', ['not json']],
    ['map', [1]],
    ['map', [[1]]],
    ['bin2hexstr', [1]],
    ['bin2hexstr', [undefined]],
    ['hexstr2bin', ['zz']],
    ['hexstr2bin', ['616263', '0x']],
    ['hexstr2bin', [12]],
    ['str_utf8', [Buffer.from([0xff])]],
    ['str', []],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });
});

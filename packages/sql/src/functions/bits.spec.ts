import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlFloat, type SqlValue } from '../values';
import { lookupFunction, type FunctionContext } from './index';

const F = (n: number): SqlFloat => new SqlFloat(n);
const ctx: FunctionContext = { input: {}, inCondition: false };
const call = (name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, ctx);
const hex = (h: string): Buffer => Buffer.from(h, 'hex');

describe('bit functions (§8.8)', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['bitnot', [0], -1],
    ['bitnot', [5], -6],
    ['bitnot', [-1], 0],
    ['bitand', [12, 10], 8],
    ['bitand', [-1, 255], 255],
    ['bitor', [12, 10], 14],
    ['bitxor', [12, 10], 6],
    ['bitsl', [1, 4], 16],
    ['bitsl', [1, 40], 1099511627776],
    ['bitsl', [3, 0], 3],
    ['bitsl', [16, -2], 4],
    ['bitsr', [16, 2], 4],
    ['bitsr', [-16, 2], -4],
    ['bitsr', [-1, 10], -1],
    ['bitsr', [5, 10], 0],
    ['bitand', [2 ** 40 + 3, 2 ** 40 + 1], 2 ** 40 + 1],
    ['bitsize', ['abc'], 24],
    ['bitsize', [''], 0],
    ['bitsize', [hex('ff00')], 16],
    ['bytesize', ['héllo'], 6],
    ['bytesize', [hex('0102')], 2],
    ['bytesize', [[1, 2, 'ab']], 4],
    ['subbits', ['abc', 8], 97],
    ['subbits', ['abc', 16], 0x6162],
    ['subbits', ['abc', 9, 8], 98],
    ['subbits', ['abc', 17, 8, 'integer', 'signed', 'big'], 99],
    ['subbits', ['abc', 9, 16, 'integer', 'unsigned', 'big'], 0x6263],
    ['subbits', ['abc', 9, 16, 'integer', 'unsigned', 'little'], 0x6362],
    ['subbits', ['abc', 9, 16, 'integer'], 0x6263],
    ['subbits', ['abc', 9, 16, 'integer', 'signed'], 0x6263],
    ['subbits', ['abc', 17, 16], 99],
    ['subbits', ['abc', 25, 8], undefined],
    ['subbits', ['abc', 0, 8], undefined],
    ['subbits', ['', 1, 8], undefined],
    ['subbits', [hex('ff'), 1, 8, 'integer', 'signed'], -1],
    ['subbits', [hex('ff'), 1, 8, 'integer', 'unsigned'], 255],
    ['subbits', [hex('f0'), 1, 4], 15],
    ['subbits', [hex('f0'), 5, 4], 0],
    ['subbits', [hex('80'), 1, 4, 'integer', 'signed'], -8],
    ['subbits', [hex('0f'), 5, 4, 'integer', 'signed'], -1],
    ['subbits', [hex('bca0'), 1, 12, 'integer', 'unsigned', 'little'], 0xabc],
    ['subbits', [hex('3ff0000000000000'), 1, 64, 'float'], F(1)],
    ['subbits', [hex('000000000000f03f'), 1, 64, 'float', 'unsigned', 'little'], F(1)],
    ['subbits', [hex('40490fdb'), 1, 32, 'float'], Math.fround(Math.PI)],
    ['subbits', [hex('c0000000'), 1, 32, 'float', 'signed', 'big'], F(-2)],
    ['subbits', [hex('3c00'), 1, 16, 'float'], F(1)],
    ['subbits', [hex('3e00'), 1, 16, 'float'], 1.5],
    ['subbits', [hex('003c'), 1, 16, 'float', 'unsigned', 'little'], F(1)],
    ['subbits', [hex('ff3c00'), 9, 64, 'float'], F(1)],
    ['subbits', ['abc', 1, 8, 'bits'], 'a'],
    ['subbits', ['abc', 9, 16, 'bits'], 'bc'],
    ['subbits', [hex('ff'), 1, 4, 'bits'], hex('0f')],
    ['subbits', [hex('9f4e58'), 1, 6, 'bits', 'unsigned', 'big'], hex('27')],
    ['subbits', [hex('ff'), 1], 1],
    ['subbits', [hex('ff'), 5], 31],
    ['subbits', [hex('ff'), 8], 255],
    ['subbits', [hex('ff'), 1, 3], 7],
    ['subbits', [hex('ff'), 2, 7], 127],
    ['subbits', [hex('ff'), 2, 8], 127],
    ['subbits', [hex('000001c8'), 1, 32, 'integer', 'signed', 'big'], 456],
    ['subbits', [hex('fffffe38'), 1, 32, 'integer', 'signed', 'big'], -456],
    ['subbits', [hex('000001c8'), 1, 32, 'integer', 'unsigned'], 456],
    ['subbits', [hex('4015333333333333'), 1, 64, 'float'], 5.3],
    ['subbits', [hex('c015333333333333'), 1, 64, 'float', 'signed', 'big'], -5.3],
    ['subbits', ['abc', 1, 0], 0],
    ['subbits', ['ab', 1, -1], 0x6162],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['bitnot', [1.5]],
    ['bitand', [1, '1']],
    ['bitor', [undefined, 1]],
    ['bitxor', [F(1), 1]],
    ['bitsl', [1, 1.5]],
    ['bitsr', ['a', 1]],
    ['bitsize', [1]],
    ['bytesize', [1]],
    ['bytesize', [[{}]]],
    ['subbits', [1, 8]],
    ['subbits', ['abc', '8']],
    ['subbits', ['abc', 1, 8, 'string']],
    ['subbits', ['abc', 1, 8, 'integer', 'maybe']],
    ['subbits', ['abc', 1, 8, 'integer', 'signed', 'middle']],
    ['subbits', ['abc', 1, 24, 'float']],
    ['subbits', [hex('7ff0000000000000'), 1, 64, 'float']],
    ['subbits', ['a']],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });
});

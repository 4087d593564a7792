import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlFloat, type SqlValue } from '../values';
import { lookupFunction, type FunctionContext } from './index';

const F = (n: number): SqlFloat => new SqlFloat(n);
const ctx: FunctionContext = { input: {}, inCondition: false };
const call = (name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, ctx);

describe('math functions (§8.2)', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['abs', [-3], 3],
    ['abs', [3], 3],
    ['abs', [0], 0],
    ['ceil', [1.2], 2],
    ['ceil', [-1.2], -1],
    ['ceil', [5], 5],
    ['ceil', [F(2)], 2],
    ['floor', [1.8], 1],
    ['floor', [-1.2], -2],
    ['floor', [7], 7],
    ['round', [4.5], 5],
    ['round', [-4.5], -5],
    ['round', [4.4], 4],
    ['round', [-0.4], 0],
    ['round', [3], 3],
    ['round', [2.5], 3],
    ['sqrt', [4], F(2)],
    ['sqrt', [2], Math.SQRT2],
    ['exp', [0], F(1)],
    ['exp', [1], Math.E],
    ['log', [Math.E], F(1)],
    ['log10', [1000], F(3)],
    ['log2', [8], F(3)],
    ['sin', [0], F(0)],
    ['cos', [0], F(1)],
    ['tan', [0], F(0)],
    ['asin', [1], Math.PI / 2],
    ['acos', [1], F(0)],
    ['atan', [1], Math.PI / 4],
    ['sinh', [0], F(0)],
    ['cosh', [0], F(1)],
    ['tanh', [0], F(0)],
    ['asinh', [0], F(0)],
    ['acosh', [1], F(0)],
    ['atanh', [0], F(0)],
    ['power', [2, 3], F(8)],
    ['power', [2, 0.5], Math.SQRT2],
    ['power', [2, -1], 0.5],
    ['fmod', [7, 2], F(1)],
    ['fmod', [-7, 2], F(-1)],
    ['fmod', [7.5, 2], 1.5],
    ['div', [7, 2], 3],
    ['div', [-7, 2], -3],
    ['mod', [-7, 2], -1],
    ['mod', [7, 3], 1],
    ['eq', [1, F(1)], true],
    ['eq', [1, 2], false],
    ['eq', ['a', 'a'], true],
    ['eq', [1, '1'], false],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['abs', [-1.2]],
    ['abs', ['1']],
    ['abs', [undefined]],
    ['ceil', ['1.5']],
    ['floor', [null]],
    ['round', [undefined]],
    ['sqrt', [-1]],
    ['sqrt', ['4']],
    ['log', [0]],
    ['log', [-1]],
    ['exp', [1000]],
    ['asin', [2]],
    ['power', [10, 400]],
    ['power', ['2', 2]],
    ['fmod', [1, 0]],
    ['div', [1, 0]],
    ['div', [1.5, 1]],
    ['mod', [1, 0]],
    ['mod', ['1', 1]],
    ['abs', []],
    ['abs', [1, 2]],
    ['power', [2]],
    ['random', [1]],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });

  it('abs names the function and the argument kind', () => {
    expect(() => call('abs', -1.2)).toThrow('function abs(): argument 1 must be an integer, got -1.2 (float)');
  });

  it('reports a wrong argument count', () => {
    expect(() => call('abs', 1, 2)).toThrow('function abs(): takes 1 argument, got 2');
    expect(() => call('power', 1)).toThrow('function power(): takes 2 arguments, got 1');
  });

  it('random() is a float in [0, 1)', () => {
    for (let i = 0; i < 50; i++) {
      const r = call('random');
      const n = r instanceof SqlFloat ? r.value : (r as number);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(n).toBeLessThan(1);
    }
  });
});

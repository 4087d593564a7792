import { intOf, makeFloat } from '../values';
import { compareTerms, intDiv, rem } from '../operators';
import { badArg, floatResult, number, type FunctionDef } from './args';

/** A C-library float function: any number in, a float out; NaN/Infinity raise as Erlang's math module does. */
function unary(name: string, f: (x: number) => number): FunctionDef {
  return [name, 1, 1, (args) => floatResult(name, f(number(name, 1, args[0])))];
}

/**
 * Integer result of a rounding function; integers (bigints too) pass through unchanged. A float beyond
 * 2^53 rounds to the exact integer its double holds, as Erlang's round/1 does.
 */
function rounding(name: string, f: (x: number) => number): FunctionDef {
  return [
    name,
    1,
    1,
    (args) => {
      const v = args[0];
      if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') return v;
      const r = f(number(name, 1, v));
      if (r === 0) return 0;
      return Number.isSafeInteger(r) ? r : intOf(BigInt(r));
    },
  ];
}

/** erlang:round/1 rounds halves away from zero (round(-4.5) = -5), unlike Math.round. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export const MATH_FUNCTIONS: readonly FunctionDef[] = [
  [
    'abs',
    1,
    1,
    // Integers only in EMQX's code, despite the manual's abs(-1.2) (RULE-SQL.md §11.1).
    (args) => {
      const n = args[0];
      if (typeof n === 'bigint') return n < 0n ? -n : n;
      if (typeof n !== 'number' || !Number.isInteger(n)) return badArg('abs', 1, 'an integer', n);
      return n < 0 ? -n : n;
    },
  ],
  rounding('ceil', Math.ceil),
  rounding('floor', Math.floor),
  rounding('round', roundHalfAway),
  unary('sqrt', Math.sqrt),
  unary('exp', Math.exp),
  unary('log', Math.log),
  unary('log10', Math.log10),
  unary('log2', Math.log2),
  unary('sin', Math.sin),
  unary('cos', Math.cos),
  unary('tan', Math.tan),
  unary('asin', Math.asin),
  unary('acos', Math.acos),
  unary('atan', Math.atan),
  unary('sinh', Math.sinh),
  unary('cosh', Math.cosh),
  unary('tanh', Math.tanh),
  unary('asinh', Math.asinh),
  unary('acosh', Math.acosh),
  unary('atanh', Math.atanh),
  ['power', 2, 2, (args) => floatResult('power', Math.pow(number('power', 1, args[0]), number('power', 2, args[1])))],
  ['fmod', 2, 2, (args) => floatResult('fmod', number('fmod', 1, args[0]) % number('fmod', 2, args[1]))],
  ['div', 2, 2, (args) => intDiv(args[0], args[1])],
  ['mod', 2, 2, (args) => rem(args[0], args[1])],
  // eq(A, B) is Erlang's `==`: arithmetic equality, no string coercion (unlike the `=` operator).
  ['eq', 2, 2, (args) => compareTerms(args[0], args[1]) === 0],
  ['random', 0, 0, () => makeFloat(Math.random())],
];

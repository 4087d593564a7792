import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError, RuleSyntaxError } from '@sluice/core';
import { runInNewContext } from 'node:vm';
import { compileRule } from '../rule';
import type { SqlValue } from '../values';
import { lookupFunction, type FunctionContext } from './index';
import { cachedPatternCount } from './regex';

const ctx: FunctionContext = { input: {}, inCondition: false };
const call = (name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, ctx);

/**
 * Runs `work` under a watchdog that interrupts it after a generous 10 s: a backtracking engine stuck
 * on a catastrophic pattern (minutes to centuries here) fails the test instead of hanging jest. Not a
 * timing assertion: a linear engine takes about a millisecond (see `npm run bench:sql`).
 */
function watchdog<T>(work: () => T): T {
  return runInNewContext('work()', { work }, { timeout: 10_000 }) as T;
}

const KIB = 'a'.repeat(1023);
/** Patterns that backtrack exponentially (or polynomially) on a run of `a`s that does not match. */
const CATASTROPHIC = ['^(a+)+$', '(a|a)+$', '(a|aa)+$', '^(a|a?)+$', '(.*a){12}$', '^(\\w+\\s?)*$'];

describe('regular expressions (RE2, linear time)', () => {
  describe('with a catastrophic pattern and 1 KiB of input', () => {
    it.each(CATASTROPHIC)('regex_match(s, %j) from data answers without stalling', (pattern) => {
      expect(watchdog(() => call('regex_match', `${KIB}!`, pattern))).toBe(false);
    });

    it.each(CATASTROPHIC)('regex_replace and regex_extract with %j answer without stalling', (pattern) => {
      expect(watchdog(() => call('regex_extract', `${KIB}!`, `${pattern.replace(/\$$/, '')}!`))).toEqual(expect.any(Array));
      expect(watchdog(() => call('regex_replace', `${KIB}!`, pattern, 'x'))).toEqual(expect.any(String));
    });

    it('regex_match with a literal pattern in a rule answers without stalling', () => {
      const rule = compileRule(`SELECT regex_match(payload.s, '^(a+)+$') AS m FROM "t/#"`);
      const payload = JSON.stringify({ s: `${'a'.repeat(40)}!` });
      expect(watchdog(() => rule.evaluate({ topic: 't/1', payload }))).toEqual([{ m: false }]);
    });
  });

  describe('a pattern RE2 cannot run', () => {
    it.each([
      ['(a)\\1', 'a backreference'],
      ['a(?=b)', 'a lookahead'],
      ['(?<=a)b', 'a lookbehind'],
      ['a++', 'a possessive quantifier'],
      ['(?>a)', 'an atomic group'],
    ])('given literally (%j, %s) is a RuleSyntaxError when the rule compiles, with its position', (pattern) => {
      const sql = `SELECT\n  regex_match(payload.s, '${pattern}') AS m\nFROM "t/#"`;
      let error: unknown;
      try {
        compileRule(sql);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RuleSyntaxError);
      expect((error as RuleSyntaxError).message).toMatch(/regex_match\(\): invalid regular expression.*RE2 syntax/);
      expect([(error as RuleSyntaxError).line, (error as RuleSyntaxError).column]).toEqual([2, 27]);
    });

    it('taken from data is a RuleEvaluationError for that message, and the rule keeps working', () => {
      const rule = compileRule('SELECT regex_match(payload.s, payload.p) AS m FROM "t/#"');
      expect(() => rule.evaluate({ topic: 't/1', payload: JSON.stringify({ s: 'aa', p: '(a)\\1' }) })).toThrow(RuleEvaluationError);
      expect(rule.evaluate({ topic: 't/1', payload: JSON.stringify({ s: 'aa', p: 'a+' }) })).toEqual([{ m: true }]);
    });

    it('in regex_replace and regex_extract literals is refused too', () => {
      expect(() => compileRule(`SELECT regex_replace(payload.s, '(?=x)', 'y') AS m FROM "t"`)).toThrow(RuleSyntaxError);
      expect(() => compileRule(`SELECT regex_extract(payload.s, '(x)\\1') AS m FROM "t"`)).toThrow(RuleSyntaxError);
    });
  });

  describe('regex_replace', () => {
    it('inserts nothing for a group the pattern does not have (as EMQX)', () => {
      expect(call('regex_replace', 'abc', 'b', '[\\2]')).toBe('a[]c');
      expect(call('regex_replace', 'abc', '(b)', '[\\1\\2\\g{9}\\99999999999999999999]')).toBe('a[b]c');
    });

    it('inserts nothing for a group that did not take part in the match', () => {
      expect(call('regex_replace', 'ac', 'a(b)?c', '<\\1>')).toBe('<>');
    });

    it('replaces empty matches between every character, as PCRE does', () => {
      expect(call('regex_replace', 'abc', 'x*', '-')).toBe('-a-b-c-');
    });

    it('gives the same result with literal pattern and replacement compiled once per rule', () => {
      const rule = compileRule(`SELECT regex_replace(payload.s, '(\\d+)-(\\d+)', '\\2/\\1/\\3') AS r FROM "t"`);
      expect(rule.evaluate({ topic: 't', payload: '{"s":"x 12-34 y 5-6"}' })).toEqual([{ r: 'x 34/12/ y 6/5/' }]);
    });
  });

  it('translates PCRE \\Z (end, or before a final newline) and keeps \\A, \\z, (?i) and (?P<name>)', () => {
    expect(call('regex_match', 'abc\n', 'c\\Z')).toBe(true);
    expect(call('regex_match', 'abc\n', 'c\\z')).toBe(false);
    expect(call('regex_match', 'a\\Zb', 'a\\\\Zb')).toBe(true);
    expect(call('regex_match', 'ABC', '(?i)\\Aabc\\z')).toBe(true);
    expect(call('regex_extract', 'k=v', '(?P<key>\\w)=(\\w)')).toEqual(['k', 'v']);
  });

  it('keeps at most 256 patterns taken from data', () => {
    for (let i = 0; i < 300; i++) call('regex_match', 'x', `x{${i % 100},${i}}|y${i}`);
    expect(cachedPatternCount()).toBeLessThanOrEqual(256);
    expect(call('regex_match', 'x', 'x{0,299}|y299')).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import type { EvaluationLimitsOptions } from './limits';
import { SqlRuleEngine } from './sql-rule-engine';
import { compileTemplate } from './template';

/**
 * Rule constructs that multiply the size of what a message carries (issue #10, item 3): each must stop at
 * the engine's limits with a RuleEvaluationError. The limits here are small, so code without the checks
 * simply returns an over-limit value and the test fails instead of exhausting memory.
 */
const ruleOf = (sql: string, limits: EvaluationLimitsOptions) => new SqlRuleEngine({ limits }).compileRule(sql);
const message = (payload: object) => ({ topic: 't', payload: JSON.stringify(payload) });

describe('size multipliers stop at the evaluation limits', () => {
  it('string + doubling a field per alias stops at maxStringSize', () => {
    const rule = ruleOf(
      'SELECT payload.s + payload.s AS a, a + a AS b, b + b AS c, c + c AS d, d + d AS e FROM "t"',
      { maxStringSize: 1024 },
    );
    expect(() => rule.evaluate(message({ s: 'x'.repeat(100) }))).toThrow(RuleEvaluationError);
    expect(() => rule.evaluate(message({ s: 'x'.repeat(100) }))).toThrow(
      /operator '\+': the concatenated string would be 1600 characters, over the limit of 1024 \(maxStringSize/,
    );
    // Within the limit the rule still works, and numbers still add.
    expect(rule.evaluate(message({ s: 'ab' }))).toEqual([{ a: 'abab', b: 'ab'.repeat(4), c: 'ab'.repeat(8), d: 'ab'.repeat(16), e: 'ab'.repeat(32) }]);
    expect(ruleOf('SELECT payload.n + 1 AS n FROM "t"', { maxStringSize: 1 }).evaluate(message({ n: 41 }))).toEqual([{ n: 42 }]);
  });

  it('the engine default applies when no limit is configured', () => {
    const rule = new SqlRuleEngine().compileRule('SELECT payload.s + payload.s AS a, a + a AS b, b + b AS c FROM "t"');
    expect(() => rule.evaluate(message({ s: 'x'.repeat(600 * 1024) }))).toThrow(/over the limit of 4194304 \(maxStringSize/);
  });

  it('str() of a list repeating one string stops at maxStringSize', () => {
    const rule = ruleOf('SELECT str([payload.s, payload.s, payload.s, payload.s, payload.s, payload.s]) AS j FROM "t"', {
      maxStringSize: 1024,
    });
    expect(() => rule.evaluate(message({ s: 'x'.repeat(300) }))).toThrow(/^function str\(\): the JSON text of the array/);
  });

  it('str_utf8() of a map and a map joined with + stop at maxStringSize', () => {
    const limits = { maxStringSize: 1024 };
    const payload = { m: { a: 'x'.repeat(2000) } };
    expect(() => ruleOf('SELECT str_utf8(payload.m) AS j FROM "t"', limits).evaluate(message(payload))).toThrow(/^function str_utf8\(\)/);
    expect(() => ruleOf("SELECT payload.m + '' AS j FROM \"t\"", limits).evaluate(message(payload))).toThrow(/^operator '\+'/);
  });

  it('json_encode() of a list repeating one string stops at maxStringSize', () => {
    const rule = ruleOf('SELECT json_encode([payload.s, payload.s, payload.s, payload.s]) AS j FROM "t"', { maxStringSize: 1024 });
    expect(() => rule.evaluate(message({ s: 'x'.repeat(300) }))).toThrow(/^function json_encode\(\): the JSON text/);
    expect(rule.evaluate(message({ s: 'ab' }))).toEqual([{ j: '["ab","ab","ab","ab"]' }]);
  });

  it('FOREACH takes a collection of at most maxListLength items', () => {
    const rule = ruleOf('FOREACH payload.l AS x DO x FROM "t"', { maxListLength: 10 });
    expect(rule.evaluate(message({ l: [1, 2, 3] }))).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect(() => rule.evaluate(message({ l: new Array(11).fill(0) }))).toThrow(
      /^FOREACH: the collection has 11 items, over the limit of 10 \(maxListLength/,
    );
  });

  it('${.} of an output repeating one big value stops at the default maxStringSize', () => {
    const mib = 'x'.repeat(1024 * 1024);
    const output = { a: mib, b: mib, c: mib, d: mib, e: mib };
    expect(() => compileTemplate('${.}').render(output)).toThrow(RuleEvaluationError);
    const mixed = compileTemplate('k=${.}');
    expect(() => mixed.renderValue?.(output) ?? mixed.render(output)).toThrow(/maxStringSize/);
  });
});

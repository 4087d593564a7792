import { describe, expect, it } from '@jest/globals';
import { RuleSyntaxError } from '@sluice/core';
import type { ForeachStatement, SelectStatement } from './ast';
import { DEFAULT_PARSE_LIMITS } from './parse-limits';
import { parseRule } from './parser';
import { compileRule } from './rule';

/**
 * Rule texts sent by someone who wants to hurt the process (issue #10, items 5, 6 and 8): each must
 * parse and compile, or be refused with a RuleSyntaxError that says where. Never a RangeError, never a
 * heap exhaustion. Time and memory figures are in bench/hostile-rules-bench.js, not asserted here.
 */

const MAX = DEFAULT_PARSE_LIMITS.maxRuleLength;

/** `make(n)` for the largest n whose text fits in the length limit. */
function largest(make: (n: number) => string): string {
  let n = 1;
  while (make(n * 2).length <= MAX) n *= 2;
  for (let step = n >> 1; step >= 1; step >>= 1) if (make(n + step).length <= MAX) n += step;
  return make(n);
}

function syntaxErrorOf(run: () => unknown): RuleSyntaxError {
  try {
    run();
  } catch (error) {
    if (error instanceof RuleSyntaxError) return error;
    throw new Error(`expected a RuleSyntaxError, got ${String(error)}`);
  }
  throw new Error('expected a RuleSyntaxError, the rule was accepted');
}

const repeat = (n: number, item: string, separator: string): string => Array.from({ length: n }, () => item).join(separator);

describe('long lists parse in linear time and memory (up to the length limit)', () => {
  it.each([
    ['select fields', (n: number) => `SELECT ${repeat(n, 'a', ',')} FROM "t"`],
    ['IN items', (n: number) => `SELECT a FROM "t" WHERE a IN (${repeat(n, '1', ',')})`],
    ['arguments', (n: number) => `SELECT concat(${repeat(n, 'a', ',')}) AS x FROM "t"`],
    ['WHEN branches', (n: number) => `SELECT CASE ${repeat(n, 'WHEN a = 1 THEN 1', ' ')} END AS x FROM "t"`],
    ['FROM filters', (n: number) => `SELECT a FROM ${repeat(n, '"t"', ',')}`],
    ['list items', (n: number) => `SELECT [${repeat(n, '1', ',')}] AS x FROM "t"`],
    ['DO fields', (n: number) => `FOREACH payload.l AS e DO ${repeat(n, 'e', ',')} FROM "t"`],
  ])('%s', (_name, make) => {
    const text = largest(make);
    expect(text.length).toBeGreaterThan(MAX - 100);
    const rule = compileRule(text);
    expect(rule.topics.length).toBeGreaterThan(0);
  });

  it('keeps every item, in order', () => {
    const n = 4_000;
    const statement = parseRule(`SELECT ${Array.from({ length: n }, (_, i) => `a${i}`).join(',')} FROM "t"`) as SelectStatement;
    expect(statement.fields).toHaveLength(n);
    expect(statement.fields[0]).toEqual({ type: 'field', expr: { type: 'var', name: 'a0' }, alias: undefined });
    expect(statement.fields[n - 1]).toEqual({ type: 'field', expr: { type: 'var', name: `a${n - 1}` }, alias: undefined });
    expect(Array.isArray(statement.from)).toBe(true);
  });

  it('compiles thousands of distinct aliases, each field reading the ones before', () => {
    const n = 1_500;
    const fields = Array.from({ length: n }, (_, i) => (i === 0 ? 'a AS k0' : `k${i - 1} + 1 AS k${i}`));
    const [out] = compileRule(`SELECT ${fields.join(', ')} FROM "t"`).evaluate({ topic: 't', a: 1 });
    expect(out?.[`k${n - 1}`]).toBe(n);
  });
});

describe('rule size limit', () => {
  it('refuses a rule longer than maxRuleLength, at the first character past the limit', () => {
    const text = `SELECT ${repeat(40_000, 'a', ',')} FROM "t"`;
    const error = syntaxErrorOf(() => compileRule(text));
    expect(error.message).toContain(`over the limit of ${MAX} (maxRuleLength)`);
    expect([error.line, error.column]).toEqual([1, MAX + 1]);
  });

  it('takes the limits from the options', () => {
    const error = syntaxErrorOf(() => compileRule('SELECT a\nFROM "t"', { parseLimits: { maxRuleLength: 10, maxDepth: 500 } }));
    expect([error.line, error.column]).toEqual([2, 2]);
  });
});

describe('nesting depth limit', () => {
  const deep = (open: string, inner: string, close: string, n: number): string => `${open.repeat(n)}${inner}${close.repeat(n)}`;

  it.each([
    ['parentheses', (n: number) => `SELECT ${deep('(', '1', ')', n)} AS x FROM "t"`, 8],
    ['list brackets', (n: number) => `SELECT ${deep('[', '1', ']', n)} AS x FROM "t"`, 8],
    ['function calls', (n: number) => `SELECT ${deep('abs(', '1', ')', n)} AS x FROM "t"`, 8],
    ['index refs', (n: number) => `SELECT payload${'[a'.repeat(n)}[1${']'.repeat(n + 1)} AS x FROM "t"`, 15],
  ])('refuses %s nested 5,000 deep before parsing, at the first level too deep', (_name, make, firstColumn) => {
    const error = syntaxErrorOf(() => compileRule(make(5_000)));
    expect(error.message).toContain('more than 500 levels deep (maxDepth)');
    expect(error.line).toBe(1);
    expect(error.column).toBeGreaterThanOrEqual(firstColumn + 500);
  });

  it.each([
    ['a sum', `SELECT ${repeat(5_000, 'a', ' + ')} AS x FROM "t"`],
    ['an OR chain', `SELECT a FROM "t" WHERE ${repeat(3_000, 'a = 1', ' OR ')}`],
    ['a NOT chain', `SELECT a FROM "t" WHERE ${'NOT '.repeat(5_000)}a = 1`],
    ['a minus chain', `SELECT ${'-'.repeat(5_000)}1 AS x FROM "t"`],
    ['a long path', `SELECT payload${'.a'.repeat(5_000)} AS x FROM "t"`],
    ['a long target', `SELECT 1 AS x${'.a'.repeat(5_000)} FROM "t"`],
  ])('refuses %s thousands deep, with a position', (_name, text) => {
    const error = syntaxErrorOf(() => compileRule(text));
    expect(error.message).toContain('more than 500 levels deep (maxDepth');
    expect(error.line).toBe(1);
    expect(error.column).toBeGreaterThan(1);
  });

  it('compiles index refs nested within the limit, payload refs included, and evaluates them', () => {
    // Compiling `payload[payload[...]]` was exponential in the depth (each level compiled its inner ref
    // twice), `a[a[...]]` quadratic.
    const n = 60;
    const rule = compileRule(`SELECT payload${'[payload.i'.repeat(n)}${']'.repeat(n)} AS x FROM "t"`);
    expect(rule.evaluate({ topic: 't', payload: JSON.stringify({ i: 1 }) })).toEqual([{ x: undefined }]);
    const nested = compileRule(`SELECT payload${'[a'.repeat(100)}[1${']'.repeat(101)} AS x FROM "t"`);
    expect(nested.evaluate({ topic: 't', payload: '[7]' })).toEqual([{ x: undefined }]);
  });

  it('accepts a 400-term sum and evaluates it', () => {
    const [out] = compileRule(`SELECT ${repeat(400, 'a', ' + ')} AS x FROM "t"`).evaluate({ topic: 't', a: 1 });
    expect(out).toEqual({ x: 400 });
  });

  it('never lets a RangeError out, even with the limits lifted', () => {
    const lifted = { maxRuleLength: 10_000_000, maxDepth: 10_000_000 };
    const text = `SELECT ${deep('abs(', '1', ')', 20_000)} AS x FROM "t"`;
    const error = syntaxErrorOf(() => compileRule(text, { parseLimits: lifted }));
    expect(error.message).toContain('too complex');
  });
});

describe('FROM topic filters', () => {
  it.each([
    ['a/#/b', "'#' must be a whole level and the last one"],
    ['#a', "'#' must be a whole level and the last one"],
    ['a/b#', "'#' must be a whole level and the last one"],
    ['+a', "'+' must be a whole level"],
    ['a/b+/c', "'+' must be a whole level"],
    ['', 'an empty topic filter matches no topic'],
    ['$share/g', 'a shared subscription is written $share/<group>/<filter>'],
    ['$share//t', 'a shared subscription is written $share/<group>/<filter>'],
    ['$share/g+/t', 'the group of $share/<group>/<filter> cannot hold + or #'],
    ['$share/g/a/#/b', "'#' must be a whole level"],
    ['$queue/', 'the filter after the $share or $queue prefix is empty'],
  ])('refuses %j, naming it, at its position', (filter, problem) => {
    const error = syntaxErrorOf(() => compileRule(`SELECT a\nFROM "ok/+", "${filter}"`));
    expect(error.message).toContain(`invalid topic filter ${JSON.stringify(filter)} in FROM: ${problem}`);
    expect([error.line, error.column]).toEqual([2, 14]);
  });

  it('refuses a filter with a NUL character', () => {
    expect(syntaxErrorOf(() => compileRule("SELECT a FROM 'a\u0000b'")).message).toContain('NUL');
  });

  it.each(['t', 't/+', 't/#', '#', '+', '+/+/#', 'a//b', '/', '$events/client/connected', '$events/sys/+', '$SYS/#',
    '$share/g/t/#', '$queue/t/+', '$bridges/mqtt:b1', '$sources/mqtt:s1'])('accepts %j', (filter) => {
    expect(compileRule(`SELECT a FROM "${filter}"`).topics).toEqual([filter]);
  });
});

describe('output keys named like Object.prototype members are plain own keys', () => {
  const payload = JSON.stringify({ x: { polluted: 1 }, l: [{ v: 1 }, { v: 2 }] });
  const input = { topic: 't', payload };

  function expectPlain(out: object | undefined, keys: Record<string, unknown>): void {
    if (out === undefined) throw new Error('no output');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    for (const [key, value] of Object.entries(keys)) {
      expect(Object.getOwnPropertyDescriptor(out, key)).toEqual({ value, writable: true, enumerable: true, configurable: true });
    }
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
  }

  it.each([
    ['FOREACH alias, no DO', 'FOREACH payload.x AS "__proto__", payload.l AS e FROM "t"'],
    ['FOREACH alias, DO *', 'FOREACH payload.x AS "__proto__", payload.l AS e DO * FROM "t"'],
  ])('%s', (_name, sql) => {
    const outs = compileRule(sql).evaluate(input);
    expect(outs).toHaveLength(2);
    for (const [i, out] of outs.entries()) {
      expectPlain(out, { __proto__: { polluted: 1 }, e: { v: i + 1 } });
      expect(String(out)).toBe('[object Object]');
    }
  });

  it('FOREACH item named __proto__', () => {
    const outs = compileRule('FOREACH payload.l AS "__proto__" FROM "t"').evaluate(input);
    expect(outs.map((out) => Object.getOwnPropertyDescriptor(out, '__proto__')?.value)).toEqual([{ v: 1 }, { v: 2 }]);
    for (const out of outs) expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('SELECT and DO targets', () => {
    const [selected] = compileRule('SELECT payload.x AS "__proto__", 1 AS constructor, 2 AS "toString" FROM "t"').evaluate(input);
    expectPlain(selected, { __proto__: { polluted: 1 }, constructor: 1, toString: 2 });
    const done = compileRule('FOREACH payload.l AS e DO e AS "__proto__", e.v AS constructor FROM "t"').evaluate(input);
    expectPlain(done[1], { __proto__: { v: 2 }, constructor: 2 });
  });

  it('parses a FOREACH whose list ends with a __proto__ alias', () => {
    const statement = parseRule('FOREACH payload.l AS "__proto__" FROM "t"') as ForeachStatement;
    expect(statement.items[0]).toEqual({ type: 'field', expr: expect.objectContaining({ type: 'path' }), alias: [{ type: 'key', key: '__proto__' }] });
  });
});

import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { compileTopicFilter } from './compile';
import { compileRule } from './index';
import { matchTopicText } from './operators';

/**
 * The evaluation fast paths (generated output builder, per-site closures, direct column reads, prefix
 * topic filters) must give exactly what the general route gives. Where a rule can be written both ways,
 * the same rule forced onto the general route (a nested alias target, which the builder does not take)
 * is the reference.
 */

const evaluate = (sql: string, input: Record<string, unknown>): unknown[] => compileRule(sql).evaluate({ topic: 't/1', ...input });
const keysOf = (output: unknown): string[] => Object.keys(output as object);

describe('generated output builder (SELECT and DO lists of single keys)', () => {
  it.each<[string, Record<string, unknown>]>([
    ['SELECT clientid, username, qos FROM "t/1"', { clientid: 'c', qos: 1 }],
    ['SELECT clientid AS a, qos AS b, clientid AS a FROM "t/1"', { clientid: 'c', qos: 1 }],
    ['SELECT qos AS b, clientid AS a, upper(a) AS b FROM "t/1"', { clientid: 'c', qos: 1 }],
    ["SELECT 'x' AS \"2\", qos AS z, clientid AS \"1\" FROM \"t/1\"", { clientid: 'c', qos: 1 }],
    ['SELECT payload.a AS a, a + 1 AS b, payload.missing AS m FROM "t/1"', { payload: '{"a":1}' }],
    ['SELECT clientid AS toString, constructor, hasOwnProperty AS h FROM "t/1"', { clientid: 'c' }],
  ])('%s: same values and key order as writing the keys one by one', (sql, input) => {
    const fast = evaluate(sql, input);
    // The same fields plus one nested target take the general route (one writer per field).
    const general = evaluate(sql.replace(' FROM', ', 0 AS zz.general FROM'), input).map((o) => {
      const copy = { ...(o as Record<string, unknown>) };
      delete copy['zz'];
      return copy;
    });
    expect(fast).toStrictEqual(general);
    expect(fast.map(keysOf)).toEqual(general.map(keysOf));
  });

  it('keeps an undefined column as a key, in select order', () => {
    const [output] = evaluate('SELECT nothing, clientid, other FROM "t/1"', { clientid: 'c' });
    expect(keysOf(output)).toEqual(['nothing', 'clientid', 'other']);
    expect(output).toStrictEqual({ nothing: undefined, clientid: 'c', other: undefined });
  });

  it('lets WHERE read the aliases', () => {
    const rule = compileRule('SELECT payload.t AS t, clientid FROM "t/1" WHERE t > 25');
    expect(rule.evaluate({ topic: 't/1', clientid: 'c', payload: '{"t":30}' })).toEqual([{ t: 30, clientid: 'c' }]);
    expect(rule.evaluate({ topic: 't/1', clientid: 'c', payload: '{"t":20}' })).toEqual([]);
  });

  it('writes __proto__ as a plain key, never as the prototype', () => {
    const [output] = evaluate('SELECT clientid AS "__proto__", qos FROM "t/1"', { clientid: 'c', qos: 1 });
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(keysOf(output)).toEqual(['__proto__', 'qos']);
    expect(Object.getOwnPropertyDescriptor(output, '__proto__')?.value).toBe('c');
  });

  it('builds a fresh map per output (FOREACH ... DO)', () => {
    const outputs = evaluate('FOREACH payload.xs AS x DO x.id AS id, clientid FROM "t/1"', { clientid: 'c', payload: '{"xs":[{"id":1},{"id":2}]}' });
    expect(outputs).toEqual([{ id: 1, clientid: 'c' }, { id: 2, clientid: 'c' }]);
    expect(outputs[0]).not.toBe(outputs[1]);
  });

  it('keeps rules apart when several rules have the same field names', () => {
    const a = compileRule('SELECT clientid AS k FROM "t/1"');
    const b = compileRule('SELECT qos AS k FROM "t/1"');
    for (let i = 0; i < 3; i++) {
      expect(a.evaluate({ topic: 't/1', clientid: 'c', qos: 1 })).toEqual([{ k: 'c' }]);
      expect(b.evaluate({ topic: 't/1', clientid: 'c', qos: 1 })).toEqual([{ k: 1 }]);
    }
  });
});

describe('column reads', () => {
  it('reads inherited names (toString, constructor) only as own columns', () => {
    expect(evaluate('SELECT toString AS a, constructor AS b, valueOf AS c FROM "t/1"', {})).toStrictEqual([{ a: undefined, b: undefined, c: undefined }]);
    expect(evaluate('SELECT toString AS a FROM "t/1"', { toString: 'own' })).toStrictEqual([{ a: 'own' }]);
  });

  it('reads the same name from inputs of different shapes', () => {
    const rule = compileRule('SELECT clientid FROM "t/1"');
    expect(rule.evaluate({ topic: 't/1', clientid: 'a' })).toEqual([{ clientid: 'a' }]);
    expect(rule.evaluate({ qos: 0, topic: 't/1', clientid: 'b' })).toEqual([{ clientid: 'b' }]);
    expect(rule.evaluate(Object.assign(Object.create(null) as object, { topic: 't/1', clientid: 'c' }))).toEqual([{ clientid: 'c' }]);
  });
});

describe('built-in calls checked at compile time', () => {
  it('still fails each evaluation (not the compilation) on a wrong argument count, with the same message', () => {
    const rule = compileRule('SELECT upper(clientid, qos) AS u FROM "t/1"');
    for (let i = 0; i < 2; i++) {
      expect(() => rule.evaluate({ topic: 't/1', clientid: 'c', qos: 1 })).toThrow(RuleEvaluationError);
      expect(() => rule.evaluate({ topic: 't/1', clientid: 'c', qos: 1 })).toThrow('function upper(): takes 1 argument, got 2');
    }
    expect(rule.evaluate({ topic: 'other' })).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['now_timestamp() > 0', true],
    ["lower('AB')", 'ab'],
    ["concat('a', 'b')", 'ab'],
    ["substr('abcdef', 1, 3)", 'bcd'],
    ["sprintf('~s-~s-~s', 'a', 'b', 'c')", 'a-b-c'],
  ])('%s with 0 to 4 arguments', (expr, expected) => {
    expect(evaluate(`SELECT ${expr} AS r FROM "t/1"`, {})).toEqual([{ r: expected }]);
  });
});

describe('searched CASE, unrolled per site', () => {
  const rule = compileRule("SELECT CASE WHEN payload.t > 30 THEN 'hot' WHEN payload.t > 10 THEN 'warm' END AS l FROM \"t/1\"");
  it.each<[number, unknown]>([
    [40, 'hot'],
    [20, 'warm'],
    [5, undefined],
  ])('t = %d gives %p (no ELSE: undefined)', (t, expected) => {
    expect(rule.evaluate({ topic: 't/1', payload: JSON.stringify({ t }) })).toStrictEqual([{ l: expected }]);
  });
});

describe('prefix topic filters (a/b/#)', () => {
  const filters = ['a/#', 'a/b/#', 'sensors/#', 'a//#', '$SYS/#', 'a/+/#', '+/#', '#', '/#', 'a/b/c'];
  const topics = ['a', 'a/', 'a/b', 'a/b/c', 'ab', 'ab/c', 'a//x', 'a//', 'b/a', 'sensors', 'sensors/x/y', 'sensorsx', '$SYS/x', '$SYS', '/', '/a', ''];
  it.each(filters)('%s matches exactly what the MQTT matcher matches', (filter) => {
    const match = compileTopicFilter(filter);
    for (const topic of topics) expect([topic, match(topic)]).toEqual([topic, matchTopicText(topic, filter)]);
  });

  it('filters a rule by prefix', () => {
    const rule = compileRule('SELECT qos FROM "sensors/#", "t/1"');
    expect(rule.evaluate({ topic: 'sensors', qos: 1 })).toEqual([{ qos: 1 }]);
    expect(rule.evaluate({ topic: 'sensors/a/b', qos: 1 })).toEqual([{ qos: 1 }]);
    expect(rule.evaluate({ topic: 't/1', qos: 1 })).toEqual([{ qos: 1 }]);
    expect(rule.evaluate({ topic: 'sensorsa', qos: 1 })).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError, type RuleInput } from '@sluice/core';
import { compileRule, compileTemplate } from './index';
import { SqlFloat } from './values';

const float = (n: number): SqlFloat => new SqlFloat(n);

function run(sql: string, input: Record<string, unknown> = {}): unknown[] {
  return compileRule(sql).evaluate({ topic: 't/1', ...input });
}

/** The single output's value under `key` for `SELECT <expr> AS r FROM "t/1"`. */
function value(expr: string, input: Record<string, unknown> = {}): unknown {
  const outputs = run(`SELECT ${expr} AS r FROM "t/1"`, input);
  expect(outputs).toHaveLength(1);
  return (outputs[0] as Record<string, unknown>)['r'];
}

function evaluationError(sql: string, input: Record<string, unknown> = {}): RuleEvaluationError {
  try {
    run(sql, input);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleEvaluationError);
    return error as RuleEvaluationError;
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('compileRule', () => {
  it('runs the seed rule end to end with its template', () => {
    const rule = compileRule('SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"');
    expect(rule.topics).toEqual(['temp_hum/emqx']);
    const outputs = rule.evaluate({
      topic: 'temp_hum/emqx',
      payload: '{"temp": "27.5", "hum": "41.8"}',
      clientid: 'c1',
      timestamp: 1700000000000,
      qos: 1,
    });
    expect(outputs).toEqual([{ timestamp: 1700000000000, clientid: 'c1', temp: '27.5', hum: '41.8' }]);
    expect(compileTemplate('{"temp": ${temp}, "hum": ${hum}}').render(outputs[0] as RuleInput)).toBe('{"temp": 27.5, "hum": 41.8}');
  });

  it('accepts the payload as a Buffer', () => {
    expect(run('SELECT payload.a AS a, payload FROM "t/1"', { payload: Buffer.from('{"a":1}') })).toEqual([{ a: 1, payload: '{"a":1}' }]);
  });

  describe('FROM', () => {
    it.each<[string[], string, boolean]>([
      [['t/1'], 't/1', true],
      [['t/1'], 't/2', false],
      [['t/#'], 't', true],
      [['t/#'], 't/a/b', true],
      [['t/+'], 't/a/b', false],
      [['t/+/c'], 't/b/c', true],
      [['#'], '$SYS/broker', false],
      [['$SYS/#'], '$SYS/broker', true],
      [['+/x'], '$x/x', false],
      [['a/b', 'c/#'], 'c/d', true],
      [['a/b', 'c/#'], 'a/b', true],
      [['a/b', 'c/#'], 'x', false],
      [['a//c'], 'a//c', true],
      [['a/+/c'], 'a//c', true],
    ])('%j matches %s: %s', (filters, topic, matched) => {
      const rule = compileRule(`SELECT topic FROM ${filters.map((f) => `"${f}"`).join(', ')}`);
      expect(rule.topics).toEqual(filters);
      expect(rule.evaluate({ topic })).toEqual(matched ? [{ topic }] : []);
    });

    it('returns [] when the input has no topic', () => {
      expect(compileRule('SELECT a FROM "#"').evaluate({})).toEqual([]);
    });
  });

  describe('names and output', () => {
    it.each<[string, Record<string, unknown>, unknown[]]>([
      ['SELECT clientid, username FROM "t/1"', { clientid: 'c' }, [{ clientid: 'c', username: undefined }]],
      ["SELECT 'x' AS clientid, clientid AS c FROM \"t/1\"", { clientid: 'real' }, [{ clientid: 'x', c: 'x' }]],
      ['SELECT clientid AS a, a AS b FROM "t/1"', { clientid: 'c' }, [{ a: 'c', b: 'c' }]],
      ['SELECT nothing FROM "t/1"', {}, [{ nothing: undefined }]],
      ['SELECT * FROM "t/1"', { clientid: 'c', qos: 1 }, [{ topic: 't/1', clientid: 'c', qos: 1 }]],
      ["SELECT 'x' AS clientid, * FROM \"t/1\"", { clientid: 'c' }, [{ clientid: 'c', topic: 't/1' }]],
      ["SELECT *, 'x' AS clientid FROM \"t/1\"", { clientid: 'c' }, [{ clientid: 'x', topic: 't/1' }]],
      ['SELECT payload FROM "t/1"', { payload: '{"a":1}' }, [{ payload: '{"a":1}' }]],
      ['SELECT payload.a.b FROM "t/1"', { payload: '{"a":{"b":1,"c":2}}' }, [{ payload: { a: { b: 1 } } }]],
      ['SELECT payload.a, payload.b FROM "t/1"', { payload: '{"a":1,"b":2,"c":3}' }, [{ payload: { a: 1, b: 2 } }]],
      ['SELECT payload.x[2] FROM "t/1"', { payload: '{"x":[1,2,3]}' }, [{ payload: { x: [2] } }]],
      ['SELECT x AS a.b FROM "t/1"', { x: 1 }, [{ a: { b: 1 } }]],
      ['SELECT 1 AS a.b, 2 AS a.c FROM "t/1"', {}, [{ a: { b: 1, c: 2 } }]],
      ["SELECT 'abc' FROM \"t/1\"", {}, [{ abc: 'abc' }]],
      ['SELECT a[1..2] FROM "t/1"', { a: [1, 2, 3] }, [{ a: [1, 2] }]],
      ['SELECT payload AS p, p.a.b AS c FROM "t/1"', { payload: '{"a":{"b":7}}' }, [{ p: '{"a":{"b":7}}', c: 7 }]],
      ['SELECT payload AS p, payload.f AS p.answer FROM "t/1"', { payload: '{"f":42}' }, [{ p: { answer: 42 } }]],
      [
        "SELECT payload, 'X' AS payload.data[1].name FROM \"t/1\"",
        { payload: '{"data":[{"name":"a","v":1}],"k":2}' },
        [{ payload: { data: [{ name: 'X', v: 1 }], k: 2 } }],
      ],
      // Un-aliased, too: the payload is decoded and kept whole (EMQX t_sqlparse_array_index_3).
      ['SELECT payload, payload.x[2].y FROM "t/1"', { payload: '{"x":[1,{"y":[1,2]},3]}' }, [{ payload: { x: [1, { y: [1, 2] }, 3] } }]],
      ['SELECT payload, payload.k FROM "t/1"', { payload: '{"k":1,"j":2}' }, [{ payload: { k: 1, j: 2 } }]],
      ['SELECT 1 AS a[1] FROM "t/1"', {}, [{ a: [1] }]],
      ['SELECT [1,2,3] AS a, 9 AS a[2] FROM "t/1"', {}, [{ a: [1, 9, 3] }]],
      ['SELECT [1,2,3] AS a, 9 AS a[-1] FROM "t/1"', {}, [{ a: [1, 2, 9] }]],
      ['SELECT [1,2,3] AS a, 9 AS a[0] FROM "t/1"', {}, [{ a: [9, 1, 2, 3] }]],
      ['SELECT [1,2,3] AS a, 9 AS a[-0] FROM "t/1"', {}, [{ a: [1, 2, 3, 9] }]],
      ['SELECT [1,2,3] AS a, 9 AS a[5] FROM "t/1"', {}, [{ a: [1, 2, 3] }]],
      ['SELECT [1,2] AS a, 2 AS i, 9 AS a[i] FROM "t/1"', {}, [{ a: [1, 9], i: 2 }]],
      ['SELECT [1,2] AS a, 9 AS a[nope] FROM "t/1"', {}, [{ a: [1, 2] }]],
      ["SELECT 'x' AS a, 1 AS a.b FROM \"t/1\"", {}, [{ a: { b: 1 } }]],
      ['SELECT 5 AS a, 1 AS a.b FROM "t/1"', {}, [{ a: { b: 1 } }]],
      ['SELECT "topic" FROM "t/1"', {}, [{ topic: 't/1' }]],
      ["SELECT pub_props.'User-Property'.k AS k FROM \"t/1\"", { pub_props: { 'User-Property': { k: 'v' } } }, [{ k: 'v' }]],
      ['SELECT payload."c d" AS x FROM "t/1"', { payload: '{"c d":1}' }, [{ x: 1 }]],
      ["SELECT payload.'1.5' AS x FROM \"t/1\"", { payload: '{"1.5":1}' }, [{ x: 1 }]],
      ['SELECT payload.a.1 AS x FROM "t/1"', { payload: '{"a":{"1":"one"}}' }, [{ x: 'one' }]],
    ])('%s', (sql, input, outputs) => {
      expect(run(sql, input)).toEqual(outputs);
    });

    it('gives un-aliased computed fields a generated key', () => {
      const [output] = run('SELECT 1 + 1, abs(-3) FROM "t/1"') as [Record<string, unknown>];
      const keys = Object.keys(output);
      expect(keys).toHaveLength(2);
      expect(keys.every((key) => key.startsWith('_v_'))).toBe(true);
      expect(Object.values(output)).toEqual([2, 3]);
    });

    it('never mutates the input or the values it holds', () => {
      const pubProps = { a: { b: 1 } };
      const input = { topic: 't/1', pub_props: pubProps, payload: '{"x":{"y":1}}' };
      const rule = compileRule("SELECT pub_props, 2 AS pub_props.a.c, payload.x AS x, 5 AS x.z, * FROM \"t/1\"");
      rule.evaluate(input);
      rule.evaluate(input);
      expect(pubProps).toEqual({ a: { b: 1 } });
      expect(input.payload).toBe('{"x":{"y":1}}');
      expect(compileRule('SELECT payload.x AS x FROM "t/1"').evaluate(input)).toEqual([{ x: { y: 1 } }]);
    });

    it('decodes a payload once for several rules evaluating the same input', () => {
      const input = { topic: 't/1', payload: '{"a":{"n":1}}' };
      const [first] = compileRule('SELECT payload.a AS a FROM "t/1"').evaluate(input) as [Record<string, unknown>];
      const [second] = compileRule('SELECT payload.a AS b FROM "t/1"').evaluate(input) as [Record<string, unknown>];
      expect(first['a']).toBe(second['b']);
    });
  });

  describe('paths', () => {
    const payload = JSON.stringify({ a: { b: [10, 20, { c: 'deep' }] }, i: 2, s: '{"inner":{"x":5}}', n: null, list: [1, 2, 3, 4, 5] });
    it.each<[string, unknown]>([
      ['payload.a.b[1]', 10],
      ['payload.a.b[-1].c', 'deep'],
      ['payload.a.b[3].c', 'deep'],
      ['payload.a.b[0]', undefined],
      ['payload.a.b[4]', undefined],
      ['payload.a.b[-4]', undefined],
      ['payload.a.b[i]', 20],
      ['payload.a.c', undefined],
      ['payload.a.b.c', undefined],
      ['payload.s.inner.x', 5],
      ['payload.n', null],
      ['payload.n.x', undefined],
      ['payload.missing.deeper', undefined],
      ['payload.list[2..4]', [2, 3, 4]],
      ['payload.list[-2..-1]', [4, 5]],
      ['payload.list[4..10]', [4, 5]],
      ['payload.a.b[1][1]', undefined],
    ])('%s', (expr, expected) => {
      expect(value(expr, { payload })).toEqual(expected);
    });

    it('resolves an index ref against the decoded payload for payload paths, against the scope otherwise', () => {
      expect(value('payload.arr[k]', { payload: '{"arr":["a","b"],"k":2}', k: 1 })).toBe('b');
      expect(value('arr[k]', { arr: ['a', 'b'], k: 1 })).toBe('a');
    });

    it('reads a JSON scalar or array payload, with key lookups undefined', () => {
      expect(value('payload[2]', { payload: '[1,2]' })).toBe(2);
      expect(value('payload.a', { payload: '42' })).toBeUndefined();
    });

    it.each([
      ['SELECT payload.a FROM "t/1"', { payload: 'not json' }, 'decode_json_failed'],
      ['SELECT a[1..2] AS x FROM "t/1"', { a: 'abc' }, 'range_get'],
      ['SELECT a[1..2] AS x FROM "t/1"', {}, 'range_get'],
      ['SELECT a[0..2] AS x FROM "t/1"', { a: [1] }, 'range_get'],
    ])('%s raises', (sql, input, message) => {
      expect(evaluationError(sql, input).message).toContain(message);
    });
  });

  describe('literals', () => {
    it.each<[string, unknown]>([
      ['1', 1],
      ['-1', -1],
      ['1.5', 1.5],
      ['2.0', float(2)],
      ["'abc'", 'abc'],
      ["'it''s'", "it''s"],
      ["'a\\nb'", 'a\\nb'],
      ['true', true],
      ['false', false],
      ['[1, 2.5, \'x\', [true]]', [1, 2.5, 'x', [true]]],
      ['[1..4]', [1, 2, 3, 4]],
      ['[-1..1]', [-1, 0, 1]],
      ['[3..1]', []],
      ['null', undefined],
      ['TRUE', undefined],
    ])('%s', (expr, expected) => {
      expect(value(expr)).toEqual(expected);
    });
  });

  describe('arithmetic', () => {
    it.each<[string, unknown]>([
      ['1 + 2', 3],
      ['1 + 2.5', 3.5],
      ['1.5 + 1.5', float(3)],
      ["'abc' + 1", 'abc1'],
      ["1 + 'abc'", '1abc'],
      ["'a' + 'b'", 'ab'],
      ['5 - 7', -2],
      ['2 * 3', 6],
      ['2 * 1.5', float(3)],
      ['4 / 2', float(2)],
      ['1 / 4', 0.25],
      ['7 div 2', 3],
      ['-7 div 2', -3],
      ['7 mod 3', 1],
      ['-7 mod 3', -1],
      ['div(7, 2)', 3],
      ['mod(7, 2)', 1],
      ['1 + 2 * 3', 7],
      ['(1 + 2) * 3', 9],
      ['10 - 2 - 3', 5],
      ['2 * 3 div 4', 1],
      ['-(2 + 3)', -5],
      ['- -2', 2],
      ['+2', 2],
      ['payload.v + 1', 11],
      ['payload.s + 1', '51'],
    ])('%s', (expr, expected) => {
      expect(value(expr, { payload: '{"v":10,"s":"5"}' })).toEqual(expected);
    });

    it.each(['1 / 0', "'a' - 1", 'x + 1', 'x * 2', '1.5 div 2', "'a' * 2", '-x', '-\'a\'', 'div(1)', '+\'a\'', '7 mod 0'])(
      '%s raises',
      (expr) => {
        evaluationError(`SELECT ${expr} AS r FROM "t/1"`);
      },
    );
  });

  describe('comparisons', () => {
    it.each<[string, unknown]>([
      ['1 = 1', true],
      ['1 = 1.0', true],
      ['1 = 2', false],
      ["1 = '1'", true],
      ["'1.0' = 1", true],
      ["'2' > '10'", true],
      ['2 > 10', false],
      ['1 != 2', true],
      ['1 <> 1', false],
      ['1 < 2', true],
      ['2 <= 2', true],
      ['3 >= 4', false],
      ["'abc' = 'abc'", true],
      ["true = 'true'", true],
      ['x = y', true],
      ['x != y', false],
      ['x <= y', true],
      ['x = 1', false],
      ['x != 1', false],
      ['1 <> x', false],
      ["topic =~ 't/#'", true],
      ["topic =~ 't/+'", true],
      ["topic =~ 'x/#'", false],
      ["x =~ 't/#'", false],
      ["'sport' =~ 'sport/#'", true],
      ['payload.n = 1', false],
    ])('%s is %s', (expr, expected) => {
      expect(value(expr, { payload: '{"n":null}' })).toBe(expected);
    });

    it.each(["1 = 'abc'", 'a ~= b'])('%s raises', (expr) => {
      evaluationError(`SELECT ${expr} AS r FROM "t/1"`);
    });
  });

  describe('WHERE', () => {
    const input = { clientid: 'c1', qos: 1, payload: '{"temp":30,"flag":true,"name":"s1","v":1}' };
    it.each<[string, boolean]>([
      ['payload.temp > 25', true],
      ['payload.temp > 35', false],
      ['payload.temp > 25 AND qos = 1', true],
      ['payload.temp > 35 OR qos = 1', true],
      ['payload.temp > 35 OR qos = 2', false],
      ["NOT clientid = 'c1'", false],
      ["NOT clientid = 'c2'", true],
      ['NOT payload.flag', false],
      ['NOT payload.name', false],
      ['payload.flag = true', true],
      ["payload.name = 's1'", true],
      ['payload.name = "s1"', false],
      ['payload.v IN (1, 2)', true],
      ['payload.v IN (1.0, 2)', false],
      ["payload.v IN ('1')", false],
      ['true', true],
      ['false', false],
      ["topic =~ 't/#' AND qos IN (0, 1)", true],
      ['is_not_null(clientid)', true],
      ['is_null(clientid)', false],
      ['(qos = 1 OR qos = 2) AND NOT (qos = 3)', true],
      ["clientid = 'x' AND 1 = 'abc'", false],
      ["clientid = 'c1' OR 1 = 'abc'", true],
      ['t = 5', true],
      ["c = 'c1'", true],
    ])('%s → %s', (where, passes) => {
      const outputs = run(`SELECT clientid AS c, 5 AS t FROM "t/1" WHERE ${where}`, input);
      expect(outputs).toEqual(passes ? [{ c: 'c1', t: 5 }] : []);
    });

    it.each([
      ['payload.flag', 'bare field'],
      ['clientid', 'bare field'],
      ['1 + 1', 'not a condition'],
      ['1', 'not a condition'],
      ['qos NOT IN (1, 2)', 'NOT IN'],
      ['NOT (qos = 1 AND qos = 2)', 'AND'],
      ['NOT (qos = 1 OR qos = 2)', 'OR'],
      ['NOT NOT qos = 1', 'NOT'],
      ['NOT qos IN (1)', 'IN'],
      ['lower(clientid)', 'needs a boolean'],
      ['unknown_fn(1)', 'unknown function'],
      ["qos = 'abc'", ''],
    ])('WHERE %s raises', (where, message) => {
      expect(evaluationError(`SELECT a FROM "t/1" WHERE ${where}`, input).message).toContain(message);
    });
  });

  describe('CASE', () => {
    it.each<[string, Record<string, unknown>, unknown]>([
      ["CASE WHEN payload.t > 30 THEN 'hot' WHEN payload.t > 10 THEN 'warm' ELSE 'cold' END", { payload: '{"t":20}' }, 'warm'],
      ["CASE WHEN payload.t > 30 THEN 'hot' ELSE 'cold' END", { payload: '{"t":40}' }, 'hot'],
      ["CASE WHEN payload.t > 30 THEN 'hot' END", { payload: '{"t":0}' }, undefined],
      ["CASE payload.t WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END", { payload: '{"t":2}' }, 'two'],
      ["CASE payload.t WHEN 1 THEN 'one' ELSE 'other' END", { payload: '{"t":1.0}' }, 'other'],
      ["CASE payload.t WHEN '1' THEN 'one' ELSE 'other' END", { payload: '{"t":1}' }, 'other'],
      ["CASE WHEN is_null(x) THEN 'null' END", {}, 'null'],
      ["CASE WHEN lower('A') THEN 'yes' ELSE 'no' END", {}, 'no'],
      ["CASE WHEN qos = 1 AND clientid = 'c' THEN 1 ELSE 0 END", { qos: 1, clientid: 'c' }, 1],
      ['CASE WHEN true THEN 1 + 1 END', {}, 2],
      ['CASE x WHEN y THEN 1 END', {}, 1],
    ])('%s', (expr, input, expected) => {
      expect(value(expr, input)).toEqual(expected);
    });

    it('keeps the key when no branch matches', () => {
      expect(run('SELECT CASE WHEN false THEN 1 END AS c FROM "t/1"')).toEqual([{ c: undefined }]);
      expect(Object.keys(run('SELECT CASE WHEN false THEN 1 END AS c FROM "t/1"')[0] as object)).toEqual(['c']);
    });

    it('raises on a bare field as a WHEN condition', () => {
      evaluationError('SELECT CASE WHEN payload.x THEN 1 END AS c FROM "t/1"', { payload: '{"x":true}' });
    });

    it('works as a function argument', () => {
      expect(value("upper(CASE WHEN true THEN 'a' END)")).toBe('A');
    });
  });

  describe('functions', () => {
    it.each<[string, Record<string, unknown>, unknown]>([
      ['upper(clientid)', { clientid: 'abc' }, 'ABC'],
      ["concat(clientid, '-x')", { clientid: 'abc' }, 'abc-x'],
      ['abs(-3)', {}, 3],
      ['emqx_rule_funcs.abs(-3)', {}, 3],
      ['str(2.0)', {}, '2.0'],
      ['round(2.5)', {}, 3],
      ['is_null(x)', {}, true],
      ['nth(2, payload.l)', { payload: '{"l":[5,6]}' }, 6],
      ['lower(upper(clientid))', { clientid: 'aBc' }, 'abc'],
      ["contains(1 = 1, [true])", {}, true],
      ['topic()', {}, 't/1'],
      ['topic(1)', {}, 't'],
      ['clientid()', { clientid: 'c' }, 'c'],
    ])('%s', (expr, input, expected) => {
      expect(value(expr, input)).toEqual(expected);
    });

    it('lets context functions return undefined inside WHERE, as EMQX does', () => {
      expect(run('SELECT 1 AS x FROM "t/1" WHERE is_null(clientid())', { clientid: 'c' })).toEqual([{ x: 1 }]);
    });

    it.each([
      ['no_such_function(1)', 'unknown function no_such_function'],
      ['other_module.abs(1)', 'unknown function other_module.abs'],
      ["abs('x')", ''],
      ['nth(5, [1])', ''],
    ])('%s raises only when evaluated', (expr, message) => {
      const rule = compileRule(`SELECT ${expr} AS r FROM "t/1"`);
      expect(rule.evaluate({ topic: 'other' })).toEqual([]);
      expect(() => rule.evaluate({ topic: 't/1' })).toThrow(RuleEvaluationError);
      expect(() => rule.evaluate({ topic: 't/1' })).toThrow(message);
    });
  });

  describe('FOREACH', () => {
    const payload = JSON.stringify({ sensors: [{ name: 'a', v: 1 }, { name: 'b', v: 5 }, { name: 'c', v: 9 }], date: '2024' });
    it.each<[string, Record<string, unknown>, unknown[]]>([
      ['FOREACH payload.sensors AS s DO s.name AS n FROM "t/1"', { payload }, [{ n: 'a' }, { n: 'b' }, { n: 'c' }]],
      ['FOREACH payload.sensors AS s DO s.name AS n INCASE s.v > 3 FROM "t/1"', { payload }, [{ n: 'b' }, { n: 'c' }]],
      ['FOREACH payload.sensors DO item.name AS n, clientid INCASE item.v >= 9 FROM "t/1"', { payload, clientid: 'x' }, [{ n: 'c', clientid: 'x' }]],
      ['FOREACH payload.sensors AS s DO s.name AS n FROM "t/1" WHERE clientid = \'x\'', { payload, clientid: 'y' }, []],
      ['FOREACH payload.sensors AS s DO s.name AS n INCASE s.v > 100 FROM "t/1"', { payload }, []],
      ['FOREACH payload.date AS d DO d FROM "t/1"', { payload }, []],
      ['FOREACH payload.date AS d, payload.sensors AS s DO d, s.v AS v INCASE s.v = 1 FROM "t/1"', { payload }, [{ d: '2024', v: 1 }]],
      ['FOREACH payload.sensors AS s DO s.v AS v, v + 1 AS w INCASE s.v = 1 FROM "t/1"', { payload }, [{ v: 1, w: 2 }]],
      ['FOREACH payload AS p DO p AS x FROM "t/1"', { payload: '[1,2]' }, [{ x: 1 }, { x: 2 }]],
      ['FOREACH payload DO item AS x FROM "t/1"', { payload: '[3]' }, [{ x: 3 }]],
      ['FOREACH [1..3] AS n DO n * 2 AS d FROM "t/1"', {}, [{ d: 2 }, { d: 4 }, { d: 6 }]],
      ['FOREACH payload.sensors AS s DO s.v AS v FROM "t/1" WHERE s[1].v = 1', { payload }, [{ v: 1 }, { v: 5 }, { v: 9 }]],
      [
        'FOREACH payload.sensors AS s INCASE s.v = 1 FROM "t/1"',
        { payload, clientid: 'c' },
        [{ topic: 't/1', payload, clientid: 'c', s: { name: 'a', v: 1 } }],
      ],
      [
        'FOREACH payload.sensors INCASE item.v = 9 FROM "t/1"',
        { payload },
        [{ topic: 't/1', payload: { sensors: JSON.parse(payload).sensors }, item: { name: 'c', v: 9 } }],
      ],
    ])('%s', (sql, input, outputs) => {
      expect(run(sql, input)).toEqual(outputs);
    });
  });

  describe('evaluation errors', () => {
    it('wraps any failure in RuleEvaluationError with code ERR_RULE_EVALUATION', () => {
      const error = evaluationError('SELECT 1 / 0 AS r FROM "t/1"');
      expect(error.code).toBe('ERR_RULE_EVALUATION');
    });

    it('keeps the rule usable after a failure', () => {
      const rule = compileRule('SELECT payload.a AS a FROM "t/1"');
      expect(() => rule.evaluate({ topic: 't/1', payload: 'bad' })).toThrow(RuleEvaluationError);
      expect(rule.evaluate({ topic: 't/1', payload: '{"a":1}' })).toEqual([{ a: 1 }]);
    });
  });
});

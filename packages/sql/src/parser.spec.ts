import { describe, expect, it } from '@jest/globals';
import nearley from 'nearley';
import { IntegrationError, RuleSyntaxError } from '@sluice/core';
import type { Condition, Expr, Field, SelectStatement, Statement } from './ast';
import grammar from './grammar/rule.generated';
import { parseRule } from './parser';

// ---- small AST builders, to keep the tables readable ----
const v = (name: string): Expr => ({ type: 'var', name });
const int = (value: number): Expr => ({ type: 'const', value, kind: 'int' });
const flt = (value: number): Expr => ({ type: 'const', value, kind: 'float' });
const str = (value: string): Expr => ({ type: 'const', value, kind: 'string' });
const bool = (value: boolean): Expr => ({ type: 'const', value, kind: 'bool' });
const k = (key: string) => ({ type: 'key' as const, key });
const ix = (index: number | 'head' | 'tail' | Expr) => ({ type: 'index' as const, index }) as never;
const path = (...segments: unknown[]): Expr => ({ type: 'path', segments: segments.map((s) => (typeof s === 'string' ? k(s) : s)) as never });
const bin = (op: string, left: Expr, right: Expr): Expr => ({ type: 'binary', op, left, right }) as Expr;
const cmp = (op: string, left: Expr, right: Expr): Expr => ({ type: 'compare', op, left, right }) as Expr;
const neg = (operand: Expr): Expr => ({ type: 'unary', op: '-', operand });
const call = (name: string, ...args: Expr[]): Expr => ({ type: 'call', module: undefined, name, args });
const and = (left: Condition, right: Condition): Condition => ({ type: 'and', left, right });
const or = (left: Condition, right: Condition): Condition => ({ type: 'or', left, right });
const not = (operand: Condition): Condition => ({ type: 'not', operand });
const f = (expr: Expr, ...alias: string[]): Field => ({ type: 'field', expr, alias: alias.length === 0 ? undefined : alias.map(k) });

function select(fields: Field[], from: string[] = ['t'], where?: Condition): SelectStatement {
  return { type: 'select', fields, from, where };
}

/** The single field expression of `SELECT <expr> FROM t`. */
function exprOf(text: string): Expr {
  const statement = parseRule(`SELECT ${text} FROM t`) as SelectStatement;
  expect(statement.fields).toHaveLength(1);
  return (statement.fields[0] as { expr: Expr }).expr;
}

function whereOf(text: string): Condition {
  return (parseRule(`SELECT a FROM t WHERE ${text}`) as SelectStatement).where as Condition;
}

function syntaxError(text: string): RuleSyntaxError {
  try {
    parseRule(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleSyntaxError);
    return error as RuleSyntaxError;
  }
  throw new Error(`expected a syntax error for ${text}`);
}

describe('parseRule', () => {
  describe('statements', () => {
    it.each<[string, Statement]>([
      [
        'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"',
        select(
          [f(v('timestamp')), f(v('clientid')), f(path('payload', 'temp'), 'temp'), f(path('payload', 'hum'), 'hum')],
          ['temp_hum/emqx'],
        ),
      ],
      ['SELECT * FROM "t/#"', select([{ type: 'all' }], ['t/#'])],
      ['select *, a from t', select([{ type: 'all' }, f(v('a'))])],
      ['SELECT a FROM "a/b", \'c/+\', d', select([f(v('a'))], ['a/b', 'c/+', 'd'])],
      ['SELECT clientid c FROM t', select([f(v('clientid'), 'c')])],
      ['SELECT clientid AS c FROM t', select([f(v('clientid'), 'c')])],
      ['SELECT x AS a.b FROM t', select([f(v('x'), 'a', 'b')])],
      ['SELECT a FROM "$events/client/connected"', select([f(v('a'))], ['$events/client/connected'])],
      ['SELECT a FROM t WHERE a = 1', select([f(v('a'))], ['t'], cmp('=', v('a'), int(1)))],
      [
        'FOREACH payload.s AS s DO s.a, item INCASE s.a > 1 FROM "t" WHERE true',
        {
          type: 'foreach',
          items: [f(path('payload', 's'), 's')],
          do: [f(path('s', 'a')), f(v('item'))],
          incase: cmp('>', path('s', 'a'), int(1)),
          from: ['t'],
          where: bool(true),
        },
      ],
      [
        'FOREACH payload.sensors FROM t',
        { type: 'foreach', items: [f(path('payload', 'sensors'))], do: undefined, incase: undefined, from: ['t'], where: undefined },
      ],
      [
        'FOREACH a, b AS c INCASE c > 0 FROM t',
        { type: 'foreach', items: [f(v('a')), f(v('b'), 'c')], do: undefined, incase: cmp('>', v('c'), int(0)), from: ['t'], where: undefined },
      ],
      ['SELECT a < b AS c FROM t', select([f(cmp('<', v('a'), v('b')), 'c')])],
      ['SELECT a =~ \'t/#\' FROM t', select([f(cmp('=~', v('a'), str('t/#')))])],
      ['SELECT a -- comment\nFROM t', select([f(v('a'))])],
      ['SELECT -- first\n a FROM t', select([f(v('a'))])],
      ['  \n SELECT a FROM t \n ', select([f(v('a'))])],
    ])('%s', (text, ast) => {
      expect(parseRule(text)).toEqual(ast);
    });

    it('deletes a newline followed by "/" before lexing (EMQX quirk), keeping positions in the original text', () => {
      expect(parseRule('SELECT a, b\n/ FROM t')).toEqual(select([f(v('a')), f(v('b'))]));
      const error = syntaxError('SELECT a\n/, FROM t');
      expect([error.line, error.column]).toEqual([2, 4]);
    });
  });

  describe('keywords', () => {
    it.each(['select a from t', 'SeLeCt a FrOm t', 'SELECT a FROM t'])('are case-insensitive: %s', (text) => {
      expect(parseRule(text)).toEqual(select([f(v('a'))]));
    });

    it.each(['SELECT select FROM t', 'SELECT a AS from FROM t', 'SELECT if FROM t', 'SELECT a.end FROM t', 'SELECT elsif FROM t'])(
      'are reserved: %s',
      (text) => {
        syntaxError(text);
      },
    );

    it('names are case-sensitive and only lower-case true/false are booleans', () => {
      expect(exprOf('true')).toEqual(bool(true));
      expect(exprOf('false')).toEqual(bool(false));
      expect(exprOf('TRUE')).toEqual(v('TRUE'));
      expect(exprOf('"true"')).toEqual(v('true'));
      expect(exprOf('null')).toEqual(v('null'));
      expect(exprOf('DIV')).toEqual(v('DIV'));
      expect(exprOf('divide')).toEqual(v('divide'));
    });
  });

  describe('literals', () => {
    it.each<[string, Expr]>([
      ['1', int(1)],
      ['0', int(0)],
      ['1.5', flt(1.5)],
      ['0.001', flt(0.001)],
      ['3.14e4', flt(31400)],
      ['1.100', flt(1.1)],
      ['2.0', flt(2)],
      ["'abc'", str('abc')],
      ["'it''s'", str("it''s")],
      ["'a\\nb'", str('a\\nb')],
      ["''", str('')],
      ["'multi\nline'", str('multi\nline')],
      ["'héllo ✓'", str('héllo ✓')],
      ['[]', { type: 'list', items: [] }],
      ['[1, \'a\', b]', { type: 'list', items: [int(1), str('a'), v('b')] }],
      ['[1 + 2, f(x)]', { type: 'list', items: [bin('+', int(1), int(2)), call('f', v('x'))] }],
      ['[1..4]', { type: 'range', from: 1, to: 4 }],
      ['[-2..+3]', { type: 'range', from: -2, to: 3 }],
      ['-1', neg(int(1))],
    ])('%s', (text, expr) => {
      expect(exprOf(text)).toEqual(expr);
    });

    it('reads 1e5 as the integer 1 aliased e5, as EMQX does', () => {
      expect(parseRule('SELECT 1e5 FROM t')).toEqual(select([f(int(1), 'e5')]));
    });

    it.each([
      ['SELECT 12e3 FROM t', 1, 8, 'invalid number "12e3"'],
      ['SELECT 1.5f FROM t', 1, 8, 'invalid number "1.5f"'],
      ['SELECT .5 FROM t', 1, 8, 'unexpected "."'],
      ['SELECT 5. FROM t', 1, 9, 'unexpected "."'],
      ['SELECT _id FROM t', 1, 8, 'unexpected character "_"'],
      ["SELECT 'abc FROM t", 1, 8, 'unexpected character "\'"'],
      ['SELECT a FROM t WHERE a = #', 1, 27, 'unexpected character "#"'],
    ])('rejects %s at %i:%i', (text, line, column, message) => {
      const error = syntaxError(text);
      expect([error.line, error.column]).toEqual([line, column]);
      expect(error.message).toContain(message);
      expect(error.code).toBe('ERR_RULE_SYNTAX');
    });
  });

  describe('paths and indexes', () => {
    it.each<[string, Expr]>([
      ['payload.a.b', path('payload', 'a', 'b')],
      ['payload.arr[1]', path('payload', 'arr', ix(1))],
      ['a[-1]', path('a', ix(-1))],
      ['a[+2]', path('a', ix(2))],
      ['a[0]', path('a', ix('head'))],
      ['a[-0]', path('a', ix('tail'))],
      ['a[b]', path('a', ix(v('b')))],
      ['a[b[1].c]', path('a', ix(path('b', ix(1), 'c')))],
      ['a[1][2].c', path('a', ix(1), ix(2), 'c')],
      ['a.1', path('a', '1')],
      ["a.'1.5'", path('a', '1.5')],
      ["pub_props.'User-Property'", path('pub_props', 'User-Property')],
      ['payload."c d"', path('payload', 'c d')],
      ['"topic"', v('topic')],
      ['a . b', path('a', 'b')],
      ['a[1..3]', { type: 'slice', ref: v('a') as never, from: 1, to: 3 }],
      ['a.b[-2..-1]', { type: 'slice', ref: path('a', 'b') as never, from: -2, to: -1 }],
      ['x~y@z$w', v('x~y@z$w')],
    ])('%s', (text, expr) => {
      expect(exprOf(text)).toEqual(expr);
    });

    it('parses alias paths with indexes', () => {
      expect(parseRule('SELECT 1 AS a.b[1].c[0][-0][-2][x] FROM t')).toEqual(
        select([{ type: 'field', expr: int(1), alias: [k('a'), k('b'), ix(1), k('c'), ix('head'), ix('tail'), ix(-2), ix(v('x'))] }]),
      );
    });

    it.each([
      'SELECT 1.b FROM t',
      'SELECT [1].b FROM t',
      'SELECT a[1].[2] FROM t',
      'SELECT a.b[1..3].c FROM t',
      'SELECT a.1.100 FROM t',
      'SELECT 1 AS a[1..2] FROM t',
      'SELECT a[1 + 1] FROM t',
      'SELECT a. FROM t',
    ])('rejects %s', (text) => {
      syntaxError(text);
    });
  });

  describe('operator precedence', () => {
    it.each<[string, Expr]>([
      ['1 + 2 * 3', bin('+', int(1), bin('*', int(2), int(3)))],
      ['1 * 2 + 3', bin('+', bin('*', int(1), int(2)), int(3))],
      ['1 - 2 - 3', bin('-', bin('-', int(1), int(2)), int(3))],
      ['8 / 4 / 2', bin('/', bin('/', int(8), int(4)), int(2))],
      ['7 div 2 mod 3', bin('mod', bin('div', int(7), int(2)), int(3))],
      ['1 + 7 div 2', bin('+', int(1), bin('div', int(7), int(2)))],
      ['-a * b', bin('*', neg(v('a')), v('b'))],
      ['a - -b', bin('-', v('a'), neg(v('b')))],
      ['(1 + 2) * 3', bin('*', bin('+', int(1), int(2)), int(3))],
      ['- (1 + 2)', neg(bin('+', int(1), int(2)))],
      ['+a', { type: 'unary', op: '+', operand: v('a') }],
      ['div(7, 2)', call('div', int(7), int(2))],
      ['mod(7, 2)', call('mod', int(7), int(2))],
      ['a + 1 < b * 2 AS c', cmp('<', bin('+', v('a'), int(1)), bin('*', v('b'), int(2)))],
    ])('%s', (text, expr) => {
      const fields = (parseRule(`SELECT ${text} FROM t`) as SelectStatement).fields;
      expect((fields[0] as { expr: Expr }).expr).toEqual(expr);
    });

    it.each<[string, Condition]>([
      ['a = 1 OR b = 2 AND c = 3', or(cmp('=', v('a'), int(1)), and(cmp('=', v('b'), int(2)), cmp('=', v('c'), int(3))))],
      ['a = 1 AND b = 2 OR c = 3', or(and(cmp('=', v('a'), int(1)), cmp('=', v('b'), int(2))), cmp('=', v('c'), int(3)))],
      ['(a = 1 OR b = 2) AND c = 3', and(or(cmp('=', v('a'), int(1)), cmp('=', v('b'), int(2))), cmp('=', v('c'), int(3)))],
      ['NOT a = 1 AND b = 2', and(not(cmp('=', v('a'), int(1))), cmp('=', v('b'), int(2)))],
      ['NOT NOT a = 1', not(not(cmp('=', v('a'), int(1))))],
      ['NOT (a = 1 OR b = 2)', not(or(cmp('=', v('a'), int(1)), cmp('=', v('b'), int(2))))],
      ['a + 1 > 2', cmp('>', bin('+', v('a'), int(1)), int(2))],
      ['(a) = 1', cmp('=', v('a'), int(1))],
      ['((a = 1))', cmp('=', v('a'), int(1))],
      ['a IN (1, 2)', { type: 'in', negated: false, left: v('a'), items: [int(1), int(2)] }],
      ['a NOT IN (1)', { type: 'in', negated: true, left: v('a'), items: [int(1)] }],
      ['NOT a IN (1)', not({ type: 'in', negated: false, left: v('a'), items: [int(1)] })],
      ['f(x)', call('f', v('x'))],
      ['payload.flag', path('payload', 'flag')],
      ['topic =~ \'t/#\' and qos >= 1', and(cmp('=~', v('topic'), str('t/#')), cmp('>=', v('qos'), int(1)))],
      ['a <> b or a != c', or(cmp('<>', v('a'), v('b')), cmp('!=', v('a'), v('c')))],
      ['a ~= b', cmp('~=', v('a'), v('b'))],
      ['a <= 1 and b >= 2 and c < 3', and(and(cmp('<=', v('a'), int(1)), cmp('>=', v('b'), int(2))), cmp('<', v('c'), int(3)))],
    ])('WHERE %s', (text, cond) => {
      expect(whereOf(text)).toEqual(cond);
    });

    it.each([
      'SELECT a = b = c AS x FROM t',
      'SELECT not x FROM t',
      'SELECT a in (1,2) as r FROM t',
      'SELECT a and b FROM t',
      'SELECT a = b c FROM t',
      'SELECT (CASE WHEN a = 1 THEN 1 END) + 1 AS x FROM t',
      'SELECT a FROM t WHERE a = b = c',
      'SELECT a FROM t WHERE a IN ()',
      'SELECT a FROM t WHERE AND a = 1',
    ])('rejects %s', (text) => {
      syntaxError(text);
    });
  });

  describe('calls and CASE', () => {
    it.each<[string, Expr]>([
      ['f()', call('f')],
      ['lower(clientid)', call('lower', v('clientid'))],
      ['emqx_rule_funcs.abs(-1)', { type: 'call', module: 'emqx_rule_funcs', name: 'abs', args: [neg(int(1))] }],
      ['f(a = 1, b)', call('f', cmp('=', v('a'), int(1)), v('b'))],
      ['f(CASE WHEN a = 1 THEN 2 END)', call('f', { type: 'case', subject: undefined, whens: [{ when: cmp('=', v('a'), int(1)), then: int(2) }], else: undefined })],
      ['f(g(h(1)))', call('f', call('g', call('h', int(1))))],
      [
        'CASE WHEN a > 1 THEN \'big\' WHEN a > 0 THEN \'small\' ELSE \'none\' END',
        {
          type: 'case',
          subject: undefined,
          whens: [
            { when: cmp('>', v('a'), int(1)), then: str('big') },
            { when: cmp('>', v('a'), int(0)), then: str('small') },
          ],
          else: str('none'),
        },
      ],
      [
        'case x when 1 then \'one\' end',
        { type: 'case', subject: v('x'), whens: [{ when: int(1), then: str('one') }], else: undefined },
      ],
      ['(CASE WHEN true THEN 1 END)', { type: 'case', subject: undefined, whens: [{ when: bool(true), then: int(1) }], else: undefined }],
    ])('%s', (text, expr) => {
      expect(exprOf(text)).toEqual(expr);
    });

    it('takes an alias after CASE with or without AS', () => {
      const expected = { type: 'case', subject: undefined, whens: [{ when: bool(true), then: int(1) }], else: undefined };
      expect(parseRule('SELECT CASE WHEN true THEN 1 END AS x FROM t')).toEqual(select([{ type: 'field', expr: expected as Expr, alias: [k('x')] }]));
      expect(parseRule('SELECT CASE WHEN true THEN 1 END x FROM t')).toEqual(select([{ type: 'field', expr: expected as Expr, alias: [k('x')] }]));
    });

    it.each(['SELECT CASE END FROM t', 'SELECT CASE WHEN a THEN 1 FROM t', 'SELECT f(,) FROM t', 'SELECT f(1,) FROM t', 'SELECT a.b.c(1) FROM t'])(
      'rejects %s',
      (text) => {
        syntaxError(text);
      },
    );
  });

  describe('syntax errors', () => {
    it.each([
      ['', 1, 1, 'empty rule'],
      ['   \n  ', 1, 1, 'empty rule'],
      ['SELECT a', 1, 9, 'unexpected end of rule'],
      ['SELECT a FROM', 1, 14, 'unexpected end of rule: expected one of a "quoted name", a \'string\', a name'],
      ['SELECT FROM t', 1, 8, 'unexpected keyword FROM'],
      ['SELEC a FROM t', 1, 1, 'unexpected name SELEC: expected one of FOREACH, SELECT'],
      ['SELECT a FROM t WHERE', 1, 22, 'unexpected end of rule'],
      ['SELECT a FROM a b', 1, 17, 'unexpected name b: expected one of ",", WHERE'],
      ['SELECT a,\n  b c d\nFROM t', 2, 7, 'unexpected name d'],
      ['SELECT a FROM t\nWHERE a = 1\n  AND', 3, 6, 'unexpected end of rule'],
      // The rule is trimmed first, so a comment on the last line has no newline: it lexes as `- -`.
      ['SELECT a FROM t WHERE a = 1 -- trailing comment', 1, 41, 'unexpected name comment'],
      ['FOREACH a DO FROM t', 1, 14, 'unexpected keyword FROM'],
      ['SELECT a FROM t WHERE (a = 1', 1, 29, 'unexpected end of rule: expected one of ")"'],
      ['SELECT \ud800 FROM t', 1, 8, 'not valid UTF-8'],
    ])('%j fails at %i:%i', (text, line, column, message) => {
      const error = syntaxError(text);
      expect(error.message).toContain(message);
      expect({ line: error.line, column: error.column }).toEqual({ line, column });
    });

    it('is an IntegrationError with code ERR_RULE_SYNTAX', () => {
      const error = syntaxError('SELECT');
      expect(IntegrationError.is(error)).toBe(true);
      expect(error.code).toBe('ERR_RULE_SYNTAX');
    });
  });

  describe('the grammar', () => {
    const corpus = [
      'SELECT a FROM t',
      'SELECT (a) FROM t WHERE (a) = 1 AND ((b > 2)) OR NOT (c) AND NOT (d = 1 OR e = 2)',
      'SELECT ((a + b)) * c AS x, -(-a) y, [a, [b, [c]]] z FROM t',
      'SELECT CASE a WHEN 1 THEN 2 WHEN (3) THEN 4 ELSE 5 END AS x FROM t',
      'SELECT ((CASE WHEN (a = 1) THEN 1 END)) x FROM t',
      'SELECT f((a), b = c, CASE WHEN d THEN e END, [1..2], x[1..2]) FROM t',
      'SELECT a div b mod c + div(d, e) AS x FROM t',
      'SELECT a div (b) FROM t',
      'FOREACH payload.a AS a, a.b AS b DO b.c, item.d AS d.e[1] INCASE NOT (a = 1) AND b IN (1, (2), 3) FROM t, "u", \'v\' WHERE x NOT IN (1)',
      'SELECT a.b.c[d.e[f]][-1][0] x.y[z], "q"."r".\'s\'.1 FROM t',
      'SELECT NOT_A_KEYWORD, a_NOT, x AS y FROM t WHERE a = 1 AND (b = 2 OR (c = 3 AND (d = 4)))',
      'SELECT * , *, a FROM t WHERE a =~ \'+/#\' OR a ~= b',
      'SELECT emqx_rule_funcs.f(1), EmqxRuleFuncs.g() FROM t WHERE h(a) AND NOT i(b) OR j(c) = true',
    ];

    it.each(corpus)('parses %s in exactly one way', (text) => {
      const parser = new nearley.Parser(nearley.Grammar.fromCompiled(grammar));
      parser.feed(text);
      expect(parser.results).toHaveLength(1);
      expect(() => parseRule(text)).not.toThrow();
    });
  });
});

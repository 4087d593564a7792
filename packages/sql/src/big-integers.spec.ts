import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError, RuleSyntaxError } from '@sluice/core';
import { compileRule } from './rule';
import { compileTemplate } from './template';
import { JsonIntegerTooLongError, decodeJson, decodeJsonExact, encodeJson, mayHoldLongInteger } from './json';
import { compare, exactEquals, parseErlangNumber } from './operators';
import { MAX_INTEGER_BITS, SqlFloat, intOf, toText, type SqlValue } from './values';
import { createFunctionState, functionNames, lookupFunction, type FunctionContext } from './functions';

// Integers beyond 2^53 (RULE-SQL.md §3, §4.6-4.7, §7, §8.2-8.3, §8.8): exact as Erlang's bignums, as
// bigints in JS (values.ts), and plain numbers again whenever a result is back in the safe range.

const NS = 1733400000123456789n; // a nanosecond timestamp
const U64_MAX = 18446744073709551615n;

function value(expr: string, payload?: string): unknown {
  const outputs = compileRule(`SELECT ${expr} AS r FROM "t/1"`).evaluate({ topic: 't/1', ...(payload === undefined ? {} : { payload }) });
  expect(outputs).toHaveLength(1);
  return (outputs[0] as Record<string, unknown>)['r'];
}

function failure(expr: string, payload?: string): string {
  try {
    value(expr, payload);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleEvaluationError);
    return (error as Error).message;
  }
  throw new Error(`expected ${expr} to fail`);
}

describe('integers beyond 2^53', () => {
  describe('decoding JSON', () => {
    it.each<[string, SqlValue]>([
      ['{"ts": 1733400000123456789}', { ts: NS }],
      ['[18446744073709551615, -18446744073709551616]', [U64_MAX, -(U64_MAX + 1n)]],
      ['{"a": 9007199254740991, "b": 9007199254740992, "c": -9007199254740993}', { a: 9007199254740991, b: 9007199254740992n, c: -9007199254740993n }],
      // 16+ digits that are safe come back as plain numbers
      ['[1000000000000000, 0000]', undefined],
      ['{"v": 1234567890123456}', { v: 1234567890123456 }],
      ['{"f": 1733400000123456789.0, "e": 1733400000123456789e0}', { f: new SqlFloat(1733400000123456789), e: new SqlFloat(1733400000123456789) }],
    ])('%s', (text, expected) => {
      if (expected === undefined) {
        expect(() => decodeJson(text)).toThrow(SyntaxError); // leading zeros stay invalid JSON
        return;
      }
      expect(decodeJson(text)).toStrictEqual(expected);
    });

    it('takes the slow route only for a run of 16+ digits that can be a number literal beyond 2^53', () => {
      expect(mayHoldLongInteger('{"ts": 1733400000123456789}')).toBe(true);
      expect(mayHoldLongInteger('[-1733400000123456789]')).toBe(true);
      expect(mayHoldLongInteger('1733400000123456789')).toBe(true);
      expect(mayHoldLongInteger('{"ts": 173340000012345}')).toBe(false); // 15 digits: always safe
      expect(mayHoldLongInteger('{"ts": 1733400000123456}')).toBe(false); // 16 led by 1-8: below 9e15 < 2^53
      expect(mayHoldLongInteger('{"id": "1733400000123456789"}')).toBe(false); // an id sent as text
      expect(mayHoldLongInteger('{"id": "dev1733400000123456789x"}')).toBe(false);
      expect(mayHoldLongInteger('{"temp": 27.5, "hum": 41.8, "clientid": "c1", "n": 12}')).toBe(false);
      // every position of a long run is found, whatever its alignment
      for (const run of ['9234567890123456', '12345678901234567']) {
        for (let pad = 0; pad < 20; pad++) expect(mayHoldLongInteger(`{"${'k'.repeat(pad)}":${run}}`)).toBe(true);
      }
    });

    it('agrees with the exact parser on texts that look like long integers but are not', () => {
      for (const text of ['{"id": "x 1733400000123456789 y"}', '["1733400000123456789", 1]', '{"n": 12, "s": "0.12345678901234567"}']) {
        expect(decodeJson(text)).toStrictEqual(decodeJsonExact(text));
        expect(decodeJson(text)).toStrictEqual(JSON.parse(text));
      }
    });

    it('refuses an integer literal of more than 20,000 digits (BigInt parsing is superlinear)', () => {
      expect(() => decodeJson(`[${'9'.repeat(20001)}]`)).toThrow(JsonIntegerTooLongError);
      expect(decodeJson(`[${'9'.repeat(20000)}]`)).toStrictEqual([BigInt('9'.repeat(20000))]);
    });
  });

  describe('rendering', () => {
    it('str(), templates and ${.} write every digit, as a JSON number', () => {
      expect(toText(NS)).toBe('1733400000123456789');
      expect(encodeJson({ ts: NS, l: [U64_MAX, -U64_MAX], f: 2.5 })).toBe('{"ts":1733400000123456789,"l":[18446744073709551615,-18446744073709551615],"f":2.5}');
      expect(compileTemplate('{"ts": ${ts}, "l": ${l}}').render({ ts: NS, l: [U64_MAX] })).toBe('{"ts": 1733400000123456789, "l": [18446744073709551615]}');
      expect(compileTemplate('${.}').render({ m: { n: -NS } })).toBe('{"m":{"n":-1733400000123456789}}');
      expect(value("str(payload.ts) + ''", '{"ts": 1733400000123456789}')).toBe('1733400000123456789');
    });

    it('a payload, a rule and a Kafka-style value template: the nanosecond timestamp arrives exact', () => {
      const rule = compileRule('SELECT payload.ts AS ts, payload.ts + 1 AS next, clientid FROM "t/#"');
      const [output] = rule.evaluate({ topic: 't/1', clientid: 'c1', payload: '{"ts": 1733400000123456789}' });
      expect(output).toStrictEqual({ ts: NS, next: NS + 1n, clientid: 'c1' });
      expect(compileTemplate('{"ts": ${ts}}').render(output ?? {})).toBe('{"ts": 1733400000123456789}');
      expect(compileTemplate('${.}').render(output ?? {})).toBe('{"ts":1733400000123456789,"next":1733400000123456790,"clientid":"c1"}');
      expect(compileTemplate('${next}').renderValue?.(output ?? {})).toBe('1733400000123456790');
    });
  });

  describe('integer literals in rule text', () => {
    it('are exact: SELECT 18446744073709551615 + 1', () => {
      expect(value('18446744073709551615 + 1')).toBe(18446744073709551616n);
      expect(value('-18446744073709551615')).toBe(-U64_MAX);
      expect(value('9007199254740993')).toBe(9007199254740993n);
      expect(value('900719925474099')).toBe(900719925474099);
    });

    it('refuses one of more than 20,000 digits at its position', () => {
      expect(() => compileRule(`SELECT ${'9'.repeat(20001)} AS r FROM "t/1"`)).toThrow(RuleSyntaxError);
    });
  });

  describe('arithmetic (§4.7)', () => {
    it.each<[string, SqlValue]>([
      ['9007199254740991 + 1', 9007199254740992n],
      ['9007199254740991 + 2', 9007199254740993n],
      ['-9007199254740991 - 2', -9007199254740993n],
      ['4294967296 * 4294967296', 18446744073709551616n],
      ['3037000500 * 3037000500', 9223372037000250000n],
      ['18446744073709551616 - 18446744073709551615', 1], // back in the safe range: a plain number
      ['18446744073709551615 div 10', 1844674407370955161n],
      ['18446744073709551615 mod 10', 5],
      ['-18446744073709551615 div 10', -1844674407370955161n], // truncates toward zero
      ['-18446744073709551615 mod 10', -5], // the dividend's sign (rem)
      ['div(18446744073709551615, 18446744073709551615)', 1],
      ['9007199254740991 div 1', 9007199254740991],
      ['9007199254740991 div 2', 4503599627370495],
      ['-(-9007199254740992)', 9007199254740992n],
      ['-9223372036854775808 * -1', 9223372036854775808n],
      ['abs(-18446744073709551615)', U64_MAX],
    ])('%s', (expr, expected) => {
      expect(value(expr)).toStrictEqual(expected);
    });

    it('mixed with a float gives a float, as Erlang (the bignum converted to a double)', () => {
      expect(value('18446744073709551615 + 0.5')).toStrictEqual(new SqlFloat(18446744073709552000));
      expect(value('18446744073709551615 * 1.5')).toStrictEqual(new SqlFloat(27670116110564327000));
      expect(value('18446744073709551616 / 2')).toStrictEqual(new SqlFloat(9223372036854775808));
      expect(value('10 / 4')).toBe(2.5);
    });

    it('a float beyond the double range raises, as badarith', () => {
      expect(failure(`${'9'.repeat(400)} + 0.5`)).toContain('arithmetic overflow');
      expect(failure(`${'9'.repeat(400)} / 1`)).toContain('arithmetic overflow');
    });

    it('div and mod by zero still raise', () => {
      expect(failure('18446744073709551615 div 0')).toContain('division by zero');
      expect(failure('18446744073709551615 mod 0')).toContain('division by zero');
    });

    it(`refuses an integer result of more than ${MAX_INTEGER_BITS} bits (a rule squaring a value field after field)`, () => {
      expect(failure('bitsl(1, 65535) * 2')).toContain(`more than ${MAX_INTEGER_BITS} bits`);
      expect(value('bitsl(1, 65534) * 2')).toBe(1n << 65535n);
    });

    it('matches BigInt on random operands, as EMQX checks its arithmetic against Erlang (prop_arith_op)', () => {
      let seed = 20261206;
      const random = (): bigint => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const digits = 1 + (seed % 30);
        let text = '';
        for (let i = 0; i < digits; i++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          text += String(seed % 10);
        }
        return (seed & 1 ? -1n : 1n) * BigInt(text);
      };
      const rule = compileRule('SELECT payload.x + payload.y AS a, payload.x - payload.y AS s, payload.x * payload.y AS m, payload.x div payload.y AS d, ' +
        'payload.x mod payload.y AS r, payload.x < payload.y AS lt, payload.x = payload.y AS eq, -payload.x AS n FROM "t/1"');
      for (let i = 0; i < 500; i++) {
        const x = random();
        const y = random() || 1n;
        const [out] = rule.evaluate({ topic: 't/1', payload: `{"x": ${x}, "y": ${y}}` });
        expect(out).toStrictEqual({ a: intOf(x + y), s: intOf(x - y), m: intOf(x * y), d: intOf(x / y), r: intOf(x % y), lt: x < y, eq: x === y, n: intOf(-x) });
      }
    });
  });

  describe('comparisons (§4.6)', () => {
    it.each<[string, boolean]>([
      ['18446744073709551615 > 18446744073709551614', true],
      ['18446744073709551615 = 18446744073709551615', true],
      ['9007199254740993 > 9007199254740992', true], // equal as doubles, not as integers
      ['9007199254740993 = 9007199254740992.0', false],
      ['9007199254740992 = 9007199254740992.0', true], // arithmetic equality
      ['18446744073709551615 > 1.5', true],
      ['-18446744073709551615 < 1', true],
      ["18446744073709551615 = '18446744073709551615'", true], // the string parsed as an integer
      ["18446744073709551615 > '18446744073709551614'", true],
      ["'9007199254740993' > 9007199254740992", true],
      ["18446744073709551615 < 'a'", false],
    ])('%s is %p', (expr, expected) => {
      if (expr.endsWith("'a'")) {
        expect(failure(expr)).toContain('the string is not a number');
        return;
      }
      expect(value(expr)).toBe(expected);
    });

    it('orders bigints among numbers in term order, and IN / CASE use exact equality', () => {
      expect(compare('<', 18446744073709551615n, true)).toBe(true); // number < atom
      expect(compare('<', 18446744073709551615n, 18446744073709551616n)).toBe(true);
      expect(exactEquals(2n ** 60n, 2 ** 60)).toBe(true); // a double holding the same integer
      expect(exactEquals(2n ** 60n, new SqlFloat(2 ** 60))).toBe(false); // 1 =/= 1.0
      const rule = compileRule('SELECT CASE payload.n WHEN 18446744073709551615 THEN 1 ELSE 0 END AS c FROM "t/1" WHERE payload.n IN (1, 18446744073709551615)');
      expect(rule.evaluate({ topic: 't/1', payload: '{"n": 18446744073709551615}' })).toStrictEqual([{ c: 1 }]);
      expect(rule.evaluate({ topic: 't/1', payload: '{"n": 18446744073709551614}' })).toStrictEqual([]);
    });

    it('numeric strings are read exactly', () => {
      expect(parseErlangNumber('18446744073709551615')).toBe(U64_MAX);
      expect(parseErlangNumber('+18446744073709551615')).toBe(U64_MAX);
      expect(parseErlangNumber('-0000000000000000001')).toBe(-1);
      expect(parseErlangNumber('9'.repeat(20002))).toBeUndefined();
    });
  });

  describe('functions', () => {
    it.each<[string, SqlValue]>([
      // type tests and conversions (§8.3)
      ['is_int(18446744073709551615)', true],
      ['is_num(18446744073709551615)', true],
      ['is_float(18446744073709551615)', false],
      ['str(18446744073709551615)', '18446744073709551615'],
      ["int('18446744073709551615')", U64_MAX],
      ["int('1.8446744073709552e19')", 18446744073709551616n],
      ['int(18446744073709551615)', U64_MAX],
      ['int(1.0e20)', 100000000000000000000n],
      ['float(18446744073709551616)', new SqlFloat(18446744073709551616)],
      ['1.0e20 + 0', new SqlFloat(1e20)],
      // rounding keeps integers and gives exact integers beyond 2^53 (§8.2)
      ['round(18446744073709551615)', U64_MAX],
      ['floor(1.0e20)', 100000000000000000000n],
      ['ceil(-1.0e20)', -100000000000000000000n],
      ['sqrt(18446744073709551616)', new SqlFloat(4294967296)],
      // bits (§8.8): arbitrary precision, 64-bit masks
      ['bitand(18446744073709551615, 4294967295)', 4294967295],
      ['bitor(bitsl(1, 63), 1)', 9223372036854775809n],
      ['bitxor(18446744073709551615, 18446744073709551614)', 1],
      ['bitsl(1, 64)', 18446744073709551616n],
      ['bitsr(18446744073709551616, 64)', 1],
      ['bitsr(-18446744073709551616, 1)', -9223372036854775808n],
      ['bitnot(18446744073709551615)', -18446744073709551616n],
      ['bitnot(-18446744073709551616)', U64_MAX],
      // subbits of a 64-bit counter
      ["subbits(hexstr2bin('FFFFFFFFFFFFFFFF'), 1, 64)", U64_MAX],
      ["subbits(hexstr2bin('FFFFFFFFFFFFFFFF'), 1, 64, 'integer', 'signed')", -1],
      ["subbits(hexstr2bin('8000000000000001'), 1, 64, 'integer', 'unsigned', 'little')", 72057594037927936n + 128n],
      // sprintf prints bignums as io_lib:format does
      ["sprintf('~B', 18446744073709551615)", '18446744073709551615'],
      ["sprintf('~.16B', 18446744073709551615)", 'FFFFFFFFFFFFFFFF'],
      ["sprintf('~.16x', -18446744073709551615, '0x')", '-0xffffffffffffffff'],
      ["sprintf('~p ~w', 18446744073709551615, -18446744073709551615)", '18446744073709551615 -18446744073709551615'],
      // nanosecond epochs (§8.9)
      ["rfc3339_to_unix_ts(unix_ts_to_rfc3339(1733400000123456789, 'nanosecond'), 'nanosecond')", NS], // any local offset
      ["format_date('nanosecond', 'Z', '%Y-%m-%dT%H:%M:%S.%N', 1733400000123456789)", '2024-12-05T12:00:00.123456789'],
      ["rfc3339_to_unix_ts('2024-12-05T12:00:00.123456789Z', 'nanosecond')", NS],
      ["rfc3339_to_unix_ts('2024-12-05T12:00:00.123Z', 'millisecond')", 1733400000123],
    ])('%s', (expr, expected) => {
      expect(value(expr)).toStrictEqual(expected);
    });

    it('refuse what Erlang refuses', () => {
      expect(failure(`float(${'9'.repeat(400)})`)).toContain('within the float range');
      expect(failure('bool(18446744073709551615)')).toContain('function bool()');
      expect(failure('abs(1.5)')).toContain('an integer');
      // a position or length cannot be beyond 2^53: the message says so rather than "not an integer"
      expect(failure("substr('abc', 18446744073709551615)")).toContain('an integer within ±(2^53 - 1)');
      expect(failure(`bitsl(1, ${MAX_INTEGER_BITS + 1})`)).toContain(`more than ${MAX_INTEGER_BITS} bits`);
    });

    it('bit functions match BigInt on random 64-bit operands (prop_bits_op)', () => {
      let seed = 7;
      const next64 = (): bigint => {
        let v = 0n;
        for (let i = 0; i < 4; i++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          v = (v << 16n) | BigInt(seed >>> 16);
        }
        return BigInt.asIntN(64, v);
      };
      const rule = compileRule('SELECT bitand(payload.x, payload.y) AS a, bitor(payload.x, payload.y) AS o, bitxor(payload.x, payload.y) AS x2, ' +
        'bitnot(payload.x) AS n, bitsl(payload.x, 7) AS l, bitsr(payload.x, 7) AS r FROM "t/1"');
      for (let i = 0; i < 300; i++) {
        const x = next64();
        const y = next64();
        const [out] = rule.evaluate({ topic: 't/1', payload: `{"x": ${x}, "y": ${y}}` });
        expect(out).toStrictEqual({ a: intOf(x & y), o: intOf(x | y), x2: intOf(x ^ y), n: intOf(~x), l: intOf(x << 7n), r: intOf(x >> 7n) });
      }
    });
  });

  describe('every built-in given a bigint', () => {
    // Nothing may crash on one: a function either handles it or fails the rule (RuleEvaluationError),
    // and what it returns can be written as JSON.
    const context: FunctionContext = { input: { topic: 't/1', payload: '{"ts": 1733400000123456789}' }, inCondition: false, state: createFunctionState() };
    const others: SqlValue[] = ['abc', 1, [1n << 70n], { k: U64_MAX }];
    it.each(functionNames())('%s', (name) => {
      const fn = lookupFunction(name);
      expect(fn).toBeDefined();
      for (let count = 0; count <= 4; count++) {
        for (const other of others) {
          for (let position = 0; position < Math.max(count, 1); position++) {
            const args = Array.from({ length: count }, (_, i) => (i === position ? U64_MAX : other));
            let result: SqlValue;
            try {
              result = (fn as NonNullable<typeof fn>)(args, context);
            } catch (error) {
              if (!(error instanceof RuleEvaluationError)) throw new Error(`${name}(${args.map(String).join(', ')}) threw ${String(error)}`);
              continue;
            }
            try {
              encodeJson(result);
            } catch (error) {
              if (!(error instanceof RuleEvaluationError)) throw new Error(`the result of ${name}(${args.map(String).join(', ')}) cannot be encoded: ${String(error)}`);
            }
          }
        }
      }
    });
  });
});

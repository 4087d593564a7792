import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { JsonTooDeepError, MAX_JSON_DEPTH, decodeJson, decodeJsonExact, encodeJson, mayHoldIntegralFloat, mayHoldLongInteger } from './json';
import { compileRule } from './rule';
import { SqlFloat, describeValue, toText, type SqlValue } from './values';

const F = (n: number): SqlFloat => new SqlFloat(n);

describe('decodeJson', () => {
  it.each<[string, SqlValue]>([
    ['{"a":1}', { a: 1 }],
    ['{"a":1.5}', { a: 1.5 }],
    ['{"a":2.0}', { a: F(2) }],
    ['{"a":2.50}', { a: 2.5 }],
    ['[1e3]', [F(1000)]],
    ['[1.5e3]', [F(1500)]],
    ['[1.25e1]', [12.5]],
    ['[-0.0]', [F(-0)]],
    ['[10000000000000000.5]', [F(10000000000000000)]],
    ['null', null],
    ['true', true],
    ['"x"', 'x'],
    ['"a\\"b\\u00e9\\n"', 'a"bé\n'],
    ['{"s":"v1.0 and 2e5","n":3}', { s: 'v1.0 and 2e5', n: 3 }],
    ['{"nested":{"list":[1,2.0,{"x":null}]},"b":false}', { nested: { list: [1, F(2), { x: null }] }, b: false }],
    ['  [ 1 , 2.0 ]  ', [1, F(2)]],
    ['{}', {}],
    ['[]', []],
    ['{"a":{"b":1.0e0}}', { a: { b: F(1) } }],
    ['[-5, -5.0, 0.0]', [-5, F(-5), F(0)]],
    ['[12345678.5]', [12345678.5]],
    ['[123456789012345.9999]', [F(123456789012346)]],
    ['[0.1000000000000000055511151231257827]', [0.1]],
    ['[1E2]', [F(100)]],
    ['{"a":"1e5","b":1.5}', { a: '1e5', b: 1.5 }],
    ['{"ts":1700000000123,"t":27.5}', { ts: 1700000000123, t: 27.5 }],
  ])('%s', (text, expected) => {
    expect(decodeJson(text)).toStrictEqual(expected);
  });

  it('keeps __proto__ as an own key', () => {
    const v = decodeJson('{"__proto__":{"x":1.0}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it.each(['', '{', '{"a":}', '[1,]', '[1.]', '[.5]', '[01]', '{"a":1.0,}', 'nul', '[1.0] x', '["a\u0001"]', '[2.0e]'])(
    'rejects %j',
    (text) => {
      expect(() => decodeJson(text)).toThrow(SyntaxError);
    },
  );
});

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Number literals as payloads write them, integral floats included (`2.0`, `1e3`, `-0.0`, 16+ digits). */
const NUMBER_TEXTS = ['0', '-7', '27', '27.5', '41.8', '2.0', '2.50', '-5.0', '0.0', '-0.0', '1e3', '1.5e3', '1.25e1', '2E-2',
  '12345678.5', '0.123456789', '10000000000000000.5', '3.14159', '100', '9007199254740993', '9007199254740991',
  '9999999999999999', '1765000000123456', '-8999999999999999', '1765000000123456.5', '12345678901234567'];
const STRING_TEXTS = ['"x"', '"27.5"', '"v1.0 and 2e5"', '"temp"', '"a\\"b"', '"\\u00e9"', '""', '"1e3"'];

function randomJson(next: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const space = (): string => (next() < 0.3 ? ' ' : '');
  const r = next();
  if (depth > 0 && r < 0.25) {
    const n = Math.floor(next() * 4);
    const items = Array.from({ length: n }, () => randomJson(next, depth - 1));
    return `[${space()}${items.join(`,${space()}`)}${space()}]`;
  }
  if (depth > 0 && r < 0.5) {
    const n = Math.floor(next() * 4);
    const members = Array.from({ length: n }, (_, i) => `"k${i}${pick(['', 'e', '.0', '_1e2'])}":${space()}${randomJson(next, depth - 1)}`);
    return `{${space()}${members.join(`,${space()}`)}${space()}}`;
  }
  if (r < 0.8) return pick(NUMBER_TEXTS);
  if (r < 0.95) return pick(STRING_TEXTS);
  return pick(['true', 'false', 'null']);
}

describe('decodeJson fast path (JSON.parse when no number can be an integral float)', () => {
  it('gives exactly what the kind-preserving parser gives, over 5000 generated documents', () => {
    const next = prng(20241125);
    let fast = 0;
    for (let i = 0; i < 5000; i++) {
      const text = randomJson(next, 3);
      const exact = decodeJsonExact(text);
      expect({ text, value: decodeJson(text) }).toStrictEqual({ text, value: exact });
      if (!mayHoldIntegralFloat(text) && !mayHoldLongInteger(text)) {
        fast++;
        // The prefilters' promise: JSON.parse alone loses no float kind and no integer digit on this text.
        expect({ text, value: JSON.parse(text) as SqlValue }).toStrictEqual({ text, value: exact });
      }
    }
    // Both routes were exercised.
    expect(fast).toBeGreaterThan(500);
    expect(fast).toBeLessThan(4500);
  });

  it.each([
    ['{"temp": 2.0}', true],
    ['{"temp": 1e3}', true],
    ['{"temp": 2.50}', true],
    ['{"temp": 12345678.5}', true],
    ['{"temp": 0.123456789}', true],
    ['{"temp": 27.5, "hum": 41.8}', false],
    ['{"temp": "27.5", "hum": "41.8"}', false],
    ['{"id": "s1", "v": 3}', false],
    ['{"name": "see 2e"}', true], // text inside strings may trigger it: only the slower route, same result
  ])('%s takes the kind-preserving route: %p', (text, slow) => {
    expect(mayHoldIntegralFloat(text)).toBe(slow);
  });

  it.each([
    ['{"ts": 1765000000123456}', false], // microseconds since the epoch: 16 digits below 2^53
    ['{"ts": -8999999999999999}', false],
    ['{"ts": 9007199254740993}', true], // 16 digits led by 9 may pass 2^53
    ['{"ts": 17650000001234567}', true],
    ['{"id": "1765000000123456789"}', false], // inside a string
  ])('%s may hold an integer beyond 2^53: %p', (text, slow) => {
    expect(mayHoldLongInteger(text)).toBe(slow);
  });

  it('keeps 2.0 a float and 27.5 a plain number on either route', () => {
    expect(decodeJson('{"a":2.0,"b":27.5}')).toStrictEqual({ a: F(2), b: 27.5 });
    expect(decodeJson('{"a":2,"b":27.5}')).toStrictEqual({ a: 2, b: 27.5 });
  });
});

describe('encodeJson', () => {
  it.each<[SqlValue, string]>([
    [undefined, '"undefined"'],
    [null, 'null'],
    [true, 'true'],
    [1, '1'],
    [1.5, '1.5'],
    [F(2), '2.0'],
    ['a"b', '"a\\"b"'],
    [Buffer.from('hi'), '"hi"'],
    [[1, F(3), 'x', undefined], '[1,3.0,"x","undefined"]'],
    [{ a: { b: [] }, c: null }, '{"a":{"b":[]},"c":null}'],
    [F(1e21), '1.0e21'],
    [1e21, '1000000000000000000000'],
  ])('%p → %s', (value, expected) => {
    expect(encodeJson(value)).toBe(expected);
  });

  it('round-trips kinds through decodeJson', () => {
    const text = '{"a":[1,2.0,-3.5,"s",null,true,{"b":1.0e2}]}';
    expect(encodeJson(decodeJson(text))).toBe('{"a":[1,2.0,-3.5,"s",null,true,{"b":100.0}]}');
  });
});

describe('encodeJson size budget (maxStringSize)', () => {
  /** A list of `length` items, each `item`, counting how many the encoder reads. */
  function countedList(length: number, item: SqlValue): { list: SqlValue[]; reads: () => number } {
    let reads = 0;
    const list: SqlValue[] = new Array<SqlValue>(length);
    for (let i = 0; i < length; i++) {
      Object.defineProperty(list, i, {
        get: () => {
          reads++;
          return item;
        },
      });
    }
    return { list, reads: () => reads };
  }

  it('stops at the first item past the budget instead of encoding the whole list', () => {
    // One 1000-character string aliased 10,000 times: 10 MB of text, 1 KiB allowed.
    const { list, reads } = countedList(10_000, 'x'.repeat(1000));
    expect(() => encodeJson(list, 1024, 'function json_encode()')).toThrow(RuleEvaluationError);
    expect(reads()).toBeLessThanOrEqual(2);
  });

  it('names the caller, the limit and how to raise it', () => {
    expect(() => encodeJson({ a: 'x'.repeat(100) }, 50, 'function str()')).toThrow(
      /^function str\(\): the JSON text of the map would be longer than 50 characters, the limit \(maxStringSize; raise it/,
    );
  });

  it('counts nested values, escapes and brackets against one budget', () => {
    const value = { a: ['ab', { b: 'c"d' }] }; // {"a":["ab",{"b":"c\"d"}]}
    const text = '{"a":["ab",{"b":"c\\"d"}]}';
    expect(encodeJson(value, text.length)).toBe(text);
    expect(() => encodeJson(value, text.length - 1)).toThrow(RuleEvaluationError);
    expect(() => encodeJson('x'.repeat(10), 11)).toThrow(RuleEvaluationError); // 12 with its quotes
    expect(encodeJson('x'.repeat(10), 12)).toBe(`"${'x'.repeat(10)}"`);
  });

  it('applies the default limit (4 MiB) when no engine limit is given', () => {
    const mib = 'x'.repeat(1024 * 1024);
    expect(() => encodeJson([mib, mib, mib, mib, mib])).toThrow(/maxStringSize/);
  });

  it('describes a huge list in an error without encoding it', () => {
    const { list, reads } = countedList(10_000, 'x'.repeat(1000));
    expect(describeValue(list)).toBe('[...] (array)');
    expect(reads()).toBeLessThanOrEqual(2);
  });

  it('writes a long printable character list as text (one spread call overflows the stack)', () => {
    const codes = new Array<number>(300_000).fill(97);
    expect(toText(codes)).toBe('a'.repeat(300_000));
  });
});

describe('JSON nesting limit', () => {
  const nested = (depth: number, inner = '1'): string => '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
  const list = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

  it('decodes MAX_JSON_DEPTH levels and refuses one more', () => {
    expect(MAX_JSON_DEPTH).toBe(512);
    expect(() => decodeJson(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => decodeJson(list(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => decodeJson(nested(MAX_JSON_DEPTH + 1))).toThrow(JsonTooDeepError);
    expect(() => decodeJson(list(MAX_JSON_DEPTH + 1))).toThrow(JsonTooDeepError);
    expect(() => decodeJson(`[${list(MAX_JSON_DEPTH)}, 2.0]`)).toThrow(JsonTooDeepError); // the exact parser's route too
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const value = { s: `${'['.repeat(2000)}\\"${'{'.repeat(2000)}`, t: '\\', l: [[[1]]] };
    expect(decodeJson(JSON.stringify(value))).toEqual(value);
  });

  // fuzz seed 99 case 399: a subtree picked from an 8,000-level payload made an output that
  // JSON.stringify could not render (RangeError) in the connector or the log.
  it('a payload nested too deep fails the rule as a payload that is not JSON, saying why', () => {
    const payload = nested(8000);
    const rule = compileRule(`SELECT payload.${Array(300).fill('a').join('.')} AS x FROM "t"`);
    expect(() => rule.evaluate({ topic: 't', payload })).toThrow(RuleEvaluationError);
    expect(() => rule.evaluate({ topic: 't', payload })).toThrow(/decode_json_failed: the payload is JSON nested deeper than 512 levels/);
    expect(() => compileRule('SELECT json_decode(payload) AS x FROM "t"').evaluate({ topic: 't', payload })).toThrow(
      /json_decode.*nested deeper than 512 levels/,
    );
    // Like a payload that is not JSON: the raw payload is still a string, and FOREACH payload has no items.
    expect(compileRule('SELECT payload AS p FROM "t"').evaluate({ topic: 't', payload })).toEqual([{ p: payload }]);
    expect(compileRule('FOREACH payload FROM "t"').evaluate({ topic: 't', payload: list(600) })).toEqual([]);
  });
});

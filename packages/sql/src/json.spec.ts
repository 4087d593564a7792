import { describe, expect, it } from '@jest/globals';
import { decodeJson, encodeJson } from './json';
import { SqlFloat, type SqlValue } from './values';

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

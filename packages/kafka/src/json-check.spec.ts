import { describe, expect, it } from '@jest/globals';
import { JsonChecker, MAX_JSON_DEPTH } from './json-check';

const checker = new JsonChecker();
const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const VALID = [
  '{}', '[]', '0', '-0', '1.5e-3', '-12.25E+2', '"x"', 'true', 'false', 'null', ' \t\r\n{ "a" : [ 1 , 2 , { } ] }\n',
  '{"temp": 27.5, "hum": 41.8}', '"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"', '"ünïcødé 👋"', '[[[[]]]]', '{"a":{"b":{"c":null}}}',
  '123456789012345678901234567890', '{"":""}',
];
const INVALID = [
  '', ' ', '{"temp": }', '{"temp": abc}', '{"temp": 27.5, "hum": }', '{temp: 1}', "{'a': 1}", '[1,]', '{"a":1,}', '[1 2]',
  '01', '1.', '.5', '-', '1e', '1e+', '+1', 'NaN', 'Infinity', 'tru', 'nul', 'True', '"abc', '"a\\x"', '"\\u12G4"',
  '"tab\there"', '{"a" 1}', '{"a":1}}', '[', ']', '{', '}', '{"a":1} x', '[]]', '"a"b', '{,}', '[,1]',
];

describe(JsonChecker.name, () => {
  it.each(VALID)('accepts %j, as JSON.parse does', (text) => {
    expect(parses(text)).toBe(true);
    expect(checker.problem(text)).toBeUndefined();
  });

  it.each(INVALID)('refuses %j, as JSON.parse does', (text) => {
    expect(parses(text)).toBe(false);
    expect(checker.problem(text)).toEqual({ at: expect.any(Number), reason: expect.any(String) });
  });

  it('agrees with JSON.parse on every one-character edit of JSON texts', () => {
    const samples = ['{"temp": 27.5, "tags": ["a", "b"], "ok": true, "n": null}', '[1, -2.5e3, "x\\"y", {}]'];
    const alphabet = ['', ' ', '"', ',', ':', '{', '}', '[', ']', '0', '-', '.', 'e', 'a', '\\', '\n'];
    let compared = 0;
    for (const sample of samples) {
      for (let i = 0; i <= sample.length; i++) {
        for (const c of alphabet) {
          for (const text of [sample.slice(0, i) + c + sample.slice(i), sample.slice(0, i) + c + sample.slice(i + 1)]) {
            expect([text, checker.problem(text) === undefined]).toEqual([text, parses(text)]);
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('says where and why the text stops being JSON', () => {
    expect(checker.problem('{"temp": abc}')).toEqual({ at: 9, reason: expect.stringMatching(/expected a value/) });
    expect(checker.problem('{"temp": }')).toEqual({ at: 9, reason: expect.stringMatching(/expected a value/) });
    expect(checker.problem('{"a": 1')).toEqual({ at: 7, reason: expect.stringMatching(/before every \{ or \[ is closed/) });
    expect(checker.problem('')?.reason).toBe('it is empty');
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels without recursion`, () => {
    expect(checker.problem('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).toBeUndefined();
    expect(checker.problem('['.repeat(100_000))?.reason).toMatch(/deeper than 512/);
  });

  it('checks bytes as UTF-8 text', () => {
    expect(checker.problem(Buffer.from('{"a": "é"}'))).toBeUndefined();
    expect(checker.problem(Buffer.from([0x7b, 0xff, 0x7d]))?.reason).toMatch(/not UTF-8/);
    expect(checker.problem(Buffer.from('{"a": }'))?.at).toBe(6);
  });
});

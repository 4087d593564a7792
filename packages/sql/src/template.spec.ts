import { describe, expect, it } from '@jest/globals';
import { messageColumns } from '@sluice/core';
import { compileRule } from './rule';
import { compileTemplate } from './template';
import { SqlFloat } from './values';

const output = {
  clientid: 'c1',
  n: 42,
  f: 27.5,
  two: new SqlFloat(2),
  yes: true,
  nil: null,
  undef: undefined,
  map: { a: 1, b: 'x' },
  list: [1, 'a'],
  payload: '{"a":{"b":7},"s":"str"}',
  nested: { deep: { v: 'ok' } },
};

describe(compileTemplate.name, () => {
  it.each<[string, string]>([
    ['${clientid}', 'c1'],
    ['${.clientid}', 'c1'],
    ['${ clientid }', 'c1'],
    ['id=${clientid}/${n}', 'id=c1/42'],
    ['${f}', '27.5'],
    ['${two}', '2.0'],
    ['${yes}', 'true'],
    ['${nil}', 'null'],
    ['${map}', '{"a":1,"b":"x"}'],
    ['${list}', '[1,"a"]'],
    ['${nested.deep.v}', 'ok'],
    ['${payload.a.b}', '7'],
    ['${payload.a}', '{"b":7}'],
    ['${payload.s}', 'str'],
    ['${payload}', '{"a":{"b":7},"s":"str"}'],
    ['${missing}', ''],
    ['${undef}', ''],
    ['${missing.deeper}', ''],
    ['${clientid.x}', ''],
    ['$${clientid}', '${clientid}'],
    ['${$}{clientid}', '${clientid}'],
    ['cost: $5', 'cost: $5'],
    ['${unterminated', '${unterminated'],
    ['no placeholders', 'no placeholders'],
    ['', ''],
    ['{"temp": ${f}, "id": "${clientid}"}', '{"temp": 27.5, "id": "c1"}'],
  ])('%s renders %s', (text, expected) => {
    expect(compileTemplate(text).render(output)).toBe(expected);
  });

  it.each(['${.}', '${}'])('%s renders the whole output as JSON', (text) => {
    expect(JSON.parse(compileTemplate(text).render({ a: 1, b: 'x', c: [true] }))).toEqual({ a: 1, b: 'x', c: [true] });
  });

  it('writes floats of the whole output with a fraction and undefined as "undefined"', () => {
    expect(compileTemplate('${.}').render({ x: new SqlFloat(2), u: undefined })).toBe('{"x":2.0,"u":"undefined"}');
  });

  it.each<[string, string]>([
    ['${missing}', 'undefined'],
    ['${clientid}:${missing.var}', 'c1:undefined'],
    ['${undef}', 'undefined'],
  ])("renders missing values as 'undefined' when asked: %s", (text, expected) => {
    expect(compileTemplate(text, { missing: 'undefined' }).render(output)).toBe(expected);
  });

  it('reports its source and whether it is constant', () => {
    expect(compileTemplate('abc')).toMatchObject({ source: 'abc', isConstant: true });
    expect(compileTemplate('$${x}')).toMatchObject({ isConstant: true });
    expect(compileTemplate('a${b}')).toMatchObject({ source: 'a${b}', isConstant: false });
  });

  describe('.renderValue: binary values keep their bytes (issue 10 item 4)', () => {
    // not UTF-8: NUL, 0xff, 0xfe, a lone continuation byte, a bad two-byte sequence, an encoded surrogate
    const bytes = Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    const binary = { payload: bytes, nested: { raw: bytes }, n: 7 };
    const asBytes = (rendered: string | Buffer): Buffer => (typeof rendered === 'string' ? Buffer.from(rendered, 'utf8') : rendered);

    it.each(['${payload}', '${.payload}', '${ payload }', '${nested.raw}'])('%s alone is the Buffer itself', (text) => {
      expect(compileTemplate(text).renderValue?.(binary)).toBe(text === '${nested.raw}' ? bytes : binary.payload);
    });

    it('joins text around binary values as UTF-8 bytes, in order', () => {
      const rendered = compileTemplate('n=${n} é[${payload}]${payload}').renderValue?.(binary) ?? '';
      expect(asBytes(rendered).equals(Buffer.concat([Buffer.from('n=7 é['), bytes, Buffer.from(']'), bytes]))).toBe(true);
    });

    it('returns the text render() gives when no value is binary', () => {
      for (const text of ['${clientid}', 'id=${clientid}/${n}', '${.}', '${missing}', 'const', '${payload.a.b}', '']) {
        expect(compileTemplate(text).renderValue?.(output)).toBe(compileTemplate(text).render(output));
      }
      expect(compileTemplate('${missing}', { missing: 'undefined' }).renderValue?.(output)).toBe('undefined');
    });

    it('render() still gives text (the UTF-8 decoding) for a binary value', () => {
      expect(compileTemplate('${payload}').render(binary)).toBe(bytes.toString('utf8'));
    });

    it.each([
      ['SELECT payload FROM "bin/#"', '${payload}'],
      ['SELECT payload as p FROM "bin/#"', '${p}'],
      ['SELECT * FROM "bin/#"', '${payload}'],
      ['SELECT payload as p, clientid FROM "bin/#"', '${clientid}:${p}'],
    ])('bytes published survive %s through %s', (sql, template) => {
      const message = { sourceId: 's', topic: 'bin/a', payload: bytes, qos: 1 as const, retain: false, dup: false,
        clientId: 'dev', username: undefined, peerHost: undefined, receivedAt: 1, properties: undefined };
      const [out] = compileRule(sql).evaluate(messageColumns(message, 'node'));
      const rendered = asBytes(compileTemplate(template).renderValue?.(out ?? {}) ?? '');
      expect(rendered.equals(template.startsWith('${clientid}') ? Buffer.concat([Buffer.from('dev:'), bytes]) : bytes)).toBe(true);
    });
  });
});

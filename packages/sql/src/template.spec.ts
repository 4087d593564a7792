import { describe, expect, it } from '@jest/globals';
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
});

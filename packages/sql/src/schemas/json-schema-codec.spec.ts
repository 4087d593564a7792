// JSON Schema validation (json-schema-codec.ts): `uniqueItems` is checked in linear time, with JSON Schema's
// equality, instead of ajv's pairwise deep comparison (quadratic: 6,000 small objects held the event loop 33 s).
import { describe, expect, it, jest } from '@jest/globals';
import { SqlFloat, type SqlValue } from '../values';
import { compileJsonSchema } from './json-schema-codec';

// ajv's deep equality, counted: its uniqueItems compares pairs of non-scalar items with it.
const comparisons = { count: 0 };
jest.mock('ajv/dist/runtime/equal', () => {
  const actual = jest.requireActual<{ default: (a: unknown, b: unknown) => boolean }>('ajv/dist/runtime/equal');
  const counted = Object.assign((a: unknown, b: unknown) => {
    comparisons.count++;
    return actual.default(a, b);
  }, actual.default);
  return { __esModule: true, default: counted };
});

const uniqueArray = JSON.stringify({ type: 'array', uniqueItems: true });

describe('uniqueItems', () => {
  it('checks 3,000 distinct objects without comparing them in pairs (the work grows with the payload, not its square)', () => {
    const validate = compileJsonSchema(uniqueArray);
    const items: SqlValue[] = Array.from({ length: 3_000 }, (_, i) => ({ i }));
    comparisons.count = 0;
    expect(validate(items)).toBe(true);
    expect(comparisons.count).toBe(0);
    items.push({ i: 7 });
    expect(validate(items)).toBe(false);
    expect(validate.lastError()).toBe('the value must NOT have duplicate items (items ## 7 and 3000 are identical)');
  });

  it('finds duplicates by JSON Schema equality: objects whatever their key order, numbers by value, arrays item by item', () => {
    const validate = compileJsonSchema(uniqueArray);
    expect(validate([{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }])).toBe(false);
    expect(validate([1, new SqlFloat(1)])).toBe(false);
    expect(validate([9007199254740993n, 9007199254740993n])).toBe(false);
    expect(validate([2 ** 60, BigInt(2 ** 60)])).toBe(false);
    expect(validate([[1, [2]], [1, [2]]])).toBe(false);
    expect(validate([{ a: null }, { a: null }])).toBe(false);
    expect(validate([{ a: 1, b: [1, 2] }, { a: 1, b: [2, 1] }, { a: '1' }, { b: 1 }, [1], ['1'], '1', 1, true, 'true', null, 'null', {}, []])).toBe(true);
    expect(validate([{ 'a":1,"b': 1 }, { a: 1, b: 1 }])).toBe(true);
  });

  it('applies where the schema says, with the path of the array in the error', () => {
    const validate = compileJsonSchema(JSON.stringify({ type: 'object', properties: { tags: { type: 'array', uniqueItems: true }, any: { uniqueItems: false } } }));
    expect(validate({ tags: ['a', 'b'], any: [1, 1] })).toBe(true);
    expect(validate({ tags: ['a', 'a'] })).toBe(false);
    expect(validate.lastError()).toBe('/tags must NOT have duplicate items (items ## 0 and 1 are identical)');
    // a property named uniqueItems is data, not the keyword
    expect(compileJsonSchema(JSON.stringify({ properties: { uniqueItems: { type: 'string' } } }))({ uniqueItems: 'x' })).toBe(true);
  });

  it('works for every draft and in a recursive schema (nested arrays each checked)', () => {
    for (const $schema of ['https://json-schema.org/draft/2020-12/schema', 'https://json-schema.org/draft/2019-09/schema', 'http://json-schema.org/draft-07/schema#']) {
      const validate = compileJsonSchema(JSON.stringify({ $schema, type: 'array', uniqueItems: true }));
      expect([validate([{ x: 1 }, { x: 2 }]), validate([{ x: 1 }, { x: 1 }])]).toEqual([true, false]);
    }
    const tree = compileJsonSchema(JSON.stringify({ type: 'array', uniqueItems: true, items: { anyOf: [{ type: 'integer' }, { $ref: '#' }] } }));
    expect(tree([1, [1, 2], [[1], [2]]])).toBe(true);
    expect(tree([1, [1, 2], [[1], [1]]])).toBe(false);
  });
});

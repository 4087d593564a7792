import type { ConformanceCase } from './types';

/**
 * emqx_rule_maps_SUITE (nested_get / nested_put, EMQX 5.x), restated as the SQL that reaches them: a
 * path read from a column `m`, or a field written at an AS target. Left out: what SQL cannot say
 * (index `{ic, 0}` on a put: in SQL `[0]` means "prepend"; default values of nested_get/3; atom versus
 * binary keys and atom_key_map, which JSON cannot show) and nested_put's own handling of a JSON string
 * below a non-payload key, which the rule runtime never reaches that way (t_sqlselect_as_put covers the
 * payload case).
 */
const S = 'emqx_rule_maps_SUITE';

function get(from: string, expr: string, m: unknown, value: unknown): ConformanceCase {
  return { group: 'maps', from: `${S}:${from}`, expr, input: { topic: 't/a', m }, value };
}

function put(from: string, sql: string, input: Record<string, unknown>, outputs: unknown[]): ConformanceCase {
  return { group: 'maps', from: `${S}:${from}`, sql, input: { topic: 't/a', ...input }, outputs };
}

const L123 = [1, 2, 3];

export const MAPS_CASES: readonly ConformanceCase[] = [
  put('t_nested_put_map', 'SELECT 1 AS a FROM "#"', {}, [{ a: 1 }]),
  put('t_nested_put_map', 'SELECT nothing AS a FROM "#"', {}, [{ a: undefined }]),
  put('t_nested_put_map', 'SELECT \'b\' AS a.b FROM "#"', {}, [{ a: { b: 'b' } }]),
  put('t_nested_put_map', 'SELECT \'c\' AS a.b.c FROM "#"', {}, [{ a: { b: { c: 'c' } } }]),
  put('t_nested_put_map', 'SELECT m, \'v1\' AS m.k FROM "#"', { m: { k: 'v0' } }, [{ m: { k: 'v1' } }]),
  put('t_nested_put_map', 'SELECT m, \'v1\' AS m.k FROM "#"', { m: { k: 'v0', a: 'b' } }, [{ m: { k: 'v1', a: 'b' } }]),
  put('t_nested_put_map', 'SELECT m, \'v1\' AS m.k.t FROM "#"', { m: { k: { t: 'v0' } } }, [{ m: { k: { t: 'v1' } } }]),
  put('t_nested_put_map', 'SELECT m, \'v1\' AS m.k.t.a FROM "#"', { m: { k: { t: 'v0' } } }, [{ m: { k: { t: { a: 'v1' } } } }]),
  put('t_nested_put_map', 'SELECT payload, \'v1\' AS payload.a.new FROM "#"', { payload: '{"a":{"old":"v2"}}' }, [
    { payload: { a: { old: 'v2', new: 'v1' } } },
  ]),
  put('t_nested_put_map', 'SELECT payload, \'v1\' AS payload.a.new FROM "#"', { payload: '{"a":{"old":"{}"},"b":"{}"}' }, [
    { payload: { a: { old: '{}', new: 'v1' }, b: '{}' } },
  ]),
  put('t_nested_put_map', 'SELECT payload, \'v1\' AS payload.a.new FROM "#"', { payload: '{}' }, [{ payload: { a: { new: 'v1' } } }]),

  put('t_nested_put_index', 'SELECT m, \'a\' AS m[2] FROM "#"', { m: L123 }, [{ m: [1, 'a', 3] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[4] FROM "#"', { m: L123 }, [{ m: L123 }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[2][1] FROM "#"', { m: [1, [2], 3] }, [{ m: [1, ['a'], 3] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[2][1][1] FROM "#"', { m: [1, [[2]], 3] }, [{ m: [1, [['a']], 3] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[2][1][2] FROM "#"', { m: [1, [[2]], 3] }, [{ m: [1, [[2]], 3] }]),
  put('t_nested_put_index', 'SELECT \'a\' AS m[0] FROM "#"', {}, [{ m: ['a'] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[0] FROM "#"', { m: 'not_list' }, [{ m: ['a'] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[0] FROM "#"', { m: [] }, [{ m: ['a'] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[0] FROM "#"', { m: L123 }, [{ m: ['a', 1, 2, 3] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[-0] FROM "#"', { m: 'not_list' }, [{ m: ['a'] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[-0] FROM "#"', { m: [] }, [{ m: ['a'] }]),
  put('t_nested_put_index', 'SELECT m, \'a\' AS m[-0] FROM "#"', { m: L123 }, [{ m: [1, 2, 3, 'a'] }]),
  put('t_nested_put_negative_index', 'SELECT m, \'a\' AS m[-1] FROM "#"', { m: L123 }, [{ m: [1, 2, 'a'] }]),
  put('t_nested_put_negative_index', 'SELECT m, \'a\' AS m[-2] FROM "#"', { m: L123 }, [{ m: [1, 'a', 3] }]),
  put('t_nested_put_negative_index', 'SELECT m, \'a\' AS m[-3] FROM "#"', { m: L123 }, [{ m: ['a', 2, 3] }]),
  put('t_nested_put_negative_index', 'SELECT m, \'a\' AS m[-4] FROM "#"', { m: L123 }, [{ m: L123 }]),
  put('t_nested_put_mix_map_index', 'SELECT \'a\' AS a[2] FROM "#"', {}, [{ a: ['a'] }]),
  put('t_nested_put_mix_map_index', 'SELECT 0 AS a[2].b FROM "#"', {}, [{ a: [{ b: 0 }] }]),
  put('t_nested_put_mix_map_index', 'SELECT m, \'a\' AS m.a[2] FROM "#"', { m: { a: L123 } }, [{ m: { a: [1, 'a', 3] } }]),
  put('t_nested_put_mix_map_index', 'SELECT m, \'c\' AS m[2].a FROM "#"', { m: [1, { a: 'b' }, 3] }, [{ m: [1, { a: 'c' }, 3] }]),
  put('t_nested_put_mix_map_index', 'SELECT m, \'c\' AS m[2].a[1] FROM "#"', { m: [1, { a: ['b'] }, 3] }, [{ m: [1, { a: ['c'] }, 3] }]),
  put('t_nested_put_mix_map_index', 'SELECT m, \'a\' AS m.a[m.b] FROM "#"', { m: { a: L123, b: 2 } }, [{ m: { a: [1, 'a', 3], b: 2 } }]),
  put('t_nested_put_mix_map_index', 'SELECT m, \'a\' AS m.a[m.c] FROM "#"', { m: { a: L123, b: 2 } }, [{ m: { a: L123, b: 2 } }]),
  put('t_nested_put_mix_map_index', 'SELECT m, \'a\' AS m.a[0].c FROM "#"', { m: { a: L123 } }, [{ m: { a: [{ c: 'a' }, 1, 2, 3] } }]),

  get('t_nested_get_map', 'm.a', 'not_map', undefined),
  get('t_nested_get_map', 'm', { a: 1 }, { a: 1 }),
  get('t_nested_get_map', 'm.a', { a: { b: 'c' } }, { b: 'c' }),
  get('t_nested_get_map', 'm.a.b.c', 'not_map', undefined),
  get('t_nested_get_map', 'm.a.b.c', {}, undefined),
  get('t_nested_get_map', 'm.a.b.c', { a: {} }, undefined),
  get('t_nested_get_map', 'm.a.b.c', { a: { b: {} } }, undefined),
  get('t_nested_get_map', 'm.p.x', { p: { x: 'v1' } }, 'v1'),
  get('t_nested_get_map', 'm.a.b.c', { a: { b: { c: 'c' } } }, 'c'),
  get('t_nested_get_map_1', 'm.a', '{"a": 1}', 1),
  get('t_nested_get_map_1', 'm.a', { a: '{"b": 1}' }, '{"b": 1}'),
  get('t_nested_get_map_1', 'm.a.b', { a: '{"b": 1}' }, 1),
  get('t_nested_get_index', 'm[1]', L123, 1),
  get('t_nested_get_index', 'm[2]', L123, 2),
  get('t_nested_get_index', 'm[3]', L123, 3),
  get('t_nested_get_index', 'm[0]', L123, undefined),
  get('t_nested_get_index', 'm[4]', L123, undefined),
  get('t_nested_get_index', 'm[2][3]', [1, ['a', 'b', 'c'], 3], 'c'),
  get('t_nested_get_index', 'm[2][3][1]', [1, ['a', 'b', ['I', 'II', 'III']], 3], 'I'),
  get('t_nested_get_index', 'm[2][1][1]', [1, ['a', 'b', ['I', 'II', 'III']], 3], undefined),
  get('t_nested_get_negative_index', 'm[-1]', L123, 3),
  get('t_nested_get_negative_index', 'm[-2]', L123, 2),
  get('t_nested_get_negative_index', 'm[-3]', L123, 1),
  get('t_nested_get_negative_index', 'm[-4]', L123, undefined),
  get('t_nested_get_mix_map_index', 'm.a[1]', { a: L123 }, 1),
  get('t_nested_get_mix_map_index', 'm[2].a', [1, { a: 2 }, 3], 2),
  get('t_nested_get_mix_map_index', 'm.a[0]', { a: L123 }, undefined),
  get('t_nested_get_mix_map_index', 'm.b[1]', { a: L123 }, undefined),
  get('t_nested_get_mix_map_index', 'm[4].a', [1, 2, 3, 4], undefined),
  get('t_nested_get_mix_map_index', 'm.a[2][3]', { a: [1, ['a', 'b', 'c'], 3] }, 'c'),
  get('t_nested_get_mix_map_index', 'm[2].c[1]', [1, { a: 'a', b: 'b', c: ['I', 'II', 'III'] }, 3], 'I'),
  get('t_nested_get_mix_map_index', 'm[2].c.d', [1, { a: 'a', b: 'b', c: { d: 'I' } }, 3], 'I'),
  get('t_nested_get_mix_map_index', 'm[2].c.e', [1, { a: 'a', b: 'b', c: { d: 'I' } }, 3], undefined),
  get('t_nested_get_mix_map_index', 'm.a[m.b]', { a: L123, b: 1 }, 1),
  get('t_nested_get_mix_map_index', 'm.a[m.c]', { a: L123, b: 1 }, undefined),
  get('t_nested_get_mix_map_index', 'm.a[m.b]', { a: L123, b: 4 }, undefined),
  get('t_nested_get_mix_map_index', 'm.a[m.b[1].c]', { a: L123, b: [{ c: 3 }] }, 3),
  get('t_nested_get_mix_map_index', 'm.a[m.b[1].c]', { a: L123, b: [{ c: 4 }] }, undefined),
  get('t_nested_get_mix_map_index', 'm.a[m.b[2].c]', { a: L123, b: [{ c: 3 }] }, undefined),
];

import type { ConformanceCase } from './types';

/**
 * emqx_rulesql_SUITE (EMQX 4.x's SQL suite, kept in the 5.x tree for a while): the cases it has beyond
 * emqx_rule_engine_SUITE's (string +, and comparisons with undefined). Its other cases repeat
 * t_sqlselect_* / t_sqlparse_* (engine-cases.ts) or need a broker.
 */
const S = 'emqx_rulesql_SUITE';
const EMPTY = { topic: 't/a', payload: '{}' };
const V4_TO_5 = 'EMQX 4.x semantics that 5.x changed, and Sluice follows 5.x: ';

function rule(from: string, sql: string, input: Record<string, unknown>, expected: Partial<ConformanceCase>): ConformanceCase {
  return { group: 'rulesql', from: `${S}:${from}`, sql, input, ...expected };
}

/** `select <fields> from "t/#"` on an empty JSON payload; the output's key c must be `c`. */
function compare(from: string, fields: string, c: boolean): ConformanceCase {
  return rule(from, `select ${fields} from "t/#"`, EMPTY, { match: [{ c }] });
}

export const RULESQL_CASES: readonly ConformanceCase[] = [
  rule('t_sqlselect_00', 'select payload.msg1 + payload.msg2 as msg from "t/#"', { topic: 't/1', payload: '{"msg1": "hello", "msg2": " world"}' }, {
    outputs: [{ msg: 'hello world' }],
  }),
  rule('t_sqlselect_00', 'select payload.msg1 + payload.msg2 as msg from "t/#"', { topic: 't/1', payload: '{"msg1": "hello", "msg2": 1}' }, {
    outputs: [{ msg: 'hello1' }],
    differs: `${V4_TO_5}+ with a string operand concatenates the other one's text in 5.x (RULE-SQL.md 4.7); 4.x raised`,
  }),
  rule('t_sqlparse_compare_undefined', 'select * from "t/#" where dev != undefined', EMPTY, { nomatch: true }),
  rule('t_sqlparse_compare_undefined', 'select \'d\' as dev from "t/#" where dev != undefined', EMPTY, {
    nomatch: true,
    differs: `${V4_TO_5}undefined is no keyword, and any comparison with undefined is false, != included (RULE-SQL.md 4.6)`,
  }),
  rule('t_sqlparse_compare_undefined', 'select * from "t/#" where dev != \'undefined\'', EMPTY, {
    nomatch: true,
    differs: `${V4_TO_5}a missing column compared with anything is false, != included (RULE-SQL.md 4.6)`,
  }),
  compare('t_sqlparse_compare_null_null', 'a = b as c', true),
  compare('t_sqlparse_compare_null_null', 'a != b as c', false),
  compare('t_sqlparse_compare_null_null', 'a > b as c', false),
  compare('t_sqlparse_compare_null_null', 'a < b as c', false),
  compare('t_sqlparse_compare_null_null', 'a <= b as c', true),
  compare('t_sqlparse_compare_null_null', 'a >= b as c', true),
  compare('t_sqlparse_compare_null_notnull', "'b' as b, a = b as c", false),
  { ...compare('t_sqlparse_compare_null_notnull', "'b' as b, a != b as c", false), differs: `${V4_TO_5}undefined != 'b' is false (RULE-SQL.md 4.6)` },
  compare('t_sqlparse_compare_null_notnull', "'b' as b, a > b as c", false),
  compare('t_sqlparse_compare_null_notnull', "'b' as b, a < b as c", false),
  compare('t_sqlparse_compare_null_notnull', "'b' as b, a <= b as c", false),
  compare('t_sqlparse_compare_null_notnull', "'b' as b, a >= b as c", false),
  compare('t_sqlparse_compare_notnull_null', "'a' as a, a = b as c", false),
  { ...compare('t_sqlparse_compare_notnull_null', "'a' as a, a != b as c", false), differs: `${V4_TO_5}'a' != undefined is false (RULE-SQL.md 4.6)` },
  compare('t_sqlparse_compare_notnull_null', "'a' as a, a > b as c", false),
  compare('t_sqlparse_compare_notnull_null', "'a' as a, a < b as c", false),
  compare('t_sqlparse_compare_notnull_null', "'a' as a, a <= b as c", false),
  compare('t_sqlparse_compare_notnull_null', "'a' as a, a >= b as c", false),
  compare('t_sqlparse_compare', "'a' as a, 'a' as b, a = b as c", true),
  compare('t_sqlparse_compare', 'is_null(a) as c', true),
  compare('t_sqlparse_compare', '1 as a, 2 as b, a < b as c', true),
  compare('t_sqlparse_compare', '1 as a, 2 as b, a > b as c', false),
  compare('t_sqlparse_compare', '1 as a, 2 as b, a = b as c', false),
  compare('t_sqlparse_compare', '1 as a, 2 as b, a >= b as c', false),
  compare('t_sqlparse_compare', '1 as a, 2 as b, a <= b as c', true),
];

import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import type { SqlValue } from '../values';
import { createFunctionState, lookupFunction, type FunctionContext } from './index';

// "Local" is injected (+08:00, as on the machines EMQX's documentation examples come from) so the
// expectations hold whatever the test machine's time zone.
const ctx: FunctionContext = {
  input: {},
  inCondition: false,
  state: createFunctionState({ localOffset: () => 8 * 3600 }),
};
const call = (name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, ctx);

const T = 1653561612; // 2022-05-26T10:40:12Z

describe('date and time functions (§8.9)', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['format_date', ['second', '+08:00', '%Y-%m-%d %H:%M:%S%:z', T], '2022-05-26 18:40:12+08:00'],
    ['format_date', ['second', 0, '%Y-%m-%d %H:%M:%S%:z', T], '2022-05-26 10:40:12+00:00'],
    ['format_date', ['second', 'Z', '%Y-%m-%d %H:%M:%S%:z', T], '2022-05-26 10:40:12+00:00'],
    ['format_date', ['second', 'local', '%H:%M %z', T], '18:40 +0800'],
    ['format_date', ['second', '-05:30', '%d %H:%M %z|%:z|%::z', T], '26 05:10 -0530|-05:30|-05:30:00'],
    ['format_date', ['second', 3600, '%H', T], '11'],
    ['format_date', ['millisecond', 'Z', '%S.%3N', T * 1000 + 7], '12.007'],
    ['format_date', ['microsecond', 'Z', '%S.%6N %3N %N', T * 1_000_000 + 123456], '12.123456 123 123456000'],
    ['format_date', ['second', 'Z', 'at %Y/%m/%d!', 0], 'at 1970/01/01!'],
    ['format_date', ['second', 'Z', '%Y-%m-%dT%H:%M:%S', -1], '1969-12-31T23:59:59'],
    ['format_date', ['second', '+0100', '%H%%', T], '11%%'],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S%:z', '2022-05-26 18:40:12+08:00'], T],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S%z', '2022-05-26 18:40:12+0800'], T],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2022-05-26 10:40:12'], T],
    ['date_to_unix_ts', ['second', 'local', '%Y-%m-%d %H:%M:%S', '2022-05-26 18:40:12'], T],
    ['date_to_unix_ts', ['second', '+08:00', '%Y-%m-%d %H:%M:%S', '2022-05-26 18:40:12'], T],
    ['date_to_unix_ts', ['second', 3600, '%Y-%m-%d %H:%M:%S', '2022-05-26 11:40:12'], T],
    // An offset in the date wins over the argument: format_date's output reads back to its epoch.
    ['date_to_unix_ts', ['second', '+07:00', '%Y-%m-%d %H:%M:%S%z', '2022-05-26 17:40:12+0700'], T],
    ['date_to_unix_ts', ['second', '+03:00', '%Y-%m-%d %H:%M:%S%:z', '2022-05-26 18:40:12+08:00'], T],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H-%M-%S', '2022-05-26 10:40:12'], T],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S xyz', '2022-05-26 10:40:12'], T],
    ['date_to_unix_ts', ['millisecond', '%Y-%m-%d %H:%M:%S.%3N', '2022-05-26 10:40:12.123'], T * 1000 + 123],
    ['date_to_unix_ts', ['microsecond', '%Y-%m-%d %H:%M:%S.%6N', '2022-05-26 10:40:12.123456'], T * 1e6 + 123456],
    ['date_to_unix_ts', ['millisecond', '%Y-%m-%d %H:%M:%S.%N', '2022-05-26 10:40:12.123456789'], T * 1000 + 123],
    ['date_to_unix_ts', ['second', '%Y%m%d%H%M%S', '20220526104012'], T],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2024-02-29 00:00:00'], 1709164800],
    // emqx_rule_funcs_SUITE cases
    ['date_to_unix_ts', ['second', '+08:00', '%Y-%m-%d %H-%M-%S', '2024-03-01 10:30:38'], 1709260238],
    ['date_to_unix_ts', ['second', '+08:00', '%Y-%m-%d %H-%M-%S.%3N', '2024-03-01 10:30:38.333'], 1709260238],
    ['date_to_unix_ts', ['millisecond', '+08:00', '%Y-%m-%d %H-%M-%S.%3N', '2024-03-01 10:30:38.333'], 1709260238333],
    ['date_to_unix_ts', ['microsecond', '+08:00', '%Y-%m-%d %H-%M-%S.%6N', '2024-03-01 10:30:38.333444'], 1709260238333444],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2022-05-26 10-40-12'], T],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2024-02-29 14:31:40'], 1709217100],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2100-03-01 12:44:31'], 4107588271],
    ['date_to_unix_ts', ['second', '+08:00', '%Y-%m-%d %H:%M:%S', '2024-02-29 14:31:40'], 1709188300],
    ['date_to_unix_ts', ['second', '+08:00', '%Y-%m-%d %H:%M:%S', '2100-03-01 12:44:31'], 4107559471],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S.%3N%:z', '2024-02-23 15:00:00.123+08:00'], 1708671600],
    ['timezone_to_offset_seconds', ['+02:00:00'], 7200],
    ['timezone_to_offset_seconds', ['-02:00:00'], -7200],
    ['timezone_to_offset_seconds', ['+00:01:42'], 102],
    ['timezone_to_offset_seconds', [42], 42],
    ['unix_ts_to_rfc3339', [T], '2022-05-26T18:40:12+08:00'],
    ['unix_ts_to_rfc3339', [T, 'second'], '2022-05-26T18:40:12+08:00'],
    ['unix_ts_to_rfc3339', [T * 1000 + 123, 'millisecond'], '2022-05-26T18:40:12.123+08:00'],
    ['unix_ts_to_rfc3339', [T * 1_000_000 + 5, 'microsecond'], '2022-05-26T18:40:12.000005+08:00'],
    ['unix_ts_to_rfc3339', [0], '1970-01-01T08:00:00+08:00'],
    ['rfc3339_to_unix_ts', ['2022-05-26T18:40:12+08:00'], T],
    ['rfc3339_to_unix_ts', ['2022-05-26T10:40:12Z'], T],
    ['rfc3339_to_unix_ts', ['2022-05-26t10:40:12z'], T],
    ['rfc3339_to_unix_ts', ['2022-05-26 10:40:12Z'], T],
    ['rfc3339_to_unix_ts', ['2022-05-26T18:40:12.123+08:00', 'millisecond'], T * 1000 + 123],
    ['rfc3339_to_unix_ts', ['2022-05-26T18:40:12.999+08:00'], T],
    ['rfc3339_to_unix_ts', ['2022-05-26T10:40:12.5Z', 'microsecond'], T * 1e6 + 500000],
    ['rfc3339_to_unix_ts', ['2022-05-26T05:40:12-05:00'], T],
    ['timezone_to_offset_seconds', ['+08:00'], 28800],
    ['timezone_to_offset_seconds', ['-0530'], -19800],
    ['timezone_to_offset_seconds', ['+01:02:03'], 3723],
    ['timezone_to_offset_seconds', ['Z'], 0],
    ['timezone_to_offset_seconds', ['z'], 0],
    ['timezone_to_offset_seconds', ['local'], 28800],
    ['timezone_to_offset_seconds', [3600], 3600],
    ['timezone_to_offset_seconds', [undefined], 0],
    ['timezone_to_second', ['-01:00'], -3600],
    ['mongo_date', [T * 1000 + 123], 'ISODate(2022-05-26T10:40:12.123Z)'],
    ['mongo_date', [T, 'second'], 'ISODate(2022-05-26T10:40:12.000Z)'],
    ['mongo_date', [T * 1e6 + 123456, 'microsecond'], 'ISODate(2022-05-26T10:40:12.123Z)'],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, string, number, string]>([
    ['second', '+07:00', 1700000000, '%m--%d--%Y---%H:%M:%S%z'],
    ['millisecond', '+04:00', 1700000000123, '--%m--%d--%Y---%H:%M:%S:%3N%z'],
    ['second', '+08:00', 1653561612, '%Y-%m-%d-%H:%M:%S%z'],
  ])('date_to_unix_ts reads back what format_date wrote (%s, %s)', (unit, offset, t, fmt) => {
    expect(call('date_to_unix_ts', unit, fmt, call('format_date', unit, offset, fmt, t))).toBe(t);
  });

  it('date_to_unix_ts with an offset reads back format_date without one', () => {
    const text = call('format_date', 'second', '+04:00', '--%m--%d--%Y---%H:%M:%S', T);
    expect(call('date_to_unix_ts', 'second', '+04:00', '--%m--%d--%Y---%H:%M:%S', text)).toBe(T);
  });

  it('round-trips format_date and date_to_unix_ts', () => {
    const fmt = '%Y-%m-%dT%H:%M:%S.%3N%:z';
    const text = call('format_date', 'millisecond', '-03:00', fmt, 1700000000999);
    expect(text).toBe('2023-11-14T19:13:20.999-03:00');
    expect(call('date_to_unix_ts', 'millisecond', fmt, text)).toBe(1700000000999);
  });

  it.each(['second', 'millisecond', 'microsecond'])('unix_ts_to_rfc3339 and rfc3339_to_unix_ts invert each other (%s)', (unit) => {
    const epoch = call('now_timestamp', unit);
    expect(call('rfc3339_to_unix_ts', call('unix_ts_to_rfc3339', epoch, unit), unit)).toBe(epoch);
  });

  it('now_timestamp reads the clock in the unit asked for', () => {
    const before = Date.now();
    const s = call('now_timestamp') as number;
    const ms = call('now_timestamp', 'millisecond') as number;
    const us = call('now_timestamp', 'microsecond') as number;
    const after = Date.now();
    expect(Number.isInteger(s)).toBe(true);
    expect(s).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(s).toBeLessThanOrEqual(Math.floor(after / 1000));
    expect(ms).toBeGreaterThanOrEqual(before - 1);
    expect(ms).toBeLessThanOrEqual(after + 1);
    expect(Math.floor(us / 1000)).toBeGreaterThanOrEqual(before - 1);
  });

  it('now_rfc3339 uses the local offset and the unit\'s fraction digits', () => {
    expect(call('now_rfc3339')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    expect(call('now_rfc3339', 'millisecond')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/);
    expect(call('now_rfc3339', 'nanosecond')).toMatch(/\.\d{9}\+08:00$/);
  });

  it('the default local offset is the process time zone', () => {
    const plain: FunctionContext = { input: {}, inCondition: false };
    const expected = -new Date(T * 1000).getTimezoneOffset() * 60;
    expect(lookupFunction('timezone_to_offset_seconds')!(['local'], plain)).toBe(expected === 0 ? 0 : expected);
  });

  it('format_date without a time formats now', () => {
    expect(call('format_date', 'second', 'Z', '%Y')).toBe(String(new Date().getUTCFullYear()));
    expect(call('mongo_date')).toMatch(/^ISODate\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)$/);
  });

  it.each<[string, SqlValue[]]>([
    ['now_timestamp', ['hour']],
    ['now_timestamp', [1]],
    ['now_rfc3339', ['seconds']],
    ['unix_ts_to_rfc3339', ['1653561612']],
    ['unix_ts_to_rfc3339', [1.5]],
    ['unix_ts_to_rfc3339', [T, 'minute']],
    ['rfc3339_to_unix_ts', ['2022-05-26']],
    ['rfc3339_to_unix_ts', ['2022-05-26T10:40:12']],
    ['rfc3339_to_unix_ts', ['2022-13-26T10:40:12Z']],
    ['rfc3339_to_unix_ts', [1]],
    ['format_date', ['second', '+8', '%Y', T]],
    ['format_date', ['second', '+25:00', '%Y', T]],
    ['format_date', ['second', 'Z', '%Y', '1']],
    ['format_date', ['sec', 'Z', '%Y', T]],
    ['format_date', ['second', 'Z', 1, T]],
    ['date_to_unix_ts', ['second', '%Y-%m-%d', '2022-05-26']],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2022-02-30 00:00:00']],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2022-05-26 24:00:00']],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2022-05-26 1a:00:00']],
    ['date_to_unix_ts', ['second', 'bogus', '%Y-%m-%d %H:%M:%S', '2022-05-26 10:40:12']],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2022-059999-26 10:40:12']],
    ['date_to_unix_ts', ['second', '%y-%m-%d %H:%M:%S', '2022-05-26 10:40:12']],
    ['date_to_unix_ts', ['second', '%Y-%d %H:%M:%S', '2022-32 10:40:12']],
    ['date_to_unix_ts', ['second', '%H:%M:%S', '10:40:12']],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2022-05-32 10:40:12']],
    ['date_to_unix_ts', ['second', '%Y-%m-%d %H:%M:%S', '2023-02-29 10:40:12']],
    ['timezone_to_offset_seconds', ['UTC']],
    ['timezone_to_offset_seconds', [1.5]],
    ['timezone_to_offset_seconds', [null]],
    ['mongo_date', ['x']],
    ['mongo_date', [1, 'day']],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });
});

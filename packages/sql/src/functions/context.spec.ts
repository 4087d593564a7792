import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlFloat, type SqlValue } from '../values';
import { lookupFunction, type FunctionContext } from './index';

const F = (n: number): SqlFloat => new SqlFloat(n);
const input = {
  id: '0005F8F84FFFAFB9F44200000BF30001',
  topic: 't/a/b',
  payload: '{"a":{"b":1.0},"list":[1,2]}',
  qos: 1,
  clientid: 'c_emqx',
  username: 'u_emqx',
  peerhost: '192.168.0.10',
  flags: { dup: false, retain: true },
};
const select: FunctionContext = { input, inCondition: false };
const where: FunctionContext = { input, inCondition: true };
const call = (c: FunctionContext, name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, c);

describe('context functions (§8.1, §4.11)', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['msgid', [], input.id],
    ['qos', [], 1],
    ['topic', [], 't/a/b'],
    ['topic', [1], 't'],
    ['topic', [3], 'b'],
    ['clientid', [], 'c_emqx'],
    ['username', [], 'u_emqx'],
    ['peerhost', [], '192.168.0.10'],
    ['clientip', [], '192.168.0.10'],
    ['payload', [], input.payload],
    ['payload', ['a.b'], F(1)],
    ['payload', ['a'], { b: F(1) }],
    ['payload', ['list'], [1, 2]],
    ['payload', ['missing.x'], undefined],
    ['flags', [], { dup: false, retain: true }],
    ['flag', ['retain'], true],
    ['flag', ['nope'], undefined],
  ])('%s(%p) in SELECT = %p', (name, args, expected) => {
    expect(call(select, name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, SqlValue[], SqlValue]>([
    ['msgid', [], undefined],
    ['qos', [], undefined],
    ['topic', [], undefined],
    ['topic', [1], undefined],
    ['clientid', [], undefined],
    ['username', [], undefined],
    ['peerhost', [], undefined],
    ['payload', [], undefined],
    ['payload', ['a.b'], undefined],
    ['flags', [], {}],
    ['flag', ['retain'], undefined],
  ])('%s(%p) in WHERE = %p (§11.13)', (name, args, expected) => {
    expect(call(where, name, ...args)).toStrictEqual(expected);
  });

  it('flags() is {} when the message has no flags', () => {
    expect(call({ input: {}, inCondition: false }, 'flags')).toStrictEqual({});
  });

  it('payload(path) accepts a Buffer payload', () => {
    const c: FunctionContext = { input: { payload: Buffer.from('{"x":[1.5]}') }, inCondition: false };
    expect(call(c, 'payload', 'x')).toStrictEqual([1.5]);
  });

  it.each<[FunctionContext, string, SqlValue[]]>([
    [select, 'topic', [4]],
    [select, 'topic', [0]],
    [select, 'topic', ['1']],
    [where, 'topic', ['1']],
    [{ input: { payload: 'not json' }, inCondition: false }, 'payload', ['a']],
    [select, 'payload', [1]],
    [select, 'flag', [1]],
    [select, 'clientid', [1]],
  ])('raises: %#', (c, name, args) => {
    expect(() => call(c, name, ...args)).toThrow(RuleEvaluationError);
  });
});

describe('contains_topic / contains_topic_match', () => {
  const filters = [
    { topic: 't/a', qos: 1 },
    { topic: 't/+/x', qos: 2 },
  ];
  it.each<[string, SqlValue[], boolean]>([
    ['contains_topic', [filters, 't/a'], true],
    ['contains_topic', [filters, 't/b'], false],
    ['contains_topic', [filters, 't/+/x'], true],
    ['contains_topic', [filters, 't/a', 1], true],
    ['contains_topic', [filters, 't/a', 2], false],
    ['contains_topic', [[], 't/a'], false],
    ['contains_topic_match', [filters, 't/a'], true],
    ['contains_topic_match', [filters, 't/y/x'], true],
    ['contains_topic_match', [filters, 't/y/z'], false],
    ['contains_topic_match', [filters, 't/y/x', 2], true],
    ['contains_topic_match', [filters, 't/y/x', 1], false],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(select, name, ...args)).toBe(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['contains_topic', ['t/a', 't/a']],
    ['contains_topic_match', [filters, 1]],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(select, name, ...args)).toThrow(RuleEvaluationError);
  });
});

describe('null handling', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['null', [], undefined],
    ['coalesce', [undefined, 'b'], 'b'],
    ['coalesce', ['a', 'b'], 'a'],
    ['coalesce', [null, 'b'], null],
    ['coalesce', ['', 'b'], ''],
    ['coalesce', [undefined, undefined], undefined],
    ['coalesce', [[undefined, undefined, 3, 4]], 3],
    ['coalesce', [[undefined]], undefined],
    ['coalesce', [[]], undefined],
    ['coalesce_ne', ['', 'b'], 'b'],
    ['coalesce_ne', [undefined, 'b'], 'b'],
    ['coalesce_ne', [null, 'b'], null],
    ['coalesce_ne', ['a', 'b'], 'a'],
    ['coalesce_ne', [[undefined, '', 'x']], 'x'],
    ['coalesce_ne', [['', '']], undefined],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(select, name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['coalesce', ['a']],
    ['coalesce', []],
    ['coalesce_ne', [1]],
    ['null', [1]],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(select, name, ...args)).toThrow(RuleEvaluationError);
  });
});

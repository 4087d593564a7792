import { describe, expect, it } from '@jest/globals';
import { TopicRouter, assertValidTopicFilter, matchTopic } from './topic-router';

// Cases from the MQTT spec and RULE-SQL.md §6 (EMQX's matcher).
const cases: ReadonlyArray<[topic: string, filter: string, expected: boolean]> = [
  ['sport/tennis/player1', 'sport/tennis/player1', true],
  ['sport/tennis/player1', 'sport/tennis/+', true],
  ['sport/tennis/player1', 'sport/#', true],
  ['sport', 'sport/#', true],
  ['sport/tennis', 'sport/+', true],
  ['sport/tennis/player1', 'sport/+', false],
  ['sport', 'sport/+', false],
  ['sport/', 'sport/+', true],
  ['a//c', 'a/+/c', true],
  ['a/b/c', '#', true],
  ['/finance', '+/+', true],
  ['/finance', '/+', true],
  ['/finance', '+', false],
  ['$SYS/broker', '#', false],
  ['$SYS/broker', '+/broker', false],
  ['$SYS/broker', '$SYS/#', true],
  ['a/$x', 'a/+', true],
  ['t', 't/#', true],
  ['temp_hum/emqx', 'temp_hum/emqx', true],
  ['temp_hum/emqx2', 'temp_hum/emqx', false],
];

describe('matchTopic', () => {
  it.each(cases)('%s against %s → %s', (topic, filter, expected) => {
    expect(matchTopic(topic, filter)).toBe(expected);
  });
});

describe('assertValidTopicFilter', () => {
  it.each(['a/#/b', 'a/b#', 'a+/b', ''])('refuses %j', (filter) => {
    expect(() => assertValidTopicFilter(filter)).toThrow(TypeError);
  });
  it.each(['#', '+', 'a/+/b/#', '$SYS/#', 'a//b'])('accepts %j', (filter) => {
    expect(() => assertValidTopicFilter(filter)).not.toThrow();
  });
});

describe(TopicRouter.name, () => {
  it('agrees with matchTopic on every case of the table', () => {
    for (const [topic, filter, expected] of cases) {
      const router = new TopicRouter<string>();
      router.add(filter, 'rule');
      expect([topic, filter, router.match(topic).length === 1]).toEqual([topic, filter, expected]);
    }
  });

  it('returns each value once even when several of its filters match', () => {
    const router = new TopicRouter<string>();
    router.add('a/#', 'r1');
    router.add('a/+', 'r1');
    router.add('a/b', 'r2');
    expect(router.match('a/b')).toEqual(['r1', 'r2']);
  });

  it('finds the one matching rule among a thousand', () => {
    const router = new TopicRouter<number>();
    for (let i = 0; i < 1000; i++) router.add(`site/${i}/+/temp`, i);
    expect(router.match('site/417/dev9/temp')).toEqual([417]);
    expect(router.match('site/1000/dev9/temp')).toEqual([]);
  });

  it('sees routes added after a topic was cached', () => {
    const router = new TopicRouter<string>();
    expect(router.match('x/y')).toEqual([]);
    router.add('x/+', 'late');
    expect(router.match('x/y')).toEqual(['late']);
  });
});

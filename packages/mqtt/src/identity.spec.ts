import { describe, expect, it } from '@jest/globals';
import { compileTopicPattern, identityReader } from './identity';

describe(compileTopicPattern.name, () => {
  describe('when the topic matches', () => {
    it.each([
      ['devices/{clientid}/telemetry', 'devices/d-17/telemetry', 'd-17'],
      ['{clientid}/up', 'sensor1/up', 'sensor1'],
      ['site/+/{clientid}/#', 'site/paris/d1/a/b', 'd1'],
      ['site/+/{clientid}/#', 'site/paris/d1', 'd1'],
      ['a/{x}', 'a/only-placeholder-named-x', 'only-placeholder-named-x'],
      ['t/{username}/{clientid}', 't/alice/dev9', 'dev9'],
    ])('%s reads %s as %s', (pattern, topic, expected) => {
      expect(compileTopicPattern(pattern, 'clientid')(topic)).toBe(expected);
    });
  });

  describe('when the topic does not match', () => {
    it.each([
      ['devices/{clientid}/telemetry', 'devices/d1/status'],
      ['devices/{clientid}/telemetry', 'devices/d1/telemetry/extra'],
      ['devices/{clientid}/telemetry', 'devices/d1'],
      ['devices/{clientid}/telemetry', 'device/d1/telemetry'],
      ['devices/{clientid}/telemetry', 'devices//telemetry'],
      ['devices/{clientid}', 'devices'],
    ])('%s gives nothing for %s', (pattern, topic) => {
      expect(compileTopicPattern(pattern, 'clientid')(topic)).toBeUndefined();
    });
  });

  describe('when the pattern is wrong', () => {
    it.each([
      ['devices/telemetry', /no placeholder/],
      ['a/#/{clientid}', /'#' must be the last level/],
      ['a/x{clientid}', /must be a whole level/],
      ['a/b+/{clientid}', /whole levels/],
      ['{a}/{b}', /none is named \{clientid\}/],
    ])('%s is refused', (pattern, message) => {
      expect(() => compileTopicPattern(pattern, 'clientid')).toThrow(message);
    });
  });
});

describe(identityReader.name, () => {
  it('reads a user property, taking the first value of a repeated key', () => {
    const read = identityReader({ userProperty: 'clientid' }, 'clientid');
    expect(read('t', { clientid: 'dev1' })).toBe('dev1');
    expect(read('t', { clientid: ['dev1', 'dev2'] })).toBe('dev1');
    expect(read('t', { other: 'x' })).toBeUndefined();
    expect(read('t', undefined)).toBeUndefined();
  });

  it('reads a topic segment', () => {
    expect(identityReader({ topicSegment: 'u/{username}/#' }, 'username')('u/bob/x', undefined)).toBe('bob');
  });

  it('gives nothing when not configured', () => {
    expect(identityReader(undefined, 'clientid')('devices/d1/telemetry', { clientid: 'x' })).toBeUndefined();
  });
});

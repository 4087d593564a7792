import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlFloat, type SqlValue } from '../values';
import { lookupFunction, type FunctionContext } from './index';

const F = (n: number): SqlFloat => new SqlFloat(n);
const ctx: FunctionContext = { input: {}, inCondition: false };
const call = (name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, ctx);
const hex = (h: string): Buffer => Buffer.from(h, 'hex');

describe('hashing (§8.7)', () => {
  it.each<[string, SqlValue[], string]>([
    ['md5', ['hello'], '5d41402abc4b2a76b9719d911017c592'],
    ['sha', ['hello'], 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'],
    ['sha256', ['hello'], '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
    ['md5', [Buffer.from('hello')], '5d41402abc4b2a76b9719d911017c592'],
    ['hash', ['md5', 'hello'], '5d41402abc4b2a76b9719d911017c592'],
    ['hash', ['sha', 'hello'], 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'],
    ['hash', ['sha1', 'hello'], 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'],
    ['hash', ['sha256', 'hello'], '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
    [
      'hash',
      ['sha512', 'abc'],
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
    ['hash', ['sha3_256', ''], 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a'],
    ['hash', ['shake128', ''], '7f9c2ba4e88f827d616045507605853e'],
    ['hash', ['shake256', ''], '46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f'],
    [
      'hash',
      ['blake2b', 'abc'],
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    ],
    ['hash', ['blake2s', 'abc'], '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982'],
  ])('%s(%p) = %s', (name, args, expected) => {
    expect(call(name, ...args)).toBe(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['md5', [1]],
    ['sha', [undefined]],
    ['sha256', [{}]],
    ['hash', ['nosuch', 'a']],
    ['hash', ['SHA256', 'a']],
    ['hash', ['toString', 'a']],
    ['hash', [1, 'a']],
    ['hash', ['md5', 1]],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });
});

describe('compression (§8.7)', () => {
  it.each<[string, Buffer, SqlValue]>([
    ['gunzip', hex('1f8b0800000000000003cb48cdc9c90700' + '86a6103605000000'), 'hello'],
    ['unzip', hex('cb48cdc9c90700'), 'hello'],
    ['zip_uncompress', hex('789ccb48cdc9c90700062c0215'), 'hello'],
  ])('%s of a known stream', (name, input, expected) => {
    expect(call(name, input)).toBe(expected);
  });

  it.each<[string, string]>([
    ['gzip', 'gunzip'],
    ['zip', 'unzip'],
    ['zip_compress', 'zip_uncompress'],
  ])('%s then %s gives the text back', (pack, unpack) => {
    const packed = call(pack, 'hello hello hello 😀');
    expect(Buffer.isBuffer(packed)).toBe(true);
    expect(call(unpack, packed)).toBe('hello hello hello 😀');
  });

  it('zip_compress writes the zlib container and zip raw deflate', () => {
    expect((call('zip_compress', 'hello') as Buffer).subarray(0, 2).toString('hex')).toBe('789c');
    expect(call('zip', 'hello')).toStrictEqual(hex('cb48cdc9c90700'));
    expect((call('gzip', 'x') as Buffer).subarray(0, 2).toString('hex')).toBe('1f8b');
  });

  it('decompressed bytes that are not UTF-8 stay binary', () => {
    expect(call('unzip', call('zip', Buffer.from([0xff, 0x00])))).toStrictEqual(Buffer.from([0xff, 0x00]));
  });

  it.each<[string, SqlValue]>([
    ['gunzip', 'not gzip'],
    ['unzip', Buffer.from([0xff, 0xff])],
    ['zip_uncompress', 'abc'],
    ['gzip', 1],
    ['zip', undefined],
  ])('%s(%p) raises', (name, arg) => {
    expect(() => call(name, arg)).toThrow(RuleEvaluationError);
  });
});

describe('base64 and JSON (§8.7)', () => {
  it.each<[string, SqlValue[], SqlValue]>([
    ['base64_encode', ['hello'], 'aGVsbG8='],
    ['base64_encode', [''], ''],
    ['base64_encode', ['hello', 'no_padding'], 'aGVsbG8'],
    ['base64_encode', [hex('fbff'), 'urlsafe'], '-_8='],
    ['base64_encode', [hex('fbff')], '+/8='],
    ['base64_encode', [hex('fbff'), 'urlsafe', 'no_padding'], '-_8'],
    ['base64_encode', [hex('fbff'), 'no_padding', 'urlsafe'], '-_8'],
    ['base64_encode', ['hi', 'bogus'], 'aGk='],
    ['base64_decode', ['aGVsbG8='], 'hello'],
    ['base64_decode', ['aGVsbG8', 'no_padding'], 'hello'],
    ['base64_decode', ['-_8=', 'urlsafe'], hex('fbff')],
    ['base64_decode', ['+/8='], hex('fbff')],
    ['base64_decode', ['-_8', 'urlsafe', 'no_padding'], hex('fbff')],
    ['base64_decode', [''], ''],
    ['json_encode', [{ a: [1, F(2), 'x', null, undefined] }], '{"a":[1,2.0,"x",null,"undefined"]}'],
    ['json_encode', ['s'], '"s"'],
    ['json_encode', [1.5], '1.5'],
    ['json_decode', ['{"a":[1,2.0]}'], { a: [1, F(2)] }],
    ['json_decode', ['"s"'], 's'],
    ['json_decode', ['12'], 12],
    ['json_decode', ['null'], null],
    ['json_decode', [Buffer.from('[true]')], [true]],
  ])('%s(%p) = %p', (name, args, expected) => {
    expect(call(name, ...args)).toStrictEqual(expected);
  });

  it.each<[string, SqlValue[]]>([
    ['base64_decode', ['aGVsbG8']],
    ['base64_decode', ['a']],
    ['base64_decode', ['a*bc']],
    ['base64_decode', ['-_8=']],
    ['base64_decode', [1]],
    ['base64_encode', [1]],
    ['base64_encode', ['a', 1]],
    ['json_decode', ['{bad']],
    ['json_decode', [1]],
    ['json_decode', [undefined]],
    ['term_encode', [1]],
    ['term_decode', ['x']],
  ])('%s(%p) raises', (name, args) => {
    expect(() => call(name, ...args)).toThrow(RuleEvaluationError);
  });

  it('term_encode says it is not supported', () => {
    expect(() => call('term_encode', 1)).toThrow(/term_encode is not supported/);
  });
});

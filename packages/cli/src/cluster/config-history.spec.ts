import { describe, expect, it } from '@jest/globals';
import { ConfigHistory, canonicalJson, decodeRevision, encodeRevision, revisionOf, type ConfigRevision, type SharedConfig } from './config-history';

const shared = (rule: string): SharedConfig => ({ sources: [{ type: 'mqtt', id: 'plant' }], connectors: [], rules: [{ id: rule, sql: 'SELECT * FROM "t"' }] });
const revision = (of: SharedConfig, basedOn: string | null, member = 'a', write = `${member}-${Math.random()}`): ConfigRevision =>
  ({ revision: revisionOf(of), basedOn, shared: of, member, write, at: 1 });

describe('the config history of a cluster', () => {
  it('takes the seed, then each record made from the current revision, and refuses one made from an older one', () => {
    const history = new ConfigHistory('a');
    const seed = revision(shared('r0'), null);
    expect(history.offer(seed)).toBe(true);
    const fromB = revision(shared('r1'), seed.revision, 'b');
    const fromA = revision(shared('r2'), seed.revision, 'a', 'w-a');
    expect(history.offer(fromB)).toBe(true);
    // a also changed the seed: b's record came first in the log, so a's is refused on every member
    expect(history.offer(fromA)).toBe(false);
    expect(history.current).toBe(fromB);
    expect(history.decision('w-a')).toBe(false);
    expect(history.decision('w-a')).toBeUndefined();
  });

  it('refuses a second seed', () => {
    const history = new ConfigHistory('a');
    expect(history.offer(revision(shared('r0'), null, 'b'))).toBe(true);
    expect(history.offer(revision(shared('r9'), null, 'a'))).toBe(false);
    expect(history.current?.member).toBe('b');
  });

  it('gives two parses of the same config the same revision whatever their key order', () => {
    expect(revisionOf({ sources: [{ id: 'x', type: 'mqtt' }], connectors: [], rules: [] }))
      .toBe(revisionOf({ sources: [{ type: 'mqtt', id: 'x' }], connectors: [], rules: [] }));
    expect(canonicalJson({ b: 1, a: [true, null, 'x'] })).toBe('{"a":[true,null,"x"],"b":1}');
  });

  it('decodes what it encodes, and nothing that is not a revision or lies about its hash', () => {
    const record = revision(shared('r0'), null);
    expect(decodeRevision(encodeRevision(record))).toEqual(record);
    expect(decodeRevision(Buffer.from('not json'))).toBeUndefined();
    expect(decodeRevision(Buffer.from('{"revision":"x"}'))).toBeUndefined();
    const lying = { ...record, shared: shared('other') };
    expect(decodeRevision(encodeRevision(lying))).toBeUndefined();
    expect(decodeRevision(Buffer.alloc(5 << 20, 0x20))).toBeUndefined();
  });
});

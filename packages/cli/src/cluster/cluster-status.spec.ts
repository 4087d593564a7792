import { describe, expect, it } from '@jest/globals';
import { countersOfSnapshot, decodeStatus, MemberTable, type MemberStatus } from './cluster-status';

const status = (member: string, extra: Partial<MemberStatus> = {}): Buffer => Buffer.from(JSON.stringify({
  member, host: `${member}.local`, pid: 1, state: 'running', since: 0, at: 0, configRevision: 'abc',
  rules: { temps: { matched: 10, passed: 9 } }, actions: { 'temps:kafka': { success: 9 } }, ...extra,
}));

describe('the member table of a cluster', () => {
  it('lists every member and sums the counters of the running ones', () => {
    const table = new MemberTable(10_000, 'a', 2_000);
    expect(table.offer(status('a'), 1_000)).toBe(true);
    expect(table.offer(status('b', { rules: { temps: { matched: 5, passed: 5 }, hums: { matched: 1 } } }), 1_000)).toBe(true);
    const view = table.view('plant', 'a', 'abc', 2_000);
    expect(view.members.map((m) => [m.id, m.state, m.self])).toEqual([['a', 'running', true], ['b', 'running', false]]);
    expect(view.totals.rules['temps']).toEqual({ matched: 15, passed: 14 });
    expect(view.totals.rules['hums']).toEqual({ matched: 1 });
    expect(view.totals.actions['temps:kafka']).toEqual({ success: 18 });
  });

  it('shows a silent member as gone after the timeout and a stopped one as stopped, and leaves both out of the totals', () => {
    const table = new MemberTable(10_000, 'a', 2_000);
    table.offer(status('a'), 1_000);
    table.offer(status('b'), 1_000);
    table.offer(status('b', { state: 'stopped' }), 5_000);
    const view = table.view('plant', 'c', undefined, 11_001);
    expect(view.members.map((m) => [m.id, m.state])).toEqual([['a', 'gone'], ['b', 'stopped']]);
    expect(view.totals.rules).toEqual({});
  });

  it('keeps the latest record of a member (a restart replaces the one before)', () => {
    const table = new MemberTable(10_000, 'a', 2_000);
    table.offer(status('a', { pid: 1 }), 1_000);
    table.offer(status('a', { pid: 2 }), 2_000);
    expect(table.view('plant', 'a', undefined, 2_000).members.map((m) => m.pid)).toEqual([2]);
  });

  it('skips what is not a status, and keeps ids such as __proto__ as plain data', () => {
    const table = new MemberTable(10_000, 'a', 2_000);
    expect(table.offer(Buffer.from('nope'), 0)).toBe(false);
    expect(table.offer(Buffer.from('{"member":"x"}'), 0)).toBe(false);
    expect(decodeStatus(Buffer.alloc(2 << 20, 0x20))).toBeUndefined();
    const hostile = Buffer.from('{"member":"m","host":"h","pid":1,"state":"running","since":0,"at":0,"rules":{"__proto__":{"matched":1,"x":"y"}},"actions":{}}');
    expect(table.offer(hostile, 0)).toBe(true);
    const totals = table.view('plant', 'm', undefined, 0).totals.rules;
    expect(Object.getPrototypeOf(totals)).toBeNull();
    expect(totals['__proto__']).toEqual({ matched: 1 });
    expect(({} as Record<string, unknown>)['matched']).toBeUndefined();
  });

  /** This member's own status records, one per 2 s interval, received from `from` to `to`. */
  const ownRecords = (table: MemberTable, from: number, to: number): void => {
    for (let at = from; at <= to; at += 2_000) table.offer(status('a'), at);
  };

  it('trusts its view of who is gone only after seeing its own records without a gap for a whole timeout', () => {
    const table = new MemberTable(10_000, 'a', 2_000);
    expect(table.seesLongEnough(0)).toBe(false);
    table.offer(status('b'), 1_000);
    ownRecords(table, 1_000, 9_000);
    expect(table.seesLongEnough(5_000)).toBe(false);
    expect(table.seesLongEnough(11_000)).toBe(true);
    // Kafka away for 30 s: its own record comes back first, b's is stale but only not read yet
    table.offer(status('a'), 40_000);
    expect(table.view('plant', 'a', undefined, 40_500).members.find((m) => m.id === 'b')?.state).toBe('gone');
    expect(table.seesLongEnough(40_500)).toBe(false);
    ownRecords(table, 42_000, 50_000);
    expect(table.seesLongEnough(50_500)).toBe(true);
    // and nothing of its own for longer than three intervals: not trusted either
    expect(table.seesLongEnough(56_001)).toBe(false);
  });

  it('does not take another member for gone while its own records have stopped too (Kafka away now)', () => {
    const table = new MemberTable(3_000, 'a', 300);
    for (let at = 0; at <= 12_000; at += 300) {
      table.offer(status('b'), at);
      table.offer(status('a'), at + 70); // its own record written just after b's
    }
    // Kafka dies at 12,100: nothing arrives any more. At 15,001 b's last record is over the timeout old, its
    // own is not (70 ms younger), but it has not arrived live for ten intervals: nothing to trust
    expect(table.view('plant', 'a', undefined, 15_001).members.find((m) => m.id === 'b')?.state).toBe('gone');
    expect(table.seesLongEnough(15_001)).toBe(false);
    // an outage shorter than the timeout: once its own records are back it waits a whole timeout, giving b's
    // writer that long to resume too
    table.offer(status('a'), 15_100);
    expect(table.seesLongEnough(15_200)).toBe(false);
    for (let at = 15_400; at <= 18_100; at += 300) table.offer(status('a'), at);
    expect(table.seesLongEnough(18_200)).toBe(true);
  });

  it('takes the finite numbers of a metrics snapshot (rates and nested objects are per member)', () => {
    expect(countersOfSnapshot({ r: { matched: 3, 'matched.rate': { current: 1 }, bad: Number.NaN } })).toEqual({ r: { matched: 3 } });
  });
});

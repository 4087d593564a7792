import { describe, expect, it } from '@jest/globals';
import type { ClusterView, MemberView } from './cluster-status';
import { incarnationOf, takeoverDuty, takeoverSource } from './session-takeover';

const member = (id: string, state: MemberView['state']): MemberView =>
  ({ id, host: id, pid: 1, state, since: '2026-12-07T00:00:00.000Z', lastSeen: '2026-12-07T00:00:01.000Z', configRevision: undefined, self: false });
const view = (self: string, members: MemberView[]): ClusterView => ({ cluster: 'plant', member: self, configRevision: undefined, members, totals: { rules: {}, actions: {} } });

describe('who takes over a dead member', () => {
  const members = [member('a', 'running'), member('b', 'running'), member('c', 'gone'), member('d', 'stopped')];

  it('is the first running member by id, and only for gone members (a stopped one ended its sessions)', () => {
    expect(takeoverDuty(view('a', members), new Set()).map((m) => m.id)).toEqual(['c']);
    expect(takeoverDuty(view('b', members), new Set())).toEqual([]);
  });

  it('not twice for one incarnation, but again for a later one', () => {
    const done = new Set([incarnationOf(member('c', 'gone'))]);
    expect(takeoverDuty(view('a', members), done)).toEqual([]);
    const reborn = { ...member('c', 'gone'), since: '2026-12-07T01:00:00.000Z' };
    expect(takeoverDuty(view('a', [member('a', 'running'), reborn]), done).map((m) => m.since)).toEqual([reborn.since]);
  });
});

describe('the source that resumes a dead member\'s session', () => {
  it('has the dead member\'s derived client id, a persistent session, and the source\'s own way of leaving', () => {
    const entry = { type: 'mqtt', id: 'plant', url: 'mqtt://b', shareGroup: 'plant-a', clientId: 'sluice-plant-a', session: { sessionExpiry: 60, shareGroupLeave: 'keep-session' } };
    expect(takeoverSource(entry, 'a', 'c')).toEqual({
      type: 'mqtt', id: 'plant-takeover-c', url: 'mqtt://b', shareGroup: 'plant-a', clientId: 'sluice-plant-c',
      session: { sessionExpiry: 60, shareGroupLeave: 'keep-session', persistent: true },
    });
  });

  it('does not exist for a client id the entry set itself, or another source type', () => {
    expect(takeoverSource({ type: 'mqtt', id: 'plant', clientId: 'fixed' }, 'a', 'c')).toBeUndefined();
    expect(takeoverSource({ type: 'mqtt-broker', id: 'plant', clientId: 'sluice-plant-a' }, 'a', 'c')).toBeUndefined();
  });
});

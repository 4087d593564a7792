import type { Logger } from '@sluice/core';
import { recordObject } from './record-json';
import type { SharedLog, SharedLogFactory, SharedLogRecord } from './shared-log';

/** What a member says of itself on the status topic, every `statusIntervalMs`. */
export interface MemberStatus {
  readonly member: string;
  readonly host: string;
  readonly pid: number;
  /** `running`, or `stopped` in the last record of a member that stopped on purpose. */
  readonly state: 'running' | 'stopped';
  /** When the member started (ms since the epoch). */
  readonly since: number;
  /** When it wrote this record. */
  readonly at: number;
  /** The shared config revision it runs (a member that could not apply the cluster's shows an older one). */
  readonly configRevision: string | undefined;
  /** Its counters per rule and per action (numbers only: rates are per member and not summed). */
  readonly rules: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly actions: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Written by the member that took over this dead member's MQTT sessions (state `stopped`). */
  readonly takenOverBy?: string | undefined;
}

/** A member as the API shows it. */
export interface MemberView {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** `running`; `stopped` (it said so); `gone` (no status for longer than memberTimeoutMs). */
  readonly state: 'running' | 'stopped' | 'gone';
  readonly since: string;
  readonly lastSeen: string;
  readonly configRevision: string | undefined;
  readonly self: boolean;
  /** The member that took over its MQTT sessions after it died. */
  readonly takenOverBy?: string | undefined;
}

/** GET /api/cluster. */
export interface ClusterView {
  readonly cluster: string;
  readonly member: string;
  readonly configRevision: string | undefined;
  readonly members: readonly MemberView[];
  /** Sums of the running members' counters, per rule and per action id. */
  readonly totals: {
    readonly rules: Record<string, Record<string, number>>;
    readonly actions: Record<string, Record<string, number>>;
  };
}

/** How long a stopping member tries to say so on the status topic. */
const STOPPED_PUBLISH_MS = 3_000;

/** The largest status record read (a member with thousands of rules stays far below it). */
const MAX_STATUS_RECORD_BYTES = 1 << 20;

/**
 * The members of a cluster as their status records tell: the latest record of each member (the status
 * topic is compacted by member id), and when it arrived. Pure bookkeeping; ClusterStatus feeds it.
 */
export class MemberTable {
  private readonly latest = new Map<string, { readonly status: MemberStatus; readonly receivedAt: number }>();
  /** Since when this member's own records have arrived without a gap longer than liveGapMs. */
  private seeingSince: number | undefined;
  /**
   * A gap between two of this member's own records longer than this means it was cut off (Kafka away, or its
   * reader stalled): three status intervals, at most the member timeout.
   */
  private readonly liveGapMs: number;

  constructor(private readonly memberTimeoutMs: number, private readonly self: string, statusIntervalMs: number) {
    this.liveGapMs = Math.min(memberTimeoutMs, 3 * statusIntervalMs);
  }

  /** Takes a status record; false for one that is not a status (skipped). */
  offer(value: Buffer, receivedAt: number): boolean {
    const status = decodeStatus(value);
    if (status === undefined) return false;
    const before = this.latest.get(status.member);
    if (status.member === this.self && (before === undefined || receivedAt - before.receivedAt > this.liveGapMs)) {
      // this member's own records stopped arriving for a while (Kafka away): the others' records stopped
      // reaching it too and resume each at its own pace, so from here on it starts over
      this.seeingSince = receivedAt;
    }
    this.latest.set(status.member, { status, receivedAt });
    return true;
  }

  /**
   * Whether this member reads the status topic live now (its own last record is at most liveGapMs old) and has
   * for a whole memberTimeoutMs without a gap: only then is a member it shows `gone` really silent, rather than
   * cut off with it (while Kafka is away nobody's records arrive, and the one whose last record happened to be
   * written a moment later must not take the others over) or not read yet after the outage (every member's
   * writer resumes at its own pace, and the first to resume must not take the others over).
   */
  seesLongEnough(now: number): boolean {
    const own = this.latest.get(this.self);
    return this.seeingSince !== undefined && own !== undefined
      && now - own.receivedAt <= this.liveGapMs && now - this.seeingSince >= this.memberTimeoutMs;
  }

  /** The latest status record of a member, as it wrote it. */
  latestOf(member: string): MemberStatus | undefined {
    return this.latest.get(member)?.status;
  }

  view(cluster: string, self: string, configRevision: string | undefined, now: number): ClusterView {
    const members: MemberView[] = [];
    // without prototypes: the ids come from other processes (a rule called `__proto__`)
    const totals: ClusterView['totals'] = { rules: Object.create(null) as Record<string, Record<string, number>>, actions: Object.create(null) as Record<string, Record<string, number>> };
    for (const { status, receivedAt } of this.latest.values()) {
      // the age is judged by when this member received the record: the writer's clock may be off
      const state = status.state === 'stopped' ? 'stopped' : now - receivedAt > this.memberTimeoutMs ? 'gone' : 'running';
      members.push({
        id: status.member, host: status.host, pid: status.pid, state, since: new Date(status.since).toISOString(),
        lastSeen: new Date(receivedAt).toISOString(), configRevision: status.configRevision, self: status.member === self,
        ...(status.takenOverBy === undefined ? {} : { takenOverBy: status.takenOverBy }),
      });
      if (state !== 'running') continue;
      addInto(totals.rules, status.rules);
      addInto(totals.actions, status.actions);
    }
    members.sort((a, b) => a.id.localeCompare(b.id));
    return { cluster, member: self, configRevision, members, totals };
  }
}

function addInto(into: Record<string, Record<string, number>>, from: MemberStatus['rules']): void {
  for (const [id, counters] of Object.entries(from)) {
    const sum = (into[id] ??= Object.create(null) as Record<string, number>);
    for (const [name, value] of Object.entries(counters)) sum[name] = (sum[name] ?? 0) + value;
  }
}

/** Parses a status record; undefined for anything else (a foreign writer, a damaged or oversized record). */
export function decodeStatus(value: Buffer): MemberStatus | undefined {
  const r = recordObject(value, MAX_STATUS_RECORD_BYTES);
  if (r === undefined) return undefined;
  if (typeof r['member'] !== 'string' || typeof r['host'] !== 'string' || typeof r['pid'] !== 'number') return undefined;
  if ((r['state'] !== 'running' && r['state'] !== 'stopped') || typeof r['since'] !== 'number' || typeof r['at'] !== 'number') return undefined;
  const rules = countersOf(r['rules']);
  const actions = countersOf(r['actions']);
  if (rules === undefined || actions === undefined) return undefined;
  return {
    member: r['member'], host: r['host'], pid: r['pid'], state: r['state'], since: r['since'], at: r['at'],
    configRevision: typeof r['configRevision'] === 'string' ? r['configRevision'] : undefined, rules, actions,
    ...(typeof r['takenOverBy'] === 'string' ? { takenOverBy: r['takenOverBy'] } : {}),
  };
}

/** `{ id: { counter: number } }` with numbers only; built without prototypes (ids come from another process). */
function countersOf(value: unknown): Record<string, Record<string, number>> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, Record<string, number>> = Object.create(null) as Record<string, Record<string, number>>;
  for (const [id, counters] of Object.entries(value)) {
    if (typeof counters !== 'object' || counters === null) return undefined;
    const numbers: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [name, n] of Object.entries(counters as Record<string, unknown>)) if (typeof n === 'number' && Number.isFinite(n)) numbers[name] = n;
    out[id] = numbers;
  }
  return out;
}

/** The counters of a metrics snapshot: every finite number at the top level of each entry. */
export function countersOfSnapshot(entries: Readonly<Record<string, object>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [id, metrics] of Object.entries(entries)) {
    const numbers: Record<string, number> = {};
    for (const [name, value] of Object.entries(metrics)) if (typeof value === 'number' && Number.isFinite(value)) numbers[name] = value;
    out[id] = numbers;
  }
  return out;
}

export interface ClusterStatusOptions {
  readonly cluster: string;
  readonly member: string;
  readonly host: string;
  readonly statusIntervalMs: number;
  readonly memberTimeoutMs: number;
  /** This member's counters and config revision, read at each publish. */
  readonly snapshot: () => Pick<MemberStatus, 'rules' | 'actions' | 'configRevision'>;
}

/**
 * Publishes this member's status to the status topic every statusIntervalMs (keyed by member id) and
 * reads everyone's into a MemberTable. A failed publish is logged (rate-limited by the interval) and
 * tried again at the next tick: the status topic is for watching, the pipeline does not depend on it.
 */
export class ClusterStatus {
  private readonly table: MemberTable;
  private readonly log: SharedLog;
  private readonly since = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(private readonly options: ClusterStatusOptions, makeLog: SharedLogFactory, private readonly logger: Logger) {
    this.table = new MemberTable(options.memberTimeoutMs, options.member, options.statusIntervalMs);
    this.log = makeLog((record: SharedLogRecord) => {
      if (!this.table.offer(record.value, Date.now())) this.logger.warn('status topic record is not a member status; skipped', { offset: record.offset.toString() });
    });
  }

  async start(): Promise<void> {
    await this.log.open();
    await this.publish('running');
    this.timer = setInterval(() => void this.publish('running'), this.options.statusIntervalMs);
    this.timer.unref();
  }

  /** See MemberTable.seesLongEnough: whether a member shown `gone` now may be taken over. */
  seesLongEnough(): boolean {
    return this.table.seesLongEnough(Date.now());
  }

  view(): ClusterView {
    return this.table.view(this.options.cluster, this.options.member, this.options.snapshot().configRevision, Date.now());
  }

  /**
   * Records on the status topic that this member took over a dead member's sessions: the dead member's last
   * status, `stopped`, with `takenOverBy`. No member takes it over again; if it comes back, its own status
   * replaces this record.
   */
  async markTakenOver(member: string): Promise<void> {
    const last = this.table.latestOf(member);
    if (last === undefined) return;
    const record: MemberStatus = { ...last, state: 'stopped', at: Date.now(), takenOverBy: this.options.member };
    await this.log.write(member, Buffer.from(JSON.stringify(record), 'utf8'));
  }

  /** Says `stopped` (so the others show it as stopped at once, not gone after the timeout) and closes. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    // bounded: with Kafka away the producer's retries would hold the member's stop; the others then show it
    // `gone` after memberTimeoutMs instead of `stopped`
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.publish('stopped'), new Promise((resolve) => { timer = setTimeout(resolve, STOPPED_PUBLISH_MS); })]);
    clearTimeout(timer);
    await this.log.close();
  }

  private async publish(state: MemberStatus['state']): Promise<void> {
    const status: MemberStatus = {
      member: this.options.member, host: this.options.host, pid: process.pid, state, since: this.since, at: Date.now(), ...this.options.snapshot(),
    };
    try {
      await this.log.write(this.options.member, Buffer.from(JSON.stringify(status), 'utf8'));
      if (this.failing) this.logger.info('cluster status published again', {});
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn('cluster status could not be published; trying again at each interval', { error: (error as Error).message });
      this.failing = true;
    }
  }
}

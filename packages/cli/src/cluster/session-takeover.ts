import type { Integration, Logger } from '@sluice/core';
import type { LoadedConfig } from '../config-file';
import type { ClusterView } from './cluster-status';

/** A member's incarnation: a member id that comes back and dies again is a new one to take over. */
export type Incarnation = string;

export function incarnationOf(member: { readonly id: string; readonly since: string }): Incarnation {
  return `${member.id}@${member.since}`;
}

/**
 * The members this member must take over now: those shown `gone` (no status for memberTimeoutMs, not stopped
 * on purpose), not taken over yet, when this member is the first of the running members by id. Every member
 * reads the same status topic, so all of them pick the same taker without talking to each other; two takers
 * can still overlap for a status interval after a member joined or left (see docs/cluster.md).
 */
export function takeoverDuty(view: ClusterView, done: ReadonlySet<Incarnation>): Array<ClusterView['members'][number]> {
  const running = view.members.filter((m) => m.state === 'running').map((m) => m.id).sort();
  if (running[0] !== view.member) return [];
  return view.members.filter((m) => m.state === 'gone' && !done.has(incarnationOf(m)));
}

/** The source a dead member's MQTT session is resumed with, or undefined when its client id cannot be known. */
export function takeoverSource(entry: Readonly<Record<string, unknown>>, self: string, dead: string): Record<string, unknown> | undefined {
  const id = String(entry['id']);
  // only a client id cluster mode derived (clusterSources) says which session the dead member had
  if (entry['type'] !== 'mqtt' || entry['clientId'] !== `sluice-${id}-${self}`) return undefined;
  const session = typeof entry['session'] === 'object' && entry['session'] !== null ? entry['session'] as Record<string, unknown> : {};
  return {
    ...entry,
    id: `${id}-takeover-${dead}`,
    clientId: `sluice-${id}-${dead}`,
    // resume the dead member's session; when drained, leave as the source's own `shareGroupLeave` says: ending
    // the session on Mosquitto (which would go on routing a share into it), a plain disconnect on HiveMQ (whose
    // UNSUBSCRIBE can stall the group, docs/operations.md; it routes nothing to an offline member)
    session: { ...session, persistent: true },
  };
}

export interface SessionTakeoverOptions {
  readonly self: string;
  readonly app: Integration;
  /** The config as it runs now (the member's file, which mirrors the cluster's). */
  readonly load: () => LoadedConfig;
  /** Quiet time that counts as drained: no message received and none pending for this long. */
  readonly settleMs: number;
  /** A takeover source is removed after this long whatever it still receives. */
  readonly maxMs: number;
  /** This member stops: the takeover ends its wait at once (the source's leave still drains what it holds). */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/**
 * Takes over the MQTT sessions of a member that died and did not come back (issue #13 point 4): for each of the
 * dead member's MQTT sources, a source with its client id is added to this member's integration. The broker
 * hands it the session: the messages queued for the dead member and those it had not acknowledged, which this
 * member's rules process as their own. Once the source is quiet (settleMs with nothing received or pending, at
 * most maxMs) it is removed, and its stop leaves the share group as the source's `session.shareGroupLeave` says
 * (`end-session`: unsubscribe, drain, session expiry 0), so the broker routes nothing more to the dead member.
 * Answers the number of messages recovered.
 */
export async function takeOver(dead: string, options: SessionTakeoverOptions): Promise<number> {
  const { app, logger } = options;
  const loaded = options.load();
  let recovered = 0;
  for (const [index, entry] of loaded.config.sources.entries()) {
    if (options.signal.aborted) break;
    const source = takeoverSource(entry, options.self, dead);
    if (source === undefined) {
      if (entry.type === 'mqtt') logger.warn('a source with a client id of its own cannot be taken over (the dead member\'s client id is unknown)', { source: String(entry['id']), member: dead });
      continue;
    }
    const id = String(source['id']);
    await app.upsertSource(loaded.plugins.buildModule('sources', index, source as typeof entry));
    const started = Date.now();
    let got = 0;
    try {
      let last = -1;
      let quietSince = Date.now();
      while (Date.now() - started < options.maxMs && !options.signal.aborted) {
        const metrics = app.metrics.source(id);
        const connected = app.status()[id]?.state === 'connected';
        const received = metrics?.received ?? 0;
        if (received !== last || (metrics?.pending ?? 0) > 0 || !connected) {
          last = received;
          quietSince = Date.now();
        } else if (Date.now() - quietSince >= options.settleMs) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      got = app.metrics.source(id)?.received ?? 0;
    } finally {
      await app.removeSource(id);
    }
    recovered += got;
    logger.info('took over a dead member\'s MQTT session and ended it', { member: dead, source: String(entry['id']), messages: got, ms: Date.now() - started });
  }
  return recovered;
}

import { randomUUID } from 'node:crypto';
import type { Logger } from '@sluice/core';
import type { ConfigDocument, ConfigSnapshot } from '../config-store/config-store';
import { ConfigHistory, decodeRevision, encodeRevision, revisionOf, sharedConfigOf, type ConfigRevision, type SharedConfig } from './config-history';
import type { SharedLog, SharedLogFactory, SharedLogRecord } from './shared-log';

/** What the sync needs of the member's config file (FileConfigStore). */
export interface MirroredFile {
  read(): Promise<ConfigSnapshot>;
  mirror(sections: SharedConfig): Promise<ConfigSnapshot>;
}

/**
 * Keeps a member's config file in step with the cluster's config topic (`_sluice-<cluster>-config`), whose
 * records are revisions of the shared config (sources, connectors, rules) decided by ConfigHistory.
 *
 * - join(): reads the topic to its end; an empty topic is seeded with this member's shared config, else
 *   the cluster's current revision is written into the member's file (before the integration starts).
 * - publish(): writes a revision and answers whether the log took it (ClusterConfigStore, SIGHUP).
 * - Revisions other members wrote are written into the file and `onChanged` is called (the reload), one
 *   at a time and in log order, coalesced: a member behind by several revisions jumps to the latest.
 *
 * File writes of the sync and of publishers are serialised (`serialised`), so an API change is never
 * interleaved with a mirror. The log reader never waits on that queue: it only decides and enqueues.
 */
export class ClusterConfigSync {
  private readonly history: ConfigHistory;
  private readonly log: SharedLog;
  private queue: Promise<unknown> = Promise.resolve();
  private joined = false;
  /** Set once joined: told after a revision from another member was written into the file; answers whether it now runs. */
  private onChanged: ((revision: ConfigRevision) => Promise<boolean>) | undefined;
  /** The revision this member's integration runs (the status topic shows it: a member that refused one lags). */
  private applied: string | undefined;

  constructor(
    private readonly member: string,
    makeLog: SharedLogFactory,
    private readonly file: MirroredFile,
    private readonly logger: Logger,
  ) {
    this.history = new ConfigHistory(member);
    this.log = makeLog((record) => this.onRecord(record));
  }

  /** The cluster's current revision of the shared config (undefined before join). */
  get current(): ConfigRevision | undefined {
    return this.history.current;
  }

  /** The revision this member runs: the cluster's at join, then each one its integration took. */
  get appliedRevision(): string | undefined {
    return this.applied;
  }

  /** This member's integration now runs `revision` (an API change or a SIGHUP it applied itself). */
  markApplied(revision: string | undefined): void {
    if (revision !== undefined) this.applied = revision;
  }

  /**
   * Reads the topic to its end, then seeds it (empty topic) or writes its current revision into the file.
   * Answers whether the file was changed (the caller loads it again).
   */
  async join(): Promise<{ readonly seeded: boolean; readonly mirrored: boolean }> {
    await this.log.open();
    const local = sharedConfigOf((await this.file.read()).document);
    let seeded = false;
    if (this.history.current === undefined) {
      seeded = await this.publish(null, local);
      if (seeded) this.logger.info('cluster config seeded from this member\'s config file', { revision: revisionOf(local).slice(0, 12) });
    }
    const current = this.history.current;
    if (current === undefined) throw new Error('the cluster config topic has no revision after seeding it');
    let mirrored = false;
    if (current.revision !== revisionOf(local)) {
      await this.file.mirror(current.shared);
      mirrored = true;
      this.logger.info('config file replaced by the cluster\'s shared config', { revision: current.revision.slice(0, 12), by: current.member });
    }
    this.joined = true;
    // the integration is built from the file as it is now
    this.applied = current.revision;
    return { seeded, mirrored };
  }

  /** From now on, revisions of other members are mirrored into the file and handed to `apply` (the reload). */
  follow(apply: (revision: ConfigRevision) => Promise<boolean>): void {
    this.onChanged = apply;
    this.scheduleMirror();
  }

  /**
   * Writes a revision of the shared config made from revision `basedOn` and answers whether the log took
   * it (false: another member's change came first). Throws when the write fails.
   */
  async publish(basedOn: string | null, shared: SharedConfig): Promise<boolean> {
    const write = randomUUID();
    const revision: ConfigRevision = { revision: revisionOf(shared), basedOn, shared, member: this.member, write, at: Date.now() };
    // a key per record: compaction then never removes a revision the replay of a later member needs
    const offset = await this.log.write(write, encodeRevision(revision));
    await this.log.readThrough(offset);
    const taken = this.history.decision(write);
    if (taken === undefined) throw new Error(`the config record at offset ${offset} was not read back`);
    return taken;
  }

  /** Runs `work` with no mirror or other publish in between (for a file change and its publish). */
  serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Publishes the file's shared config when it differs from the cluster's (a SIGHUP after a hand edit). */
  publishFile(): Promise<'unchanged' | 'published' | 'conflict'> {
    return this.serialised(async () => {
      const shared = sharedConfigOf((await this.file.read()).document);
      const current = this.history.current;
      if (current !== undefined && current.revision === revisionOf(shared)) return 'unchanged';
      return (await this.publish(current?.revision ?? null, shared)) ? 'published' : 'conflict';
    });
  }

  /** Whether the file's shared sections are the cluster's current revision. */
  async fileMatchesCluster(): Promise<boolean> {
    return revisionOf(sharedConfigOf((await this.file.read()).document)) === this.history.current?.revision;
  }

  close(): Promise<void> {
    this.onChanged = undefined;
    return this.log.close();
  }

  private onRecord(record: SharedLogRecord): void {
    const revision = decodeRevision(record.value);
    if (revision === undefined) {
      this.logger.warn('config topic record is not a Sluice config revision; skipped', { offset: record.offset.toString(), bytes: record.value.length });
      return;
    }
    if (this.history.offer(revision) && this.joined) this.scheduleMirror();
  }

  private scheduleMirror(): void {
    void this.serialised(() => this.mirrorLatest()).catch((error: unknown) => {
      this.logger.error('the cluster\'s config could not be applied to this member; it runs its previous config', { error: (error as Error).message });
    });
  }

  /** Writes the latest revision into the file when the file differs, then has it applied. */
  private async mirrorLatest(): Promise<void> {
    const current = this.history.current;
    const apply = this.onChanged;
    if (current === undefined || apply === undefined) return;
    const local: ConfigDocument = (await this.file.read()).document;
    if (revisionOf(sharedConfigOf(local)) === current.revision) return;
    await this.file.mirror(current.shared);
    if (await apply(current)) this.applied = current.revision;
  }
}

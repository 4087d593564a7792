import type { Logger } from '@sluice/core';
import {
  ConfigConflictError, ConfigStoreError, type ConfigChange, type ConfigEdit, type ConfigSnapshot, type ConfigStore,
} from '../config-store/config-store';
import { revisionOf, sharedConfigOf, type SharedConfig } from './config-history';
import type { ClusterConfigSync } from './cluster-config-sync';

/**
 * The ConfigStore of a cluster member: an edit is made to the member's config file (FileConfigStore: its
 * validation, conflict check and text splicing), then written to the cluster's config topic as a revision
 * of the shared config made from the file's previous one. The log decides (ConfigHistory): when another
 * member's change came first, the file edit is taken back and the caller gets a conflict (409: read again,
 * re-apply). Every member, this one included, applies the taken revision in log order.
 *
 * A secret typed as a plain value is refused: the file store would keep it in a file of this member only,
 * which the other members could not read. In cluster mode secrets are `${env:…}` or `${file:…}` references
 * in the config file (the same on every member), changed by editing the file and sending SIGHUP.
 */
export class ClusterConfigStore implements ConfigStore {
  constructor(
    private readonly file: ConfigStore,
    private readonly sync: ClusterConfigSync,
    /** The directory where the file store keeps typed secrets: a reference to it is this member's alone. */
    private readonly secretsDir: string,
    private readonly logger: Logger,
  ) {}

  read(): Promise<ConfigSnapshot> {
    return this.file.read();
  }

  async apply(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigSnapshot> {
    const change = await this.change(basedOn, edits);
    await change.keep();
    return change.snapshot;
  }

  change(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigChange> {
    return this.sync.serialised(() => this.changeNow(basedOn, edits));
  }

  private async changeNow(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigChange> {
    const before = sharedConfigOf((await this.file.read()).document);
    const change = await this.file.change(basedOn, edits);
    const after = sharedConfigOf(change.snapshot.document);
    const from = revisionOf(before);
    const to = revisionOf(after);
    if (from === to) return change; // nothing the members share changed
    if (this.referencesTypedSecret(before, after)) {
      await change.undo();
      throw new ConfigStoreError('ERR_CONFIG_STORE', 'in cluster mode a secret cannot be typed in: it would be stored on this member only. Put a ${env:NAME} or ${file:/path} reference that every member resolves into the config file and send SIGHUP to this member (docs/cluster.md)');
    }
    let taken: boolean;
    try {
      taken = await this.sync.publish(from, after);
    } catch (error) {
      await change.undo();
      throw new ConfigStoreError('ERR_CONFIG_STORE', `the change could not be written to the cluster's config topic (${(error as Error).message}); nothing changed, try again`);
    }
    if (!taken) {
      await change.undo();
      throw new ConfigConflictError('another cluster member changed the configuration first: read it again and re-apply the change');
    }
    return {
      snapshot: change.snapshot,
      // called once this member's integration took the change
      keep: () => {
        this.sync.markApplied(to);
        return change.keep();
      },
      // this member's integration refused the change: take it back in the file and, by a new revision, in the cluster
      undo: () => this.sync.serialised(async () => {
        await change.undo();
        const restored = await this.sync.publish(to, before).catch((error: unknown) => {
          this.logger.error('a refused change could not be taken back in the cluster\'s config topic', { error: (error as Error).message });
          return false;
        });
        if (!restored) this.logger.warn('a refused change stays in the cluster config: another member changed it since', { revision: to.slice(0, 12) });
      }),
    };
  }

  private referencesTypedSecret(before: SharedConfig, after: SharedConfig): boolean {
    const marker = `\${file:${this.secretsDir}`;
    const count = (shared: SharedConfig): number => JSON.stringify(shared).split(marker).length - 1;
    return count(after) > count(before);
  }
}

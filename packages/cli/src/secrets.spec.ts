import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import { resolveSecrets } from './secrets';

describe(resolveSecrets.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
  const secretFile = join(dir, 'kafka-password');
  writeFileSync(secretFile, 's3cret\n');

  it('replaces env and file references and leaves action templates alone', () => {
    const resolved = resolveSecrets(
      { auth: { username: '${env:KAFKA_USER}', password: '${file:' + secretFile + '}' }, actions: [{ key: '${clientid}', value: '{"t": ${payload.t}}' }] },
      { KAFKA_USER: 'alice' },
    );
    expect(resolved).toEqual({ auth: { username: 'alice', password: 's3cret' }, actions: [{ key: '${clientid}', value: '{"t": ${payload.t}}' }] });
  });

  it('names every unresolved reference with its path, never a value', () => {
    let caught: unknown;
    try {
      resolveSecrets({ connectors: [{ password: '${env:MISSING_PW}' }, { password: '${file:/no/such/file}' }] }, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues).toEqual([
      { path: 'connectors[0].password', message: 'environment variable MISSING_PW is not set (referenced as ${env:MISSING_PW})' },
      { path: 'connectors[1].password', message: 'cannot read secret file /no/such/file (ENOENT); referenced as ${file:/no/such/file}' },
    ]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import type { CommandIo } from './commands/io';
import { ExitCode } from './exit-codes';
import { main } from './main';
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

describe('a secret used in rule SQL never reaches an error message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-secret-errors-'));
  // quote, backslash, unicode and > 40 characters: each rendering (raw, escaped, cut short) must go
  const resolved = 'Zx91-é秘-back\\slash-"quoted"-0123456789abcdefghij';

  it('sluice validate prints the syntax error of a rule holding an ${env:...} value without the value', async () => {
    const file = join(dir, 'leak.yaml');
    writeFileSync(file, [
      'sources: [{ type: mqtt, id: plant, url: "mqtt://127.0.0.1:1883" }]',
      'rules:',
      '  - id: r',
      "    sql: SELECT * FROM \"t/#\" WHERE payload.k '${env:API_KEY}'",
      '    actions: []',
      '',
    ].join('\n'));
    const stderr: string[] = [];
    const io: CommandIo = { out: () => {}, err: (t) => stderr.push(t), env: { API_KEY: resolved } };
    expect(await main(['validate', '-c', file], io)).toBe(ExitCode.invalid);
    const text = stderr.join('\n');
    expect(text).toContain('rules[0].sql');
    expect(text).toContain('[redacted]');
    for (let i = 0; i + 8 <= resolved.length; i++) expect(text).not.toContain(resolved.slice(i, i + 8));
  });
});


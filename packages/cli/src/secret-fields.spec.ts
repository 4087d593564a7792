import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadConfigFile } from './config-file';
import { redactFields, SecretFields } from './secret-fields';

const config = `sources: [{ type: mqtt, id: plant, url: mqtt://127.0.0.1:1883 }]
connectors: [{ type: mqtt, id: out, url: mqtt://127.0.0.1:1883, password: '\${env:MQTT_PASSWORD}' }]
rules:
  - id: plain
    sql: SELECT * FROM "a"
    description: key is sk-0001
    actions: [{ connector: out, topic: a }]
  - id: keyed
    sql: SELECT * FROM "b" WHERE payload.key = '\${env:API_KEY}'
    actions: [{ connector: out, topic: b, payload: 'key=\${env:API_KEY}' }]
`;

describe(SecretFields.name, () => {
  it('finds the rule fields that held a secret reference, by position, whatever their text', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-secret-fields-')), 'c.yaml');
    writeFileSync(file, config);
    const loaded = loadConfigFile(file, { API_KEY: 'sk-0001', MQTT_PASSWORD: 'pw-0001' });
    expect(loaded.secretPaths).toEqual(['connectors[0].password', 'rules[1].sql', 'rules[1].actions[0].payload']);
    const fields = new SecretFields();
    fields.add(loaded);
    expect(fields.of('keyed')).toEqual(['sql', 'actions[0].payload']);
    expect(fields.of('plain')).toEqual([]); // its description equals a secret, but a caller could have written it
  });
});

describe(redactFields.name, () => {
  it('replaces strings at the paths in a copy, skipping paths that lead nowhere', () => {
    const answer = { sql: 'SELECT 1', definition: { actions: [{ payload: 'x' }] }, other: { a: 1 } };
    expect(redactFields(answer, ['sql', 'definition.actions[0].payload', 'definition.actions[3].payload', 'other.a', 'nope.x'])).toEqual({
      sql: '[redacted]', definition: { actions: [{ payload: '[redacted]' }] }, other: { a: 1 },
    });
    expect(answer.sql).toBe('SELECT 1');
  });
});

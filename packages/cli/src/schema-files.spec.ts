import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import { SqlRuleEngine } from '@sluice/sql';
import { composeFromConfig, sqlEngineOptions } from './compose';
import { ConfigFileError, loadConfigFile } from './config-file';
import { silentLogger } from '@sluice/core';

const dir = mkdtempSync(join(tmpdir(), 'sluice-schemas-'));
mkdirSync(join(dir, 'schemas'));
writeFileSync(join(dir, 'schemas', 'reading.proto'), 'syntax = "proto3";\nmessage Reading { double temp = 1; string device = 2; }\n');

function write(name: string, schemas: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `sources:
  - type: mqtt
    id: plant
    url: mqtt://127.0.0.1:1883
rules:
  - id: decode
    sql: SELECT schema_decode('reading', payload, 'Reading') AS r FROM "t/#"
schemas:
${schemas}`,
  );
  return file;
}

function loadError(file: string): ConfigError {
  try {
    loadConfigFile(file, {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return error as ConfigError;
  }
  throw new Error('the config loaded');
}

describe('schemas in the config file', () => {
  it('reads a schema file relative to the config and hands it to the engine', () => {
    const loaded = loadConfigFile(write('file.yaml', '  - { name: reading, type: protobuf, file: ./schemas/reading.proto }\n'), {});
    expect(loaded.config.schemas[0]?.source).toContain('message Reading');
    const engine = new SqlRuleEngine(sqlEngineOptions(loaded.config));
    const rule = engine.compileRule("SELECT schema_encode('reading', json_decode(payload), 'Reading') AS b FROM \"t/#\"");
    const [out] = rule.evaluate({ topic: 't/1', payload: '{"temp":21.5,"device":"d1"}' });
    const decoded = engine.compileRule("SELECT schema_decode('reading', payload, 'Reading') AS r FROM \"t/#\"").evaluate({ topic: 't/1', payload: out?.['b'] as Buffer });
    expect(decoded).toEqual([{ r: { temp: 21.5, device: 'd1' } }]);
  });

  it('takes inline source', () => {
    const loaded = loadConfigFile(write('inline.yaml', "  - name: reading\n    type: json\n    source: '{\"type\": \"object\"}'\n"), {});
    expect(sqlEngineOptions(loaded.config).schemas).toEqual([{ name: 'reading', type: 'json', source: '{"type": "object"}' }]);
  });

  it('names the file it cannot read, at its line', () => {
    const error = loadError(write('missing.yaml', '  - { name: reading, type: protobuf, file: ./schemas/nope.proto }\n'));
    expect(error.message).toMatch(/missing\.yaml:9:\d+: schemas\[0\]\.file: schema "reading": cannot read .*nope\.proto \(ENOENT\)/);
  });

  it('wants source or file, one of the two', () => {
    expect(loadError(write('neither.yaml', '  - { name: reading, type: json }\n')).message).toContain('schema "reading": give its text as `source` or a `file`');
    expect(loadError(write('both.yaml', "  - { name: reading, type: json, source: '{}', file: ./x.json }\n")).message).toContain('one of the two');
  });

  it('refuses a schema that does not compile, naming it, before anything starts', async () => {
    const loaded = loadConfigFile(write('bad.yaml', "  - { name: reading, type: avro, source: '{\"type\": \"record\"}' }\n"), {});
    await expect(composeFromConfig(loaded, silentLogger)).rejects.toThrow(/bad\.yaml:9:\d+: schemas\[0\]\.source: schema "reading" \(avro\): /);
  });

  it('refuses a rule naming an undeclared schema when composing', async () => {
    const loaded = loadConfigFile(write('undeclared.yaml', "  - { name: other, type: json, source: '{}' }\n"), {});
    await expect(composeFromConfig(loaded, silentLogger)).rejects.toThrow('no schema named "reading" (declared: other)');
  });
});

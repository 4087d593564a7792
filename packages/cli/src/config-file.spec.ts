import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SqlRuleEngine } from '@sluice/sql';
import { sqlEngineOptions } from './compose';
import { ConfigFileError, loadConfigFile, parsePath } from './config-file';

const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const valid = `# the seed flow
sources:
  - type: mqtt
    id: plant
    url: mqtt://127.0.0.1:1883
connectors:
  - type: kafka
    id: local
    bootstrapHosts: [127.0.0.1:19092]
rules:
  - id: temp_hum
    sql: SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"
    actions:
      - connector: local
        topic: emqx
        value: '{"temp": \${temp}, "hum": \${hum}}'
`;

describe(loadConfigFile.name, () => {
  it('reads YAML with defaults from the schema', () => {
    const loaded = loadConfigFile(write('ok.yaml', valid), {});
    expect(loaded.config.rules[0]).toMatchObject({ id: 'temp_hum', enabled: true });
    expect(loaded.config.http).toEqual({ enabled: true, host: '127.0.0.1', port: 8081, console: true });
    expect(loaded.locate('rules[0].actions[0].topic')).toEqual({ line: 15, column: 16 });
  });

  it('reads the same config as JSON', () => {
    const loaded = loadConfigFile(write('ok.json', JSON.stringify({ sources: [{ type: 'mqtt', id: 'p', url: 'mqtt://x' }], rules: [{ id: 'r', sql: 'SELECT * FROM "t"' }] })), {});
    expect(loaded.config.rules).toHaveLength(1);
  });

  it('points an unknown key at its line', () => {
    const file = write('typo.yaml', valid.replace('    actions:', '    actoins:'));
    expect(() => loadConfigFile(file, {})).toThrow(ConfigFileError);
    expect(() => loadConfigFile(file, {})).toThrow(`${file}:11:5: rules[0]: Unrecognized key: "actoins"`);
  });

  it('reports YAML syntax errors with their position', () => {
    const file = write('broken.yaml', 'sources:\n  - type: mqtt\n   id: x\n');
    expect(() => loadConfigFile(file, {})).toThrow(`${file}:3:1: Sequence item without - indicator`);
  });

  it('takes a config without rules (the console and the REST API add them to the file)', () => {
    const empty = loadConfigFile(write('norules.yaml', 'sources:\n  - type: mqtt\n    id: plant\nrules: []\n'), {});
    expect(empty.config.rules).toEqual([]);
    const absent = loadConfigFile(write('norules-key.yaml', 'sources:\n  - type: mqtt\n    id: plant\n'), {});
    expect(absent.config.rules).toEqual([]);
  });

  it('refuses a reference in any id, before resolving it (the value would show wherever ids are shown)', () => {
    const file = write('id-reference.yaml', valid.replace('id: local', 'id: k-${env:AWS_SECRET}').replace('  - id: temp_hum', '  - id: r${env:AWS_SECRET}').replace('      - connector: local', '      - connector: local\n        id: a${file:/etc/hostname}'));
    const env = { AWS_SECRET: 'super-secret-value' };
    expect(() => loadConfigFile(file, env)).toThrow(ConfigFileError);
    let message = '';
    try {
      loadConfigFile(file, env);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`${file}:8:9: connectors[0].id: ids cannot hold references`);
    expect(message).toContain('rules[0].id: ids cannot hold references');
    expect(message).toContain('rules[0].actions[0].id: ids cannot hold references');
    expect(message).not.toContain('super-secret-value');
  });

  it('says which file it cannot read', () => {
    expect(() => loadConfigFile(join(dir, 'absent.yaml'), {})).toThrow('cannot read');
  });
});

describe(parsePath.name, () => {
  it.each([
    ['rules[2].actions[0].topic', ['rules', 2, 'actions', 0, 'topic']],
    ['sources[0]', ['sources', 0]],
    ['http.port', ['http', 'port']],
  ])('%s', (path, expected) => {
    expect(parsePath(path)).toEqual(expected);
  });
});

describe('the sql section', () => {
  it('passes the limits that are set to the rule engine, and leaves the others at their defaults', () => {
    const loaded = loadConfigFile(write('sql-limits.yaml', `${valid}sql:\n  limits:\n    maxStringSize: 65536\n`), {});
    expect(loaded.config.sql).toEqual({ limits: { maxStringSize: 65536 } });
    const engine = new SqlRuleEngine(sqlEngineOptions(loaded.config));
    const rule = engine.compileRule('SELECT pad(payload.s, payload.n) AS p FROM "t"');
    expect(rule.evaluate({ topic: 't', payload: '{"s":"a","n":65536}' })[0]?.['p']).toHaveLength(65536);
    expect(() => rule.evaluate({ topic: 't', payload: '{"s":"a","n":65537}' })).toThrow(/maxStringSize/);
  });

  it('passes the rule-text limits to the parser', () => {
    const loaded = loadConfigFile(write('sql-parse-limits.yaml', `${valid}sql:\n  limits:\n    maxRuleLength: 64\n`), {});
    const engine = new SqlRuleEngine(sqlEngineOptions(loaded.config));
    expect(() => engine.compileRule(`SELECT payload.a AS a FROM "t" WHERE ${'1 = 1 AND '.repeat(5)}true`)).toThrow(/maxRuleLength|longer than/);
    expect(engine.compileRule('SELECT payload.a AS a FROM "t"').topics).toEqual(['t']);
  });

  it('refuses a limit that is not a positive integer, naming its path', () => {
    const file = write('sql-bad.yaml', `${valid}sql:\n  limits:\n    maxListLength: 0\n`);
    expect(() => loadConfigFile(file, {})).toThrow(/sql\.limits\.maxListLength/);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, connectorModule, sourceModule, type Integration, type Logger } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { loadConfigFile } from './config-file';
import { ConfigReloader, watchConfigFile } from './reload';

class UpdatableSource extends InMemorySource {
  async updateFilters(filters: readonly string[]): Promise<void> {
    this.filters = filters;
  }
}

function captureLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => lines.push(`INFO ${message} ${JSON.stringify(fields ?? {})}`),
    warn: (message, fields) => lines.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
    error: (message, fields) => lines.push(`ERROR ${message} ${JSON.stringify(fields ?? {})}`),
    child: () => logger,
  };
  return logger;
}

/** The config file: an MQTT source and a Kafka connector (validated, never connected: the running parts are in-memory ones with the same ids). */
const config = (rules: string, connector = '127.0.0.1:19092', sourceExtra = ''): string => `sources:
  - type: mqtt
    id: plant
    url: mqtt://127.0.0.1:1883${sourceExtra}
connectors:
  - type: kafka
    id: store
    bootstrapHosts: [${connector}]
rules:
${rules}`;

const RULE_A = `  - id: a
    sql: SELECT payload.v as v FROM "a/#"
    actions:
      - connector: store
        template: a=\${v}
`;

describe(ConfigReloader.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-reload-'));
  let file: string;
  let app: Integration;
  let source: UpdatableSource;
  let connector: InMemoryConnector;
  let logs: string[];
  let reloader: ConfigReloader;

  beforeEach(async () => {
    file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, config(RULE_A));
    const loaded = loadConfigFile(file, {});
    source = new UpdatableSource('plant');
    connector = new InMemoryConnector('store');
    app = await createIntegration({ modules: [sourceModule(source), connectorModule(connector), sqlModule()], rules: loaded.config.rules });
    await app.start();
    logs = [];
    reloader = new ConfigReloader(file, {}, app, loaded, captureLogger(logs));
  });

  afterEach(async () => {
    await app.stop();
  });

  it('adds, replaces and removes rules to match the file, and logs one line', async () => {
    writeFileSync(file, config(`${RULE_A.replace('a=', 'A=')}  - id: b
    sql: SELECT * FROM "b"
`));
    const outcome = await reloader.reload('test');
    expect(outcome).toEqual({ applied: true, rules: { added: ['b'], replaced: ['a'], removed: [], restartNeeded: [] }, needsRestart: [] });
    expect(logs).toEqual(['INFO reload applied {"trigger":"test","added":["b"],"replaced":["a"],"removed":[]}']);
    await source.push('a/1', '{"v": 1}').settled;
    expect(connector.records.map((r) => r.rendered)).toEqual(['A=1']);
    expect([...source.filters].sort()).toEqual(['a/#', 'b']);

    writeFileSync(file, config(`  - id: b
    sql: SELECT * FROM "b"
`));
    await expect(reloader.reload('test')).resolves.toMatchObject({ applied: true, rules: { added: [], replaced: [], removed: ['a'] } });
    expect(app.rules().map((r) => r.id)).toEqual(['b']);
  });

  it('changes nothing when the file did not change', async () => {
    await expect(reloader.reload('test')).resolves.toEqual({ applied: true, rules: { added: [], replaced: [], removed: [], restartNeeded: [] }, needsRestart: [] });
  });

  it('refuses a file with a rule that does not compile, pointing at its line, and keeps the running rules', async () => {
    writeFileSync(file, config(`${RULE_A}  - id: b
    sql: SELECT FROM "b"
`));
    const outcome = await reloader.reload('SIGHUP');
    expect(outcome.applied).toBe(false);
    expect(outcome.applied === false && outcome.error).toContain(`${file}:16:10: rules[1].sql: rule "b":`);
    expect(logs[0]).toMatch(/^ERROR reload refused; the running configuration stays \{"trigger":"SIGHUP","error":"invalid configuration/);
    expect(app.rules().map((r) => r.id)).toEqual(['a']);
    await source.push('a/1', '{"v": 2}').settled;
    expect(connector.records.map((r) => r.rendered)).toEqual(['a=2']);
  });

  it('refuses broken YAML, unknown keys and bad source options', async () => {
    writeFileSync(file, 'sources:\n  - type: mqtt\n   id: x\n');
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: false, error: expect.stringContaining(`${file}:3:1: Sequence item without - indicator`) });
    writeFileSync(file, config(RULE_A.replace('actions:', 'actoins:')));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: false, error: expect.stringContaining('Unrecognized key: "actoins"') });
    writeFileSync(file, config(RULE_A, '127.0.0.1:19092', '\n    qos: 7'));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: false, error: expect.stringContaining('sources[0].qos') });
    expect(app.ruleDefinition('a')).toMatchObject({ actions: [{ template: 'a=${v}' }] });
  });

  it('applies rule changes and reports a changed connector or source as needing a restart', async () => {
    writeFileSync(file, config(RULE_A.replace('a=', 'A='), '127.0.0.1:29092', '\n    qos: 0'));
    const outcome = await reloader.reload('t');
    expect(outcome).toMatchObject({ applied: true, rules: { replaced: ['a'] }, needsRestart: ['connectors[store]', 'sources[plant]'] });
    expect(logs[1]).toBe('WARN reload: these settings changed and take effect only after a restart {"settings":["connectors[store]","sources[plant]"]}');
  });

  it('reports a changed plugins: list as needing a restart (plugin code loads once per process)', async () => {
    const plugin = join(__dirname, '../test/fixtures/plugins/file-lines.js');
    writeFileSync(file, `plugins: [${JSON.stringify(plugin)}]\n${config(RULE_A)}`);
    const outcome = await reloader.reload('t');
    expect(outcome).toMatchObject({ applied: true, needsRestart: ['plugins'] });
  });

  it('adds the secrets a reload resolves to the set the logger scrubs', async () => {
    const secrets = new Set<string>();
    const withSecret = new ConfigReloader(file, { KAFKA_PASSWORD: 'hunter2-rotated' }, app, loadConfigFile(file, {}), captureLogger(logs), secrets);
    writeFileSync(file, config(RULE_A).replace('bootstrapHosts', 'authentication: { mechanism: plain, username: u, password: "${env:KAFKA_PASSWORD}" }\n    bootstrapHosts'));
    await withSecret.reload('t');
    expect([...secrets]).toEqual(['hunter2-rotated']);
    expect(logs.join('\n')).not.toContain('hunter2');
  });
});

describe(watchConfigFile.name, () => {
  it('calls back when the file is rewritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-watch-'));
    const file = join(dir, 'sluice.yaml');
    writeFileSync(file, 'a: 1\n');
    let watcher: { close(): void } | undefined;
    const changed = new Promise<void>((resolve) => (watcher = watchConfigFile(file, resolve, 10)));
    writeFileSync(file, 'a: 2\n');
    await changed;
    watcher?.close();
  });
});

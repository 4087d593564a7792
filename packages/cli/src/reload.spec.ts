import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, connectorModule, silentLogger, sourceModule, type Integration, type Logger } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { composeFromConfig } from './compose';
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

const NONE = { added: [], replaced: [], removed: [] };

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
    expect(outcome).toEqual({ applied: true, rules: { added: ['b'], replaced: ['a'], removed: [], restartNeeded: [] }, connectors: NONE, sources: NONE, needsRestart: [] });
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
    await expect(reloader.reload('test')).resolves.toEqual({ applied: true, rules: { added: [], replaced: [], removed: [], restartNeeded: [] }, connectors: NONE, sources: NONE, needsRestart: [] });
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

  it('applies rule changes and reports changed runner settings as needing a restart', async () => {
    writeFileSync(file, `node: sluice@elsewhere\nstopTimeoutMs: 5\n${config(RULE_A.replace('a=', 'A='))}`);
    const outcome = await reloader.reload('t');
    expect(outcome).toMatchObject({ applied: true, rules: { replaced: ['a'] }, connectors: NONE, sources: NONE, needsRestart: ['node', 'stopTimeoutMs'] });
    expect(logs[1]).toBe('WARN reload: these settings changed and take effect only after a restart {"settings":["node","stopTimeoutMs"]}');
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
    // a rule's secret (a connector's would be installed: this spec's connectors are in-memory ones)
    writeFileSync(file, config(RULE_A.replace('template: a=', 'template: a=${env:KAFKA_PASSWORD}')));
    await withSecret.reload('t');
    expect([...secrets]).toEqual(['hunter2-rotated']);
    expect(logs.join('\n')).not.toContain('hunter2');
  });
});

/** The memory plugin (test/fixtures/plugins/memory.js): sources and connectors built from config entries, kept for the spec. */
interface MemoryPlugin {
  readonly instances: { readonly sources: Map<string, InMemorySource & { label?: string }>; readonly connectors: Map<string, InMemoryConnector & { config: { label: string } }> };
  readonly faults: { readonly sourceStart: Set<string> };
}
const MEMORY_PLUGIN = join(__dirname, '../test/fixtures/plugins/memory.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the fixture is plain CommonJS, as a plugin is
const memory = require(MEMORY_PLUGIN) as MemoryPlugin;

describe(`${ConfigReloader.name} with run-time sources and connectors`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-reload-components-'));
  let file: string;
  let app: Integration;
  let logs: string[];
  let reloader: ConfigReloader;

  const entries = (list: ReadonlyArray<Record<string, string>>): string => list.map((entry) => `  - ${Object.entries(entry).map(([k, v]) => `${k}: ${v}`).join('\n    ')}\n`).join('');
  const memoryConfig = (parts: { sources?: Array<Record<string, string>>; connectors?: Array<Record<string, string>>; rules: string }): string =>
    `plugins: [${JSON.stringify(MEMORY_PLUGIN)}]\nsources:\n${entries(parts.sources ?? [{ type: 'memory', id: 'plant' }])}connectors:\n${entries(parts.connectors ?? [{ type: 'memory', id: 'store' }])}rules:\n${parts.rules}`;
  const rule = (id: string, topic: string, connector: string, extra = ''): string => `  - id: ${id}\n    sql: SELECT payload.v as v FROM "${topic}"\n    actions:\n      - connector: ${connector}\n        template: ${id}=\${v}${extra}\n`;
  const source = (id: string): InMemorySource & { label?: string } => memory.instances.sources.get(id) as InMemorySource & { label?: string };
  const connector = (id: string): InMemoryConnector => memory.instances.connectors.get(id) as InMemoryConnector;

  beforeEach(async () => {
    file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, memoryConfig({ rules: rule('a', 'a/#', 'store') }));
    const loaded = loadConfigFile(file, {});
    app = await composeFromConfig(loaded, silentLogger);
    await app.start();
    logs = [];
    reloader = new ConfigReloader(file, {}, app, loaded, captureLogger(logs));
  });

  afterEach(async () => {
    await app.stop();
  });

  it('replaces a changed connector without a restart: its rules send through the new one', async () => {
    const old = connector('store');
    writeFileSync(file, memoryConfig({ connectors: [{ type: 'memory', id: 'store', label: 'v2' }], rules: rule('a', 'a/#', 'store') }));
    const outcome = await reloader.reload('t');
    expect(outcome).toEqual({ applied: true, rules: { added: [], replaced: [], removed: [], restartNeeded: [] }, connectors: { ...NONE, replaced: ['store'] }, sources: NONE, needsRestart: [] });
    expect(connector('store')).not.toBe(old);
    await source('plant').push('a/1', '{"v": 1}').settled;
    expect(connector('store').records.map((r) => r.rendered)).toEqual(['a=1']);
    expect(old.records).toEqual([]);
    expect(logs[0]).toBe('INFO reload applied {"trigger":"t","added":[],"replaced":[],"removed":[],"connectors":{"added":[],"replaced":["store"],"removed":[]}}');
  });

  it('adds a connector before the rule that uses it, and removes one after the rule that used it', async () => {
    writeFileSync(file, memoryConfig({ connectors: [{ type: 'memory', id: 'store' }, { type: 'memory', id: 'archive' }], rules: rule('a', 'a/#', 'store') + rule('b', 'b', 'archive') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: true, rules: { added: ['b'] }, connectors: { ...NONE, added: ['archive'] } });
    expect(app.connectorIds()).toEqual(['store', 'archive']);
    await source('plant').push('b', '{"v": 2}').settled;
    expect(connector('archive').records.map((r) => r.rendered)).toEqual(['b=2']);

    writeFileSync(file, memoryConfig({ rules: rule('a', 'a/#', 'store') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: true, rules: { removed: ['b'] }, connectors: { ...NONE, removed: ['archive'] } });
    expect(app.connectorIds()).toEqual(['store']);
  });

  it('adds, replaces and removes sources', async () => {
    const old = source('plant');
    writeFileSync(file, memoryConfig({ sources: [{ type: 'memory', id: 'plant', label: 'v2' }, { type: 'memory', id: 'yard' }], rules: rule('a', 'a/#', 'store') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: true, sources: { added: ['yard'], replaced: ['plant'], removed: [] }, needsRestart: [] });
    expect(source('plant')).not.toBe(old);
    expect(app.sourceIds()).toEqual(['plant', 'yard']);
    await source('yard').push('a/2', '{"v": 3}').settled;
    expect(connector('store').records.map((r) => r.rendered)).toEqual(['a=3']);

    writeFileSync(file, memoryConfig({ sources: [{ type: 'memory', id: 'yard' }], rules: rule('a', 'a/#', 'store') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: true, sources: { ...NONE, removed: ['plant'] } });
    expect(app.sourceIds()).toEqual(['yard']);
  });

  it('takes back a connector it added when the rules are refused, and keeps the running ones', async () => {
    const running = connector('store');
    writeFileSync(file, memoryConfig({ connectors: [{ type: 'memory', id: 'store', label: 'v2' }, { type: 'memory', id: 'archive' }], rules: rule('a', 'a/#', 'store') + rule('b', 'b', 'archive', '\n        nope: 1') }));
    const outcome = await reloader.reload('t');
    expect(outcome).toMatchObject({ applied: false, error: expect.stringContaining('rules[1].actions[0]') });
    expect(app.connectorIds()).toEqual(['store']);
    expect(app.rules().map((r) => r.id)).toEqual(['a']);
    await source('plant').push('a/1', '{"v": 4}').settled;
    // the refused file's store was built (and refused with its rules in one step): the running one never left
    expect(running.records.map((r) => r.rendered)).toEqual(['a=4']);
    expect(logs.filter((line) => line.startsWith('ERROR'))).toEqual([expect.stringMatching(/^ERROR reload refused; the running configuration stays/)]);

    // what was taken back is applied by the next reload of a good file
    writeFileSync(file, memoryConfig({ connectors: [{ type: 'memory', id: 'store', label: 'v2' }, { type: 'memory', id: 'archive' }], rules: rule('a', 'a/#', 'store') + rule('b', 'b', 'archive') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: true, connectors: { added: ['archive'], replaced: ['store'], removed: [] } });
  });

  it('accepts a connector change that needs matching action changes in the same edit (rules built against the new connector)', async () => {
    // like a Kafka connector made idempotent, whose actions must then say requiredAcks: all
    const strict = { type: 'memory', id: 'store', actionsNeed: 'acks-all' };
    writeFileSync(file, memoryConfig({ connectors: [strict], rules: rule('a', 'a/#', 'store').replace('template: a=', 'template: acks-all a=') }));
    const outcome = await reloader.reload('t');
    expect(outcome).toEqual({ applied: true, rules: { added: [], replaced: ['a'], removed: [], restartNeeded: [] }, connectors: { ...NONE, replaced: ['store'] }, sources: NONE, needsRestart: [] });
    await source('plant').push('a/1', '{"v": 1}').settled;
    expect(connector('store').records.map((r) => r.rendered)).toEqual(['acks-all a=1']);

    // and back again in one edit: the old connector with the old action settings
    writeFileSync(file, memoryConfig({ rules: rule('a', 'a/#', 'store') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: true, rules: { replaced: ['a'] }, connectors: { ...NONE, replaced: ['store'] } });
    // the strict connector alone refuses the running action, as it should
    writeFileSync(file, memoryConfig({ connectors: [strict], rules: rule('a', 'a/#', 'store') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: false, error: expect.stringContaining('rules[0].actions[0].template') });
  });

  it('when taking back a refused change fails too, the next reload applies the entry again (e.g. after the API restores the file)', async () => {
    const original = memoryConfig({ rules: rule('a', 'a/#', 'store') });
    const store = connector('store'); // the refused file builds another, which never runs
    // the source changes, then the connector cannot start: the old source is put back, and that fails too
    writeFileSync(file, memoryConfig({ sources: [{ type: 'memory', id: 'plant', label: 'v2' }], connectors: [{ type: 'memory', id: 'store', failStart: 'true' }], rules: rule('a', 'a/#', 'store') }));
    memory.faults.sourceStart.add('memory');
    try {
      await expect(reloader.reload('api')).resolves.toMatchObject({ applied: false, error: expect.stringContaining('refused to start (failStart)') });
    } finally {
      memory.faults.sourceStart.delete('memory');
    }
    expect(logs).toContainEqual(expect.stringMatching(/^ERROR reload: taking back a step of the refused change failed; .*"section":"sources","ids":\["plant"\],"error":"memory source \\"plant\\" \(memory\) refused to start"/));

    // the file as it was (the API restores it byte for byte): the source is applied again
    writeFileSync(file, original);
    await expect(reloader.reload('api')).resolves.toMatchObject({ applied: true, sources: { ...NONE, replaced: ['plant'] } });
    expect(source('plant').label).toBe('memory');
    expect(source('plant').started).toBe(true);
    await source('plant').push('a/1', '{"v": 5}').settled;
    expect(store.records.map((r) => r.rendered)).toEqual(['a=5']);
  });

  it('refuses a rule that does not compile before any connector or source is touched', async () => {
    const [oldSource, oldConnector] = [source('plant'), connector('store')];
    writeFileSync(file, memoryConfig({ sources: [{ type: 'memory', id: 'plant', label: 'v2' }], connectors: [{ type: 'memory', id: 'store', label: 'v2' }], rules: rule('a', 'a/#', 'store').replace('SELECT payload.v as v', 'SELECT FROM') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: false, error: expect.stringContaining('rules[0].sql: rule "a":') });
    expect(source('plant')).toBe(oldSource);
    expect(connector('store')).toBe(oldConnector);
  });

  it('refuses to remove a connector a rule still uses (the file is invalid), changing nothing', async () => {
    writeFileSync(file, memoryConfig({ connectors: [{ type: 'memory', id: 'other' }], rules: rule('a', 'a/#', 'store') }));
    await expect(reloader.reload('t')).resolves.toMatchObject({ applied: false, error: expect.stringContaining('no connector has the id "store"') });
    expect(app.connectorIds()).toEqual(['store']);
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

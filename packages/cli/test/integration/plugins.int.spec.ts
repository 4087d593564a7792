// Third-party plugins through config files, as a user runs them: `sluice validate`, `sluice schema` and
// `sluice run` as child processes (the built CLI), loading plain CommonJS plugins from
// test/fixtures/plugins by a path relative to the config file, against the real Mosquitto.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from '@jest/globals';
import { mqttUrl, publish, randomName } from '@sluice/testkit';

const BIN = resolve(__dirname, '../../dist/bin.js');
const FIXTURES = resolve(__dirname, '../fixtures/plugins');
const dir = mkdtempSync(join(tmpdir(), 'sluice-plugins-'));

/** A `plugins:` entry for a fixture, relative to the config file (so the loader must resolve from there). */
const fixture = (name: string): string => {
  const path = relative(dir, join(FIXTURES, name));
  return path.startsWith('.') ? path : `./${path}`;
};

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const sluice = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

/** A config with the file-lines plugin: an MQTT source, one file-lines connector, one rule. */
function fileLinesConfig(topic: string, out: string, extra = ''): string {
  return `# loads a plugin from a path relative to this file
plugins:
  - ${fixture('file-lines.js')}${extra}
sources:
  - type: mqtt
    id: plant
    url: ${mqttUrl()}
    clientId: ${randomName('plugins')}
    session: { persistent: false }
connectors:
  - type: file-lines
    id: lines
    file: ${out}
rules:
  - id: temp
    sql: 'SELECT payload.temp as temp, topic FROM "${topic}"'
    actions:
      - connector: lines
        line: '\${topic}=\${temp}'
http: { enabled: false }
log: { format: json }
`;
}

describe('plugins: in config files (the built CLI, real Mosquitto)', () => {
  it('sluice validate accepts a config whose connector type comes from a plugin', () => {
    const file = writeConfig('valid.yaml', fileLinesConfig('plugins/valid', join(dir, 'valid.out')));
    const result = sluice('validate', '-c', file);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('is valid: 1 source(s), 1 connector(s), 1 rule(s), 1 action(s)');
  });

  it('the plugin validates its own settings: a missing key is reported at its path in the file', () => {
    const file = writeConfig('missing-key.yaml', fileLinesConfig('plugins/bad', join(dir, 'x.out')).replace(/\n    file: .*\n/, '\n'));
    const result = sluice('validate', '-c', file);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/missing-key\.yaml:\d+:\d+: connectors\[0\](\.file)?: /);
    expect(result.stderr).toContain('file-lines');
  });

  it.each([
    ['does-not-exist.js', /plugins\[1\]: cannot find plugin ".*does-not-exist\.js": the path is taken relative to the config file's directory/],
    ['old-core.js', /plugins\[1\]: ".*old-core\.js": plugin "sluice-from-the-future" is built for @sluice\/core \^9\.0\.0, but this is @sluice\/core 0\.1\.0: install a version of the plugin made for it/],
    ['claims-kafka.js', /plugins\[1\]: ".*claims-kafka\.js": plugin "kafka-lookalike" declares the connector type "kafka", which plugin "@sluice\/kafka" already provides/],
    ['throws-on-load.js', /plugins\[1\]: plugin ".*throws-on-load\.js" failed while loading \(TypeError: cannot read the native binding\)/],
    ['not-a-plugin.js', /plugins\[1\]: ".*not-a-plugin\.js" exports no plugin: export `plugin` \(or a default export\) made with definePlugin/],
  ])('a plugins: entry %s is refused with what is wrong and where', (name, message) => {
    const file = writeConfig(`refused-${name}.yaml`, fileLinesConfig('plugins/refused', join(dir, 'refused.out'), `\n  - ${fixture(name)}`));
    const result = sluice('validate', '-c', file);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    // the line of the entry in the file, not just its path
    expect(result.stderr).toMatch(new RegExp(`refused-${name.replace('.', '\\.')}\\.yaml:4:\\d+: plugins\\[1\\]`));
  });

  it('a package name that is not installed says how to install it', () => {
    const file = writeConfig('not-installed.yaml', fileLinesConfig('plugins/x', join(dir, 'x.out'), '\n  - "@acme/sluice-webhook"'));
    const result = sluice('validate', '-c', file);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('plugins[1]: cannot find plugin "@acme/sluice-webhook": install it next to the config file (npm install @acme/sluice-webhook)');
  });

  it('a type no plugin provides names the known ones and points at plugins:', () => {
    const file = writeConfig('unknown-type.yaml', fileLinesConfig('plugins/x', join(dir, 'x.out')).replace(/plugins:\n  - .*\n/, ''));
    const result = sluice('validate', '-c', file);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('connectors[0].type: unknown connector type "file-lines" (known: kafka, mqtt); a connector of another plugin needs its package under `plugins:`');
  });

  it('sluice schema -c includes the plugin\'s connector and action settings, with their descriptions', () => {
    const file = writeConfig('schema.yaml', fileLinesConfig('plugins/schema', join(dir, 'schema.out')));
    const result = sluice('schema', '-c', file);
    expect(result.status).toBe(0);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, { items: { oneOf?: Array<Record<string, any>>; properties?: Record<string, any> } }> };
    const variants = schema.properties['connectors']?.items.oneOf ?? [];
    expect(variants.map((v) => v['properties']?.type?.const)).toEqual(['kafka', 'mqtt', 'file-lines']);
    const fileLines = variants[2] as { properties: Record<string, { description?: string; examples?: unknown[] }>; required: string[] };
    expect(fileLines.properties['file']).toMatchObject({ description: 'File the lines are appended to.', examples: ['/var/log/sluice/out.jsonl'] });
    expect(fileLines.required).toEqual(['type', 'id', 'file']);
    const actions = (schema.properties['rules']?.items.properties?.['actions'] as { items: { anyOf: Array<{ title: string; properties: Record<string, { description?: string }> }> } }).items.anyOf;
    expect(actions.find((a) => a.title === 'file-lines')?.properties['line']?.description).toBe('Template of the line written per output.');
    // without the config, only the built-in types
    const builtIn = JSON.parse(sluice('schema').stdout) as typeof schema;
    expect((builtIn.properties['connectors']?.items.oneOf ?? []).map((v) => v['properties']?.type?.const)).toEqual(['kafka', 'mqtt']);
  });

  it('sluice run writes through the plugin\'s connector: messages from Mosquitto end up in its file', async () => {
    const topic = randomName('plugins/run');
    const out = join(dir, 'run.out');
    const file = writeConfig('run.yaml', fileLinesConfig(topic, out));
    const child = spawn(process.execPath, [BIN, 'run', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    const log: string[] = [];
    const ready = new Promise<void>((resolveReady, reject) => {
      createInterface({ input: child.stderr }).on('line', (line) => {
        log.push(line);
        if (line.includes('"msg":"ready"')) resolveReady();
      });
      child.once('exit', (code) => reject(new Error(`sluice run exited with ${String(code)}: ${log.join('\n')}`)));
    });
    try {
      await ready;
      await publish(mqttUrl(), topic, ['{"temp": 21.5}', '{"temp": 22}', '{"temp": 23.25}'], { qos: 1 });
      const deadline = Date.now() + 15_000;
      while ((!existsSync(out) || readFileSync(out, 'utf8').split('\n').length < 4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(out, 'utf8')).toBe(`${topic}=21.5\n${topic}=22\n${topic}=23.25\n`);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });
});

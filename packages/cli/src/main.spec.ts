import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { CommandIo } from './commands/io';
import { ExitCode } from './exit-codes';
import { main } from './main';

function captured(env: NodeJS.ProcessEnv = {}): CommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), env };
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-main-'));
function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const VALID = `sources:
  - type: mqtt
    id: plant
    url: mqtt://127.0.0.1:1883
connectors:
  - type: kafka
    id: local
    bootstrapHosts: [127.0.0.1:19092]
rules:
  - id: temp_hum
    sql: SELECT payload.temp as temp FROM "temp_hum/emqx"
    actions:
      - connector: local
        topic: emqx
`;

describe(main.name, () => {
  describe('--help', () => {
    it.each([
      [['run', '--help'], 'Usage: sluice run -c <config>'],
      [['validate', '--help'], 'Usage: sluice validate -c <config>'],
      [['rule', 'test', '--help'], 'Usage: sluice rule test'],
      [['rule', '--help'], 'Usage: sluice rule test'],
      [['connector', 'test', '--help'], 'Usage: sluice connector test'],
      [['connector', '-h'], 'Usage: sluice connector test'],
      [['demo', '--help'], 'Usage: sluice demo'],
      [['version', '--help'], 'Usage: sluice version'],
      [['--help'], 'Usage: sluice <command>'],
    ])('sluice %j prints its usage and exit codes, exit 0', async (argv, usage) => {
      const io = captured();
      await expect(main(argv, io)).resolves.toBe(ExitCode.ok);
      expect(io.stdout.join('\n')).toContain(usage);
      expect(io.stdout.join('\n')).toMatch(/Exit code/);
    });
  });

  it('exits 2 without a command or with an unknown one', async () => {
    const none = captured();
    await expect(main([], none)).resolves.toBe(ExitCode.invalid);
    const unknown = captured();
    await expect(main(['runn'], unknown)).resolves.toBe(ExitCode.invalid);
    expect(unknown.stderr[0]).toMatch(/^unknown command "runn"/);
  });

  it('exits 2 for a missing -c and an unknown option', async () => {
    const io = captured();
    await expect(main(['run'], io)).resolves.toBe(ExitCode.invalid);
    expect(io.stderr[0]).toMatch(/^-c <config> is required/);
    const bad = captured();
    await expect(main(['validate', '--confg', 'x'], bad)).resolves.toBe(ExitCode.invalid);
    expect(bad.stderr[0]).toContain("Unknown option '--confg'");
  });

  it('run and validate: exit 2 with the line when cluster.connector names no Kafka connector (before any connection)', async () => {
    const file = write('cluster-bad.yaml', `${VALID}\ncluster:\n  name: plant\n  connector: kafka-main\nlog:\n  level: error\n`);
    const io = captured();
    await expect(main(['run', '-c', file, '--no-http', '--log-format', 'json'], io)).resolves.toBe(ExitCode.invalid);
    expect(io.stderr.join('\n')).toMatch(/cluster-bad\.yaml:\d+:\d+: cluster\.connector: names "kafka-main", which is not a type: kafka connector under connectors: \(kafka connectors: local\)/);
    const validate = captured();
    await expect(main(['validate', '-c', file], validate)).resolves.toBe(ExitCode.invalid);
    expect(validate.stderr.join('\n')).toContain('cluster.connector: names "kafka-main"');
  });

  it('validate: exit 0 with a summary for a valid file', async () => {
    const io = captured();
    const file = write('ok.yaml', VALID);
    await expect(main(['validate', '-c', file], io)).resolves.toBe(ExitCode.ok);
    expect(io.stdout).toEqual([`${file} is valid: 1 source(s), 1 connector(s), 1 rule(s), 1 action(s)`]);
  });

  it.each([
    ['a typo in a key', VALID.replace('    actions:', '    actoins:'), ':10:5: rules[0]: Unrecognized key: "actoins"'],
    ['an unknown source type', VALID.replace('type: mqtt', 'type: mqqt'), ':2:11: sources[0].type: unknown source type "mqqt" (known: mqtt, mqtt-broker)'],
    ['a bad plugin option', VALID.replace('    url: mqtt://127.0.0.1:1883', '    url: mqtt://127.0.0.1:1883\n    qos: 3'), 'sources[0].qos:'],
    ['an unknown connector', VALID.replace('connector: local', 'connector: kafak'), ':13:20: rules[0].actions[0].connector: no connector has the id "kafak" (known: local)'],
    ['a rule that does not parse', VALID.replace('SELECT payload.temp', 'SELEC payload.temp'), ':11:10: rules[0].sql: rule "temp_hum":'],
    ['a missing action topic', VALID.replace('        topic: emqx\n', ''), 'rules[0].actions[0]'],
    ['an unresolved secret', VALID.replace('id: local', 'id: local\n    authentication: { mechanism: plain, username: u, password: "${env:NOPE}" }'), 'environment variable NOPE is not set (referenced as ${env:NOPE})'],
  ])('validate: exit 2 for %s, with file:line:col and path', async (_name, text, message) => {
    const io = captured();
    const file = write(`bad-${Math.random().toString(36).slice(2)}.yaml`, text);
    await expect(main(['validate', '-c', file], io)).resolves.toBe(ExitCode.invalid);
    expect(io.stderr.join('\n')).toContain(message);
  });

  it('rule test: exit 1 for a rule that does not parse, 0 with the outputs', async () => {
    const bad = captured();
    await expect(main(['rule', 'test', '--sql', 'SELECT FROM', '--topic', 't'], bad)).resolves.toBe(ExitCode.failed);
    const ok = captured();
    await expect(main(['rule', 'test', '--sql', 'SELECT payload.a as a FROM "t"', '--topic', 't', '--payload', '{"a": 1}'], ok)).resolves.toBe(ExitCode.ok);
    expect(ok.stdout.join('\n')).toContain('[{"a":1}]');
  });

  it('version prints the package version', async () => {
    const io = captured();
    await expect(main(['version'], io)).resolves.toBe(ExitCode.ok);
    expect(io.stdout).toEqual([JSON.parse(readFileSync(resolve(__dirname, '../package.json'), 'utf8')).version]);
  });

  it('docs/cli.md lists exactly the exit codes the code uses', () => {
    const doc = readFileSync(resolve(__dirname, '../../../docs/cli.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Exit codes'), doc.indexOf('##', doc.indexOf('## Exit codes') + 3));
    const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual(Object.values(ExitCode));
  });
});

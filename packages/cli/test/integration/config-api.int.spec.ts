// `sluice run` as a child process against the real Mosquitto and Kafka: a Kafka connector and a rule
// created through the REST API are written into the config file (its comments kept), survive a SIGHUP and
// a restart, and a connector or source replaced through the API keeps the records flowing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, topicRecordCount } from '@sluice/testkit';

const BIN = resolve(__dirname, '../../dist/bin.js');
const TOKEN = 'config-api-int-token';

interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A running `sluice run`, with its JSON log lines as they arrive. */
class Runner {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => !(w.match(line) && (w.resolve(line), true)));
    });
    this.exited = new Promise((whenExited) => child.once('exit', (code) => whenExited(code)));
  }

  /** The first log line (already seen or still to come, from line `after` on) with this message. */
  next(msg: string, after = 0): Promise<LogLine> {
    const seen = this.lines.slice(after).find((l) => l.msg === msg);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolveLine) => this.waiters.push({ match: (l) => l.msg === msg, resolve: resolveLine }));
  }
}

describe('sluice run: what the REST API changes persists (child process, real Mosquitto and Kafka)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-api-'));
  let seedTopic: string;
  let apiTopic: string;
  let mqttTopic: string;
  let file: string;
  let runner: Runner | undefined;

  /** A config as a person writes it: comments on entries, between sections and at the end. */
  const config = (): string => `# Sluice at the plant: edited by hand and through the console.
sources:
  - type: mqtt   # the plant broker
    id: plant
    url: ${mqttUrl()}
    clientId: ${randomName('sluice-config-api')}
    protocolVersion: 5
    session: { persistent: false }

# where records go
connectors:
  - type: kafka
    id: kafka   # the main cluster
    bootstrapHosts: [${kafkaBroker().bootstrap}]

rules:
  # the seed rule, written by hand
  - id: seed
    sql: SELECT payload.n as n FROM "${randomName('seed')}/n"
    actions:
      - connector: kafka
        topic: ${seedTopic}
http:
  port: 0
  token: \${env:CONFIG_API_TOKEN}
log:
  format: json   # for the collector
`;

  beforeEach(async () => {
    seedTopic = randomName('config-api-seed');
    apiTopic = randomName('config-api');
    mqttTopic = `${randomName('numbers')}/n`;
    file = join(dir, `${apiTopic}.yaml`);
    await createTopic(seedTopic, 1);
    await createTopic(apiTopic, 3);
  });

  afterEach(async () => {
    if (runner !== undefined && runner.child.exitCode === null) {
      runner.child.kill('SIGKILL');
      await runner.exited;
    }
    runner = undefined;
    await deleteTopic(seedTopic);
    await deleteTopic(apiTopic);
  });

  async function start(): Promise<{ runner: Runner; api: string }> {
    const child = spawn(process.execPath, [BIN, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONFIG_API_TOKEN: TOKEN } });
    runner = new Runner(child);
    const listening = await Promise.race([runner.next('http endpoint listening'), runner.exited.then((code) => { throw new Error(`sluice run exited with ${String(code)}: ${JSON.stringify(runner?.lines)}`); })]);
    await runner.next('ready');
    return { runner, api: String(listening['url']) };
  }

  async function call(api: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function actionSuccess(api: string, id: string): Promise<number> {
    return ((await call(api, 'GET', `/api/actions/${encodeURIComponent(id)}`)).body as { metrics: { success: number } }).metrics.success;
  }

  async function until(condition: () => Promise<boolean>): Promise<void> {
    while (!(await condition())) await new Promise((r) => setTimeout(r, 100));
  }

  const numbers = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => JSON.stringify({ n: from + i }));
  const mqttOptions = { qos: 1 as const, protocolVersion: 5 as const };

  it('a connector and a rule created through the API survive a SIGHUP and a restart; a replaced connector keeps records flowing; the comments stay', async () => {
    writeFileSync(file, config());
    const written = readFileSync(file, 'utf8');
    let { runner, api } = await start();

    // a Kafka connector and a rule that sends through it, created through the API
    const connector = await call(api, 'PUT', '/api/connectors/archive', { type: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap], clientId: 'sluice-archive-1' });
    expect(connector.status).toBe(201);
    expect(connector.body['connector']).toMatchObject({ id: 'archive', type: 'kafka', status: { state: 'connected' } });
    const rule = await call(api, 'PUT', '/api/rules/archived', {
      sql: `SELECT payload.n as n FROM "${mqttTopic}"`,
      actions: [{ connector: 'archive', topic: apiTopic, key: '${n}', value: 'a:${n}' }],
    });
    expect(rule.status).toBe(201);
    await publish(mqttUrl(), mqttTopic, numbers(0, 50), mqttOptions);
    await until(async () => (await actionSuccess(api, 'archived:archive')) >= 50);

    // the connector replaced while messages arrive: none is lost or written twice
    const load = publish(mqttUrl(), mqttTopic, numbers(50, 250), mqttOptions);
    const replaced = await call(api, 'PUT', '/api/connectors/archive', { type: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap], clientId: 'sluice-archive-2' });
    expect(replaced.status).toBe(200);
    await load;
    await until(async () => (await actionSuccess(api, 'archived:archive')) >= 250);

    // the file: the hand-written part byte for byte (comments included), the API's entries added
    const stored = readFileSync(file, 'utf8');
    for (const line of ['# Sluice at the plant: edited by hand and through the console.', '  - type: mqtt   # the plant broker', '# where records go', '    id: kafka   # the main cluster', '  # the seed rule, written by hand', '  format: json   # for the collector', '  token: ${env:CONFIG_API_TOKEN}']) {
      expect(stored).toContain(line);
    }
    expect(stored).toContain('    id: archive\n');
    expect(stored).toContain('clientId: sluice-archive-2');
    expect(stored).toContain('  - id: archived\n');

    // SIGHUP: the file is what runs, nothing to change
    let mark = runner.lines.length;
    runner.child.kill('SIGHUP');
    expect(await runner.next('reload applied', mark)).toMatchObject({ added: [], replaced: [], removed: [] });
    expect(runner.lines.slice(mark).map((l) => l.msg)).not.toContain('reload: these settings changed and take effect only after a restart');
    await publish(mqttUrl(), mqttTopic, numbers(250, 260), mqttOptions);
    await until(async () => (await actionSuccess(api, 'archived:archive')) >= 260);

    // a restart: the connector and the rule are loaded from the file
    runner.child.kill('SIGTERM');
    await expect(runner.exited).resolves.toBe(0);
    ({ runner, api } = await start());
    expect(((await call(api, 'GET', '/api/connectors')).body as unknown as Array<{ id: string }>).map((c) => c.id)).toEqual(['kafka', 'archive']);
    expect(((await call(api, 'GET', '/api/rules')).body as unknown as Array<{ id: string }>).map((r) => r.id)).toEqual(['seed', 'archived']);
    await publish(mqttUrl(), mqttTopic, numbers(260, 270), mqttOptions);
    await until(async () => (await actionSuccess(api, 'archived:archive')) >= 10);

    const records = await consumeRecords(apiTopic, 270, 30_000);
    expect(await topicRecordCount(apiTopic)).toBe(270);
    const byKey = new Map(records.map((r) => [Number(r.key), r.value]));
    expect(byKey.size).toBe(270);
    for (let n = 0; n < 270; n++) expect(byKey.get(n)).toBe(`a:${n}`);

    // removed through the API: gone from the file and from what runs, the comments still there
    expect((await call(api, 'DELETE', '/api/rules/archived')).status).toBe(200);
    expect((await call(api, 'DELETE', '/api/connectors/archive')).status).toBe(200);
    expect(readFileSync(file, 'utf8')).toBe(written);
    mark = runner.lines.length;
    runner.child.kill('SIGTERM');
    await expect(runner.exited).resolves.toBe(0);
    expect(runner.lines.slice(mark).map((l) => l.msg)).toContain('stopped');
  });

  it('a source replaced through the API (same MQTT client id, persistent session) loses no message under load', async () => {
    // with a persistent session the broker keeps what it holds for the client id while the sources change
    // hands; what the old one had not acknowledged is delivered again (at least once: duplicates allowed).
    // Without one, a replacement loses what arrives in between, as a restart does.
    writeFileSync(file, config().replace('session: { persistent: false }', 'session: { persistent: true, sessionExpiry: 300 }'));
    const { api } = await start();
    const rule = await call(api, 'PUT', '/api/rules/archived', { sql: `SELECT payload.n as n FROM "${mqttTopic}"`, actions: [{ connector: 'kafka', topic: apiTopic, key: '${n}', value: 'a:${n}' }] });
    expect(rule.status).toBe(201);
    const plant = (await call(api, 'GET', '/api/config')).body['sources'] as Array<Record<string, unknown>>;
    const load = publish(mqttUrl(), mqttTopic, numbers(0, 200), mqttOptions);
    const replaced = await call(api, 'PUT', '/api/sources/plant', { ...plant[0], keepalive: 45 });
    expect(replaced.status).toBe(200);
    await load;
    const keys = new Set<number>();
    const deadline = Date.now() + 30_000; // then the assertion below says which are missing
    while (keys.size < 200 && Date.now() < deadline) {
      const stored = await topicRecordCount(apiTopic);
      for (const record of await consumeRecords(apiTopic, stored, 30_000)) keys.add(Number(record.key));
      if (keys.size < 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect([...keys].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, n) => n));
  });

  it('tests a SASL connector before and after saving it; the typed password goes to a 0600 file and never into an answer, the log or the YAML', async () => {
    writeFileSync(file, config());
    const { runner, api } = await start();
    const { username, password } = kafkaBroker().users.scram256;
    const definition = (secret: string): Record<string, unknown> => ({ type: 'kafka', bootstrapHosts: [kafkaBroker().saslPlaintext], authentication: { mechanism: 'scram-sha-256', username, password: secret } });
    const answers: string[] = [];
    const test = async (path: string, body?: unknown): Promise<{ ok: boolean; stages: Array<{ stage: string; ok: boolean; detail: string }> }> => {
      const answer = await call(api, 'POST', path, body);
      answers.push(JSON.stringify(answer.body));
      expect(answer.status).toBe(200);
      return answer.body as never;
    };

    const wrong = await test('/api/connectors/test', { id: 'secure', ...definition('not-the-password') });
    expect(wrong.ok).toBe(false);
    expect(wrong.stages.find((stage) => !stage.ok)?.stage).toMatch(/sasl/i);
    expect((await test('/api/connectors/test', { id: 'secure', ...definition(password) })).ok).toBe(true);

    const saved = await call(api, 'PUT', '/api/connectors/secure', definition(password));
    answers.push(JSON.stringify(saved.body));
    expect(saved.status).toBe(201);
    expect(saved.body['connector']).toMatchObject({ settings: { authentication: { mechanism: 'scram-sha-256', username, password: '[redacted]' } }, status: { state: 'connected' } });
    // the stored password stands in for [redacted] in an unsaved edit of the same connector
    expect((await test('/api/connectors/test', { id: 'secure', ...definition('[redacted]') })).ok).toBe(true);
    expect((await test('/api/connectors/secure/test')).ok).toBe(true);

    const yaml = readFileSync(file, 'utf8');
    const reference = /password: \$\{file:([^}]+)\}/.exec(yaml)?.[1] as string;
    expect(readFileSync(reference, 'utf8')).toBe(`${password}\n`);
    expect(statSync(reference).mode & 0o777).toBe(0o600);
    answers.push(JSON.stringify((await call(api, 'GET', '/api/config')).body), JSON.stringify((await call(api, 'GET', '/api/overview')).body));
    for (const text of [...answers, yaml, JSON.stringify(runner.lines)]) expect(text).not.toContain(password);
  });
});

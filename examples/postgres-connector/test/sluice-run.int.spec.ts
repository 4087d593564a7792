// The plugin as a user runs it: the built CLI (`sluice run -c`) loads this package through a config file's
// `plugins:` entry, written as a path relative to that file (so the loader must resolve from the config's
// directory), takes messages from the real Mosquitto and INSERTs them into the real PostgreSQL, where they
// are read back. The password reaches the child only through its environment (`${env:NAME}`).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mqttUrl, publish, randomName } from '@sluice/testkit';
import { Client } from 'pg';
import { ensureTestDatabase, type TestDatabase } from '../scripts/ensure-db';

const BIN = resolve(__dirname, '../../../packages/cli/dist/bin.js');
const PACKAGE_DIR = resolve(__dirname, '..');
const PASSWORD_VARIABLE = 'SLUICE_RUN_TEST_PG_PASSWORD';
const ACTION_ID = 'pg_readings';
const READY_TIMEOUT_MS = 30_000;

let db: TestDatabase;
let reader: Client;
let dir: string;
const table = `sluice_run_${randomUUID().replace(/-/g, '')}`;

beforeAll(async () => {
  db = await ensureTestDatabase();
  reader = new Client({ host: db.host, port: db.port, database: db.database, user: db.username, password: db.password });
  await reader.connect();
  await reader.query(`CREATE TABLE ${table} (temp numeric, hum numeric, note text, topic text)`);
  dir = mkdtempSync(join(tmpdir(), 'postgres-plugin-run-'));
});
afterAll(async () => {
  await reader.query(`DROP TABLE IF EXISTS ${table}`);
  await reader.end();
  rmSync(dir, { recursive: true, force: true });
});

/** This package as a `plugins:` entry relative to the config file's directory, never an absolute path. */
function pluginEntry(configDir: string): string {
  const path = relative(configDir, PACKAGE_DIR);
  return path.startsWith('.') ? path : `./${path}`;
}

function writeConfig(topic: string): string {
  const file = join(dir, 'sluice.yaml');
  // JSON strings are YAML strings: the quotes in the rule and the statement need no YAML escaping of our own.
  writeFileSync(file, `plugins:
  - ${JSON.stringify(pluginEntry(dir))}
sources:
  - type: mqtt
    id: plant
    url: ${mqttUrl()}
    clientId: ${randomName('pg-run')}
    session: { persistent: false }
    qos: 1
connectors:
  - type: postgres
    id: warehouse
    server: ${JSON.stringify(db.server)}
    database: ${db.database}
    username: ${db.username}
    password: \${env:${PASSWORD_VARIABLE}}
rules:
  - id: readings
    sql: ${JSON.stringify(`SELECT payload.temp as temp, payload.hum as hum, payload.note as note, topic FROM "${topic}"`)}
    actions:
      - connector: warehouse
        id: ${ACTION_ID}
        sql: ${JSON.stringify(`INSERT INTO ${table}(temp, hum, note, topic) VALUES (\${temp}, \${hum}, \${note}, \${topic})`)}
http: { enabled: true, host: 127.0.0.1, port: 0 }
log: { format: json, level: debug }
`);
  return file;
}

interface RunningSluice {
  readonly child: ChildProcess;
  /** Every line the child wrote, stdout and stderr. */
  readonly output: string[];
  /** Resolves with the HTTP endpoint's URL once the child logged `ready`; rejects if it exits first or takes too long. */
  readonly ready: Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function runSluice(configFile: string, env: NodeJS.ProcessEnv): RunningSluice {
  const child = spawn(process.execPath, [BIN, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  createInterface({ input: child.stdout! }).on('line', (line) => output.push(line));
  const ready = new Promise<string>((resolveReady, reject) => {
    let httpUrl: string | undefined;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      output.push(line);
      const entry = parseLogLine(line);
      if (entry?.['msg'] === 'http endpoint listening') httpUrl = String(entry['url']);
      if (entry?.['msg'] !== 'ready') return;
      if (httpUrl === undefined) reject(new Error(`ready, but no "http endpoint listening" line before it:\n${output.join('\n')}`));
      else resolveReady(httpUrl);
    });
    void exited.then((code) => reject(new Error(`sluice run exited with ${String(code)} before it was ready:\n${output.join('\n')}`)));
    // well inside jest's test timeout, so that the caller's finally still stops the child
    setTimeout(() => reject(new Error(`sluice run not ready after ${READY_TIMEOUT_MS} ms:\n${output.join('\n')}`)), READY_TIMEOUT_MS).unref();
  });
  return {
    child,
    output,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? parsed as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

async function rows(): Promise<Array<Record<string, unknown>>> {
  const result = await reader.query(`SELECT temp::float8 AS temp, hum::float8 AS hum, note, topic FROM ${table} ORDER BY temp`);
  return result.rows;
}

async function waitForRowCount(count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = (await rows()).length;
    if (stored >= count) return;
    if (Date.now() > deadline) throw new Error(`${stored} of ${count} rows in ${table} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of one labelled sample of the Prometheus exposition, or undefined when it is not there. */
function sample(exposition: string, name: string, label: string, value: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`${label}="${value}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('sluice run -c loading the postgres connector through plugins: (built CLI, real Mosquitto and PostgreSQL)', () => {
  it('stores each MQTT message as one row, an SQL-like payload as plain text, and keeps the password out of its output', async () => {
    const topic = randomName('pg-run/readings');
    const configFile = writeConfig(topic);
    expect(readFileSync(configFile, 'utf8')).not.toContain(db.password);
    const hostile = `'); DROP TABLE ${table}; --`;
    const payloads = [
      { temp: 21.5, hum: 40 },
      { temp: 22, hum: 41.25 },
      { temp: 23.75, hum: 42, note: hostile },
      { temp: 24, hum: 43, note: 'ok' },
    ];

    const sluice = runSluice(configFile, { ...process.env, [PASSWORD_VARIABLE]: db.password });
    let exitCode: number | null;
    try {
      const httpUrl = await sluice.ready;
      await publish(mqttUrl(), topic, payloads.map((p) => JSON.stringify(p)), { qos: 1 });
      await waitForRowCount(payloads.length, 15_000);

      const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
      expect(sample(metrics, 'sluice_action_success_total', 'action', ACTION_ID)).toBe(payloads.length);
      expect(sample(metrics, 'sluice_action_failed_total', 'action', ACTION_ID)).toBe(0);
    } finally {
      exitCode = await sluice.stop();
    }

    expect(exitCode).toBe(0);
    // read after the child is gone: nothing can arrive late, so a duplicate would show here
    expect(await rows()).toEqual([
      { temp: 21.5, hum: 40, note: null, topic },
      { temp: 22, hum: 41.25, note: null, topic },
      { temp: 23.75, hum: 42, note: hostile, topic },
      { temp: 24, hum: 43, note: 'ok', topic },
    ]);
    // the plugin's own log lines (it logs where it connected) are among those searched for the password
    expect(sluice.output.some((line) => parseLogLine(line)?.['msg'] === 'connected to PostgreSQL')).toBe(true);
    expect(sluice.output.join('\n')).not.toContain(db.password);
  });
});

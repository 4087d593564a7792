// `sluice run` as a child process against the real Mosquitto and Kafka: hot reload on SIGHUP under load
// (refused when the file is invalid; exact record counts when applied) and a clean SIGTERM drain.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, topicRecordCount } from '@sluice/testkit';

const BIN = resolve(__dirname, '../../dist/bin.js');

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

  /** The first log line (already seen or still to come) with this message. */
  next(msg: string, after = 0): Promise<LogLine> {
    const seen = this.lines.slice(after).find((l) => l.msg === msg);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolveLine) => this.waiters.push({ match: (l) => l.msg === msg, resolve: resolveLine }));
  }
}

describe('sluice run (child process, real Mosquitto and Kafka)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-run-'));
  let kafkaTopic: string;
  let mqttTopic: string;
  let file: string;
  let runner: Runner | undefined;
  /** One per test: a reload replaces a source whose settings changed (and a new client id is a change). */
  let clientId: string;

  const config = (value: string, sql?: string): string => `sources:
  - type: mqtt
    id: plant
    url: ${mqttUrl()}
    clientId: ${clientId}
    protocolVersion: 5
    session: { persistent: false }
connectors:
  - type: kafka
    id: kafka
    bootstrapHosts: [${kafkaBroker().bootstrap}]
rules:
  - id: numbers
    sql: ${sql ?? `SELECT payload.n as n FROM "${mqttTopic}"`}
    actions:
      - connector: kafka
        topic: ${kafkaTopic}
        key: \${n}
        value: '${value}'
http:
  port: 0
log:
  format: json
`;

  beforeEach(async () => {
    kafkaTopic = randomName('run-reload');
    clientId = randomName('sluice-run');
    mqttTopic = `${randomName('numbers')}/n`;
    file = join(dir, `${kafkaTopic}.yaml`);
    await createTopic(kafkaTopic, 3);
  });

  afterEach(async () => {
    if (runner !== undefined && runner.child.exitCode === null) {
      runner.child.kill('SIGKILL');
      await runner.exited;
    }
    runner = undefined;
    await deleteTopic(kafkaTopic);
  });

  async function start(): Promise<{ runner: Runner; api: string }> {
    const child = spawn(process.execPath, [BIN, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    runner = new Runner(child);
    const listening = await Promise.race([runner.next('http endpoint listening'), runner.exited.then((code) => { throw new Error(`sluice run exited with ${String(code)}: ${JSON.stringify(runner?.lines)}`); })]);
    await runner.next('ready');
    return { runner, api: String(listening['url']) };
  }

  const numbers = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => JSON.stringify({ n: from + i }));

  async function actionSuccess(api: string): Promise<number> {
    const action = (await (await fetch(`${api}/api/actions/numbers:kafka`)).json()) as { metrics: { success: number } };
    return action.metrics.success;
  }

  async function until(condition: () => Promise<boolean>): Promise<void> {
    while (!(await condition())) await new Promise((r) => setTimeout(r, 100));
  }

  it('SIGHUP refuses an invalid file and keeps running; a valid one swaps the rule under load, no record lost or duplicated; SIGTERM drains and exits 0', async () => {
    writeFileSync(file, config('v1:${n}'));
    const { runner, api } = await start();
    const mqttOptions = { qos: 1 as const, protocolVersion: 5 as const };

    // an invalid file: refused, logged, the running rule stays
    writeFileSync(file, config('v2:${n}', 'SELECT FROM WHERE'));
    const mark = runner.lines.length;
    runner.child.kill('SIGHUP');
    const refused = await runner.next('reload refused; the running configuration stays', mark);
    expect(String(refused['error'])).toContain('rules[0].sql');

    // phase 1: 100 messages through the original rule
    await publish(mqttUrl(), mqttTopic, numbers(0, 100), mqttOptions);
    await until(async () => (await actionSuccess(api)) >= 100);

    // phase 2: 200 messages while the rule is replaced (the value template changes)
    writeFileSync(file, config('v2:${n}'));
    const beforeReload = runner.lines.length;
    const load = publish(mqttUrl(), mqttTopic, numbers(100, 300), mqttOptions);
    runner.child.kill('SIGHUP');
    const applied = await runner.next('reload applied', beforeReload);
    expect(applied).toMatchObject({ replaced: ['numbers'], added: [], removed: [] });
    await load;

    // phase 3: 100 messages after the reload was applied
    await publish(mqttUrl(), mqttTopic, numbers(300, 400), mqttOptions);
    await until(async () => (await actionSuccess(api)) >= 400);

    const records = await consumeRecords(kafkaTopic, 400, 30_000);
    expect(await topicRecordCount(kafkaTopic)).toBe(400);
    const byKey = new Map(records.map((r) => [Number(r.key), r.value]));
    expect(byKey.size).toBe(400);
    for (let n = 0; n < 400; n++) {
      const value = byKey.get(n);
      if (n < 100) expect(value).toBe(`v1:${n}`);
      else if (n >= 300) expect(value).toBe(`v2:${n}`);
      else expect([`v1:${n}`, `v2:${n}`]).toContain(value);
    }
    const rules = (await (await fetch(`${api}/api/rules`)).json()) as Array<{ id: string; metrics: { matched: number } }>;
    expect(rules).toEqual([expect.objectContaining({ id: 'numbers', metrics: expect.objectContaining({ matched: 400 }) })]);

    runner.child.kill('SIGTERM');
    await expect(runner.exited).resolves.toBe(0);
    expect(runner.lines.map((l) => l.msg)).toContain('stopping: draining in-flight messages');
    expect(runner.lines.map((l) => l.msg)).toContain('stopped');
    expect(runner.lines.map((l) => l.msg)).not.toContain('stop timed out with messages in flight; they stay unacknowledged for the broker to redeliver');
  });

  it('never writes the Kafka password to its log, even when the connection fails with it', async () => {
    const password = `pw-${randomName('secret')}`;
    writeFileSync(file, config('v1:${n}').replace('    bootstrapHosts:', '    authentication: { mechanism: plain, username: nobody, password: "${env:RUN_TEST_PASSWORD}" }\n    bootstrapHosts:'));
    const child = spawn(process.execPath, [BIN, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUN_TEST_PASSWORD: password } });
    runner = new Runner(child);
    const code = await runner.exited;
    expect(code).toBe(3); // the broker has no SASL listener on this port: could not start
    const text = JSON.stringify(runner.lines);
    expect(text).toContain('could not start');
    expect(text).not.toContain(password);
  });
});

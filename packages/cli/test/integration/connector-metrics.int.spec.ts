// `sluice run` as a child process against the real Mosquitto and Kafka: the Kafka action's own metrics
// (retries, queue, produce latency) on GET /metrics, read back by the strict exposition parser and
// checked against the traffic that made them and against the REST API's view of the same action. The
// shared Kafka is healthy and must not be disturbed, so the retry counters are checked at 0 here; their
// mapping with other values is in src/connector-metrics.spec.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, topicRecordCount } from '@sluice/testkit';
import { parseExposition, value, type Family } from '../prometheus-text';

const BIN = resolve(__dirname, '../../dist/bin.js');
const ACTION = 'numbers:kafka';
const MESSAGES = 50;
/** How long the 50 records may take to be acknowledged by Kafka; well inside jest's 60 s test timeout. */
const ACK_WAIT_MS = 30_000;

interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A running `sluice run` with its JSON log lines; `ready` resolves with the HTTP endpoint's URL once it is up and ready. */
function startRunner(file: string): { child: ChildProcess; lines: LogLine[]; exited: Promise<number | null>; ready: Promise<string> } {
  const child = spawn(process.execPath, [BIN, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  const lines: LogLine[] = [];
  const exited = new Promise<number | null>((whenExited) => child.once('exit', (code) => whenExited(code)));
  const ready = new Promise<string>((whenReady, fail) => {
    let url: string | undefined;
    let started = false;
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      if (line.msg === 'http endpoint listening') url = String(line['url']);
      if (line.msg === 'ready') started = true;
      if (started && url !== undefined) whenReady(url);
    });
    void exited.then((code) => fail(new Error(`sluice run exited with ${String(code)}: ${JSON.stringify(lines)}`)));
  });
  return { child, lines, exited, ready };
}

describe('GET /metrics of sluice run exports the Kafka action metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-connector-metrics-'));
  let kafkaTopic: string;
  let runner: ReturnType<typeof startRunner> | undefined;

  beforeEach(async () => {
    kafkaTopic = randomName('connector-metrics');
    await createTopic(kafkaTopic, 1);
  });

  afterEach(async () => {
    if (runner !== undefined && runner.child.exitCode === null) {
      runner.child.kill('SIGKILL');
      await runner.exited;
    }
    runner = undefined;
    await deleteTopic(kafkaTopic);
  });

  it('the Kafka action metrics appear after real traffic with the values the REST API shows', async () => {
    const mqttTopic = `${randomName('numbers')}/n`;
    const file = join(dir, `${kafkaTopic}.yaml`);
    writeFileSync(file, `sources:
  - type: mqtt
    id: plant
    url: ${mqttUrl()}
    clientId: ${randomName('sluice-connector-metrics')}
    protocolVersion: 5
    session: { persistent: false }
connectors:
  - type: kafka
    id: kafka
    bootstrapHosts: [${kafkaBroker().bootstrap}]
rules:
  - id: numbers
    sql: SELECT payload.n as n FROM "${mqttTopic}"
    actions:
      - connector: kafka
        topic: ${kafkaTopic}
        value: '\${n}'
http:
  port: 0
log:
  format: json
`);
    runner = startRunner(file);
    const api = await runner.ready;
    const scrape = async (): Promise<Map<string, Family>> => {
      const res = await fetch(`${api}/metrics`);
      expect(res.status).toBe(200);
      return parseExposition(await res.text());
    };
    const series = (families: Map<string, Family>, name: string, labels = `{action="${ACTION}"}`): number => value(families, name, labels);
    const connectorView = async (): Promise<Record<string, number>> =>
      ((await (await fetch(`${api}/api/actions/${encodeURIComponent(ACTION)}`)).json()) as { metrics: { connector: Record<string, number> } }).metrics.connector;

    // Before any traffic the families are there, at zero.
    const idle = await scrape();
    expect([series(idle, 'sluice_action_retried_total'), series(idle, 'sluice_action_queuing_bytes'), series(idle, 'sluice_action_produce_latency_count_total')]).toEqual([0, 0, 0]);

    // Real traffic: MQTT → rule → Kafka, until every record is acknowledged by Kafka.
    await publish(mqttUrl(), mqttTopic, Array.from({ length: MESSAGES }, (_, n) => JSON.stringify({ n })), { qos: 1, protocolVersion: 5 });
    // Bounded, so a stuck pipeline fails here with the count it reached and the runner's log.
    const deadline = Date.now() + ACK_WAIT_MS;
    let done = await scrape();
    while (series(done, 'sluice_action_success_total') < MESSAGES) {
      if (Date.now() > deadline) {
        throw new Error(`only ${series(done, 'sluice_action_success_total')} of ${MESSAGES} records were acknowledged by Kafka within ${ACK_WAIT_MS / 1000} s `
          + `(sluice_action_success_total{action="${ACTION}"}); sluice run's log: ${JSON.stringify(runner.lines.slice(-20))}`);
      }
      await new Promise((r) => setTimeout(r, 100));
      done = await scrape();
    }
    expect(await topicRecordCount(kafkaTopic)).toBe(MESSAGES);
    const rest = await connectorView(); // read after the scrape; nothing moves any more, so the two views agree

    // Counters with _total, gauges without; the connector's queuing/inflight beside the runtime's own.
    expect(Object.fromEntries(['retried_total', 'retried_success_total', 'retried_failed_total', 'late_reply_total', 'produce_latency_count_total',
      'queuing_bytes', 'connector_queuing', 'connector_inflight', 'produce_latency_seconds'].map((name) => [name, done.get(`sluice_action_${name}`)?.type]))).toEqual({
      retried_total: 'counter', retried_success_total: 'counter', retried_failed_total: 'counter', late_reply_total: 'counter', produce_latency_count_total: 'counter',
      queuing_bytes: 'gauge', connector_queuing: 'gauge', connector_inflight: 'gauge', produce_latency_seconds: 'gauge',
    });
    // A healthy broker: nothing retried; everything stored, so nothing waits.
    expect({
      retried: series(done, 'sluice_action_retried_total'),
      retriedSuccess: series(done, 'sluice_action_retried_success_total'),
      retriedFailed: series(done, 'sluice_action_retried_failed_total'),
      lateReply: series(done, 'sluice_action_late_reply_total'),
      queuingBytes: series(done, 'sluice_action_queuing_bytes'),
      connectorQueuing: series(done, 'sluice_action_connector_queuing'),
      connectorInflight: series(done, 'sluice_action_connector_inflight'),
    }).toEqual({
      retried: rest['retried'], retriedSuccess: rest['retried.success'], retriedFailed: rest['retried.failed'], lateReply: rest['late_reply'],
      queuingBytes: 0, connectorQueuing: 0, connectorInflight: 0,
    });
    expect([rest['retried'], rest['retried.success'], rest['retried.failed']]).toEqual([0, 0, 0]);

    // Produce latency: a counter of acknowledged requests (at least one, at most one per record) and
    // quantile gauges in seconds: the REST values in ms / 1000.
    const count = series(done, 'sluice_action_produce_latency_count_total');
    expect(count).toBe(rest['produce_latency.count']);
    expect(count).toBeGreaterThanOrEqual(1);
    expect(count).toBeLessThanOrEqual(MESSAGES);
    const quantile = (q: string): number => series(done, 'sluice_action_produce_latency_seconds', `{action="${ACTION}",quantile="${q}"}`);
    expect([quantile('0.5'), quantile('0.99'), quantile('1')]).toEqual([
      (rest['produce_latency.p50_ms'] ?? Number.NaN) / 1000,
      (rest['produce_latency.p99_ms'] ?? Number.NaN) / 1000,
      (rest['produce_latency.max_ms'] ?? Number.NaN) / 1000,
    ]);
    expect(quantile('1')).toBeGreaterThan(0);
    expect(quantile('0.5')).toBeLessThanOrEqual(quantile('0.99'));
    expect(quantile('0.99')).toBeLessThanOrEqual(quantile('1'));

    runner.child.kill('SIGTERM');
    await expect(runner.exited).resolves.toBe(0);
  });
});

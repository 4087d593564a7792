#!/usr/bin/env node
'use strict';
// npm run bench:delivery: the cost of at-least-once. The same load runs through the real `sluice run`
// (a child process, so it has a core of its own) in `at-least-once` and `at-most-once` modes, from a
// private Mosquitto into the project's Kafka, and prints throughput and end-to-end latency
// (publish → record read back from Kafka). Needs the built packages and the local Kafka
// (`node scripts/kafka.js start`). Env: BENCH_MESSAGES (default 20000), BENCH_RATE (msg/s of the paced
// latency run, default 2000), BENCH_WINDOWS (maxInflight values, default "20,100").
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('../../../scripts/lib/ports');
const { Kafka, logLevel } = require('kafkajs');
const mqtt = require('mqtt');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MESSAGES = Number(process.env.BENCH_MESSAGES || 20000);
const RATE = Number(process.env.BENCH_RATE || 2000);
const WINDOWS = (process.env.BENCH_WINDOWS || '20,100').split(',').map(Number);
const PUBLISHERS = 4;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const name = (p) => `${p}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;


async function waitFor(check, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function answers(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * A private Mosquitto: unlimited queues, so a backlog is held, never dropped; its in-flight limit is the
 * source's window (Mosquitto 2.0 does not hold back for the client's Receive Maximum when its own limit is 0).
 */
async function startMosquitto(window) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `user ${os.userInfo().username}`,
    'max_queued_messages 0', `max_inflight_messages ${window}`, 'log_dest none'].join('\n') + '\n');
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  await waitFor(() => answers(port), 'mosquitto');
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => (child.kill('SIGTERM'), fs.rmSync(dir, { recursive: true, force: true })) };
}

async function startSluice(config) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  const file = path.join(dir, 'sluice.json');
  fs.writeFileSync(file, JSON.stringify({ ...config, http: { port }, log: { level: 'warn', format: 'json' } }));
  const child = spawn(process.execPath, [path.join(ROOT, 'packages/cli/dist/bin.js'), 'run', '-c', file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, 'sluice run');
  return {
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads the topic from the start; resolves with each record's arrival time (ms) by sequence number. */
async function startReader(kafka, topic) {
  const consumer = kafka.consumer({ groupId: name('bench-read'), maxWaitTimeInMs: 20, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const arrived = new Map();
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const [seq] = m.value.toString().split(',');
        if (!arrived.has(Number(seq))) arrived.set(Number(seq), now);
      }
    },
  });
  return { arrived, stop: () => consumer.disconnect() };
}

/** Publishes `total` numbered messages (payload carries the send time), paced to `rate` msg/s or as fast as possible. */
async function publishAll(url, prefix, total, rate) {
  const sentAt = new Float64Array(total);
  const clients = await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => mqtt.connectAsync(url, { clientId: name(`bench-pub${p}`), protocolVersion: 5 })));
  const started = Date.now();
  let next = 0;
  await Promise.all(clients.map(async (client, p) => {
    let outstanding = 0;
    for (let seq = p; seq < total; seq += PUBLISHERS) {
      while ((rate > 0 && next > ((Date.now() - started) / 1000) * rate) || outstanding >= 200) await sleep(1);
      next++;
      outstanding++;
      sentAt[seq] = Date.now();
      client.publish(`${prefix}/${p}`, `{"seq":${seq},"t":${sentAt[seq]}}`, { qos: 1 }, () => outstanding--);
    }
    while (outstanding > 0) await sleep(5);
  }));
  await Promise.all(clients.map((c) => c.endAsync()));
  return { sentAt, started };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(mode, window, kafka, admin, mosquitto, rate) {
  const topic = name('bench-delivery');
  const prefix = name('bench');
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  // The leaders may need a moment to serve the new partitions.
  await waitFor(async () => {
    try {
      await admin.fetchTopicOffsets(topic);
      return true;
    } catch {
      return false;
    }
  }, `topic ${topic}`);
  const sluice = await startSluice({
    sources: [{ type: 'mqtt', id: 'plant', url: mosquitto.url, clientId: name('sluice-bench'), delivery: mode, maxInflight: window }],
    connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [kafkaBootstrap()] }],
    rules: [{ id: 'bench', sql: `SELECT payload.seq as seq, payload.t as t FROM "${prefix}/#"`, actions: [{ connector: 'kafka', topic, value: '${seq},${t}' }] }],
  });
  const reader = await startReader(kafka, topic);
  try {
    const { sentAt, started } = await publishAll(mosquitto.url, prefix, MESSAGES, rate);
    await waitFor(() => reader.arrived.size >= MESSAGES, `${MESSAGES} records`, 300000);
    let last = 0;
    const latencies = [];
    for (const [seq, at] of reader.arrived) {
      last = Math.max(last, at);
      latencies.push(at - sentAt[seq]);
    }
    latencies.sort((a, b) => a - b);
    return { perSecond: MESSAGES / ((last - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await reader.stop();
    await sluice.stop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  }
}

function kafkaBootstrap() {
  const state = JSON.parse(fs.readFileSync(path.join(ROOT, '.sluice', 'kafka', 'broker.json'), 'utf8'));
  return state.bootstrap;
}

async function main() {
  const kafka = new Kafka({ clientId: 'sluice-bench', brokers: [kafkaBootstrap()], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const rows = [];
  try {
    for (const window of WINDOWS) {
      const mosquitto = await startMosquitto(window);
      const result = { window };
      // Alternate the order so neither mode always pays the warm-up.
      for (const mode of window % 2 === 0 ? ['at-most-once', 'at-least-once'] : ['at-least-once', 'at-most-once']) {
        const full = await run(mode, window, kafka, admin, mosquitto, 0);
        const paced = await run(mode, window, kafka, admin, mosquitto, RATE);
        result[mode] = { full, paced };
        console.error(`[bench] window ${window}, ${mode}: ${Math.round(full.perSecond)} msg/s at full speed; at ${RATE} msg/s p50 ${paced.p50} ms, p99 ${paced.p99} ms`);
      }
      rows.push(result);
      mosquitto.stop();
    }
  } finally {
    await admin.disconnect();
  }
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  console.log(`\n${MESSAGES} QoS 1 messages from ${PUBLISHERS} publishers, Mosquitto → sluice run → Kafka (3 partitions, acks all), ${os.cpus().length} cores\n`);
  console.log('| maxInflight | mode | msg/s (full speed) | ratio | p50 / p99 at full speed (ms) | p50 / p99 at ' + RATE + ' msg/s (ms) |');
  console.log('|---:|---|---:|---:|---:|---:|');
  for (const row of rows) {
    const base = row['at-most-once'].full.perSecond;
    for (const mode of ['at-most-once', 'at-least-once']) {
      const { full, paced } = row[mode];
      console.log(`| ${row.window} | ${mode} | ${fmt(full.perSecond)} | ${(full.perSecond / base).toFixed(2)} | ${full.p50} / ${full.p99} | ${paced.p50} / ${paced.p99} |`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

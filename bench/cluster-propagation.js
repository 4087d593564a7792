#!/usr/bin/env node
'use strict';
// npm run bench:cluster: how long a rule change made through one cluster member's REST API takes to run on
// every member (issue #13's goal: within 2 s). Starts BENCH_MEMBERS (default 2) `sluice run` members of one
// cluster (docs/cluster.md) on the project's Kafka (`node scripts/kafka.js start`) and the MQTT broker at
// BENCH_MQTT_URL (default mqtt://127.0.0.1:1883), then makes BENCH_CHANGES (default 20) rule changes, each
// through the next member in turn, and times from sending the PUT to the last member answering the new rule
// (polled every 5 ms). Prints the median and max, and writes bench/results/<stamp>-cluster.md unless --no-write.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('../scripts/lib/ports');
const { median } = require('./lib/stats');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'dist', 'bin.js');
const MEMBERS = Number(process.env.BENCH_MEMBERS || 2);
const CHANGES = Number(process.env.BENCH_CHANGES || 20);
const MQTT_URL = process.env.BENCH_MQTT_URL || 'mqtt://127.0.0.1:1883';
const WRITE = !process.argv.includes('--no-write');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function kafkaBootstrap() {
  const file = process.env.SLUICE_KAFKA_BROKER_FILE || path.join(ROOT, '.sluice', 'kafka', 'broker.json');
  if (!fs.existsSync(file)) throw new Error(`no Kafka: ${file} is missing; run node scripts/kafka.js start`);
  return JSON.parse(fs.readFileSync(file, 'utf8')).bootstrap;
}


async function startMember(cluster, member, bootstrap, dir) {
  const port = await freePort();
  const file = path.join(dir, `${member}.json`);
  fs.writeFileSync(file, JSON.stringify({
    cluster: { name: cluster, connector: 'kafka', member },
    sources: [{ type: 'mqtt', id: 'plant', url: MQTT_URL }],
    connectors: [{ type: 'kafka', id: 'kafka', bootstrapHosts: [bootstrap] }],
    rules: [],
    http: { port },
    log: { level: 'warn', format: 'json' },
  }, null, 2));
  const child = spawn(process.execPath, [BIN, 'run', '-c', file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  process.on('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`member ${member} exited at start:\n${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`member ${member} not ready within 60 s:\n${stderr}`);
    await sleep(100);
  }
  return { member, port, child };
}

async function ruleRuns(member, id) {
  const res = await fetch(`http://127.0.0.1:${member.port}/api/rules/${id}`).catch(() => undefined);
  return res !== undefined && res.status === 200;
}

async function deleteClusterTopics(bootstrap, cluster) {
  const { Kafka, logLevel } = require('kafkajs');
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [`_sluice-${cluster}-config`, `_sluice-${cluster}-status`] });
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  const bootstrap = kafkaBootstrap();
  const cluster = `bench-${process.pid}-${Date.now().toString(36)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-cluster-'));
  console.log(`cluster ${cluster}: ${MEMBERS} members, Kafka ${bootstrap}, MQTT ${MQTT_URL}`);
  const members = [];
  try {
    for (let i = 0; i < MEMBERS; i++) members.push(await startMember(cluster, `m${i}`, bootstrap, dir));
    const rows = [];
    for (let n = 0; n < CHANGES; n++) {
      const writer = members[n % members.length];
      const id = `r${n}`;
      const started = performance.now();
      const put = await fetch(`http://127.0.0.1:${writer.port}/api/rules/${id}`, {
        method: 'PUT', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql: `SELECT * FROM "bench/${cluster}/${n}"`, actions: [] }),
      });
      if (put.status !== 201) throw new Error(`PUT ${id} through ${writer.member}: ${put.status} ${await put.text()}`);
      const answered = performance.now() - started;
      const reached = new Map([[writer.member, answered]]);
      while (reached.size < members.length) {
        for (const m of members) if (!reached.has(m.member) && (await ruleRuns(m, id))) reached.set(m.member, performance.now() - started);
        if (performance.now() - started > 30000) throw new Error(`rule ${id} did not reach every member within 30 s`);
        if (reached.size < members.length) await sleep(5);
      }
      const last = Math.max(...reached.values());
      rows.push({ n, writer: writer.member, answered, last });
      console.log(`change ${String(n + 1).padStart(2)} through ${writer.member}: PUT answered ${answered.toFixed(0)} ms, on every member ${last.toFixed(0)} ms`);
    }
    const lasts = rows.map((r) => r.last);
    const summary = `propagation of a rule change to all ${MEMBERS} members over ${CHANGES} changes: median ${median(lasts).toFixed(0)} ms, max ${Math.max(...lasts).toFixed(0)} ms (goal: within 2,000 ms)`;
    console.log(summary);
    if (WRITE) {
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
      const out = path.join(__dirname, 'results', `${stamp}-cluster.md`);
      const table = rows.map((r) => `| ${r.n + 1} | ${r.writer} | ${r.answered.toFixed(0)} | ${r.last.toFixed(0)} |`).join('\n');
      fs.writeFileSync(out, `# Cluster: rule change propagation (${new Date().toISOString()})\n\n${summary}\n\n| change | through | PUT answered (ms) | on every member (ms) |\n|---:|---|---:|---:|\n${table}\n`);
      console.log(`written: ${path.relative(ROOT, out)}`);
    }
  } finally {
    for (const m of members) m.child.kill('SIGTERM');
    await sleep(1500);
    for (const m of members) m.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteClusterTopics(bootstrap, cluster).catch((error) => console.error(`cluster topics not deleted: ${error.message}`));
  }
}

main().catch((error) => {
  console.error(`bench:cluster: ${error.message}`);
  process.exit(1);
});

#!/usr/bin/env node
'use strict';
// npm run bench [-- <part> [flags]]: end-to-end benchmarks of Sluice beside a raw relay and Node-RED.
// See docs/benchmarks.md ("End-to-end") and docs/performance.md ("End-to-end pipeline").
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { startKafka, stopKafka, kafkaCpuMicros, Topics, startMosquitto, startHivemq } = require('./lib/brokers');
const { measurePoint } = require('./lib/measure');
const { soak } = require('./lib/soak');
const { writeReports } = require('./lib/report');
const { killAll } = require('./lib/ipc');

const PARTS = ['pipeline', 'templated', 'latency', 'relay', 'nodered', 'rules', 'payload', 'scale', 'soak', 'profile', 'all'];
const BROKERS = { mosquitto: ['mosquitto'], hivemq: ['hivemq'], both: ['mosquitto', 'hivemq'] };
const USAGE = `usage: node bench/run.js <${PARTS.join('|')}> [flags]
  pipeline  Sluice (at-least-once, at-most-once) and the raw relay, 200 B and 1 KiB; then Sluice with a
            templated topic over 3 Kafka topics, all healthy and with one deleted (each delivery mode)
  templated only the templated-topic points of pipeline
  latency   the relay, Sluice at-least-once and at-most-once (--size) at one open-loop rate for all, in --rounds
            interleaved rounds: p99 of each against the relay's under the same load, with the spread of the rounds
  relay     the raw mqtt.js -> kafkajs relay alone
  nodered   Node-RED (MQTT-in -> function -> Kafka-out) beside Sluice at-least-once, 200 B
  rules     Sluice with 1, 10, 100, 1000 rules (one matching)
  payload   Sluice with 100 B, 1 KiB, 10 KiB payloads
  scale     1, 2 and 4 Sluice processes in one shared-subscription group (and 2 relays, for comparison)
  soak      Sluice at half its sustained rate for --soak seconds
  profile   Sluice at-least-once, at-most-once and the relay (--size) under node --cpu-prof; prints the top frames
  all       everything but profile
flags (seconds unless said):
  --capacity 20     length of each capacity phase      --latency 10   length of each latency phase
  --warmup 3        warm-up before measuring           --soak 600     soak duration (default: the issue's 10 min)
  --publishers 2    publisher processes                --window 20000 messages allowed between publish and read
  --inflight 1000   Sluice maxInflight / relay Receive Maximum
  --linger 0        Sluice's maxLingerTime in ms (the Kafka action's default is 0)
  --partitions 3    partitions of each topic           --fraction 0.5 latency-phase rate as a share of capacity
  --rate            latency part: msg/s of every point (default: --fraction of the first relay's capacity)
  --rounds 3        latency part: rounds of relay, at-least-once, at-most-once
  --repeat 1        the other parts: run all their points this many times, interleaved (run 1 of every point,
                    then run 2, ...); each goal is judged in every run and met when it is met in most of them
  --size 200        latency and profile parts: payload bytes
  --max-minutes 40  abort (and clean up) after this long
  --broker          MQTT broker of the points: mosquitto, hivemq or both (scale: both, the others: mosquitto);
                    HiveMQ CE needs \`node scripts/hivemq.js fetch\` first
  --kafka-port-base 39092  ports of the bench's own Kafka (state in .sluice/kafka-bench)
  --keep-kafka      leave that Kafka running for the next run (a start takes 10-20 s)
  --no-write        print only (no files under bench/results, no chart)`;

function options(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      capacity: { type: 'string', default: '20' },
      latency: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      soak: { type: 'string', default: '600' },
      publishers: { type: 'string', default: '2' },
      window: { type: 'string', default: '20000' },
      inflight: { type: 'string', default: '1000' },
      linger: { type: 'string', default: '0' },
      partitions: { type: 'string', default: '3' },
      fraction: { type: 'string', default: '0.5' },
      rate: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      repeat: { type: 'string', default: '1' },
      size: { type: 'string', default: '200' },
      'max-minutes': { type: 'string', default: '40' },
      broker: { type: 'string' },
      'kafka-port-base': { type: 'string', default: '39092' },
      'keep-kafka': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const part = positionals[0] ?? 'all';
  if (values.help || !PARTS.includes(part)) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const broker = values.broker ?? (part === 'scale' ? 'both' : 'mosquitto');
  if (!Object.hasOwn(BROKERS, broker)) throw new Error(`--broker expects mosquitto, hivemq or both, got "${broker}"`);
  const lingerOf = (text) => {
    const x = Number(text);
    if (!Number.isInteger(x) || x < 0) throw new Error(`--linger expects whole milliseconds ≥ 0, got "${text}"`);
    return x;
  };
  const wholeOf = (k) => {
    const x = Number(values[k]);
    if (!Number.isInteger(x) || x < 1) throw new Error(`--${k} expects a whole number ≥ 1, got "${values[k]}"`);
    return x;
  };
  const num = (k) => {
    const x = Number(values[k]);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`--${k} expects a positive number, got "${values[k]}"`);
    return x;
  };
  return {
    part,
    capacitySec: num('capacity'), latencySec: num('latency'), warmupSec: num('warmup'), soakSec: num('soak'),
    publishers: num('publishers'), window: num('window'), inflight: num('inflight'), partitions: num('partitions'),
    lingerMs: lingerOf(values.linger),
    latencyFraction: num('fraction'), rounds: num('rounds'), repeat: wholeOf('repeat'), size: num('size'), rate: values.rate === undefined ? undefined : num('rate'), maxMinutes: num('max-minutes'), write: !values['no-write'],
    kafkaPortBase: num('kafka-port-base'), keepKafka: values['keep-kafka'], brokers: BROKERS[broker],
  };
}

const started = Date.now();
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;
const log = (line) => console.log(`${stamp()} ${line}`);
let lastProgress = 0;
const progress = (line) => {
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${stamp()} ${line}`);
  else if (Date.now() - lastProgress > 5000) {
    lastProgress = Date.now();
    console.log(`${stamp()}   ${line}`);
  }
};

/** The points of each part; a point measured once in a run is reused by every part that needs it. */
function plan(part, o) {
  const full = { capacitySec: o.capacitySec, latencySec: o.latencySec };
  const capOnly = { capacitySec: o.capacitySec, latencySec: 0 };
  const sluice = (delivery, size, extra = {}) => ({ sut: 'sluice', delivery, size, rules: 1, procs: 1, ...extra });
  // Issue 11: one of three topics of a templated topic unavailable; the two others against the same point with
  // all three healthy (each pair measured back to back). At-least-once with the hybrid buffer, the setting that
  // keeps the other topics flowing (a memory buffer holds the missing topic's MQTT messages unacknowledged, and
  // with them the one MQTT session's window: the whole stream); at-most-once acknowledges at once, in memory.
  const templatedPoints = () => [['at-least-once', 'hybrid'], ['at-most-once', undefined]].flatMap(([delivery, buffer]) =>
    [false, true].map((missing) => sluice(delivery, 200, { templated: { missing, ...(buffer && { buffer }) }, ...capOnly })));
  const parts = {
    pipeline: () => [
      ...[200, 1024].flatMap((size) => [
        { sut: 'relay', size, ...full },
        sluice('at-least-once', size, full),
        sluice('at-most-once', size, full),
      ]),
      ...templatedPoints(),
    ],
    templated: templatedPoints,
    // One rate for every point (a point's own half capacity gives each a different load), rounds interleaved so
    // that a slow minute of this shared machine lands on all three rather than on one.
    latency: () => Array.from({ length: o.rounds }, (_, i) => [
      { sut: 'relay', size: o.size, ...full },
      sluice('at-least-once', o.size, full),
      sluice('at-most-once', o.size, full),
    ].map((p) => ({ ...p, round: i + 1 }))).flat(),
    relay: () => [200, 1024].map((size) => ({ sut: 'relay', size, ...full })),
    nodered: () => [{ sut: 'nodered', size: 200, ...full }, sluice('at-least-once', 200, full)],
    rules: () => [1, 10, 100, 1000].map((rules) => sluice('at-least-once', 200, rules === 1 ? full : { rules, ...capOnly })),
    payload: () => [100, 1024, 10240].map((size) => sluice('at-least-once', size, size === 1024 ? full : capOnly)),
    scale: () => [
      ...[1, 2, 4].map((procs) => sluice('at-least-once', 200, { procs, shareGroup: true, ...capOnly })),
      // The same split without Sluice: tells a Mosquitto/shared-subscription limit from ours.
      { sut: 'relay', size: 200, procs: 2, shareGroup: true, ...capOnly },
    ],
    profile: () => [
      sluice('at-least-once', o.size, { ...capOnly, profile: true }),
      sluice('at-most-once', o.size, { ...capOnly, profile: true }),
      { sut: 'relay', size: o.size, ...capOnly, profile: true },
    ],
  };
  const order = part === 'all' ? ['pipeline', 'nodered', 'rules', 'payload', 'scale'] : part === 'soak' ? [] : [part];
  const points = [];
  // All the points of one broker, then the next: one MQTT broker runs at a time. Runs of a --repeat are
  // interleaved, so that a slow minute of this shared machine lands on one run of every point, not on every
  // run of one point (a ratio between two points is only fair within one run). The latency part has its own
  // rounds.
  const runs = o.part === 'latency' ? 1 : o.repeat;
  for (const broker of o.brokers) {
    for (let run = 1; run <= runs; run++) {
      for (const name of order) for (const p of parts[name]()) points.push({ ...p, group: name, broker, ...(runs > 1 && { run }) });
    }
  }
  return points;
}

function keyOf(p) {
  const templated = p.templated ? `templated${p.templated.missing ? '-missing' : ''}` : '';
  return [p.sut, p.delivery ?? '', p.size, p.rules ?? 1, p.procs ?? 1, p.shareGroup ? 'share' : '', p.profile ? 'prof' : '', templated, p.broker, p.round ?? '', p.run ?? ''].join('|');
}

async function main() {
  const o = options(process.argv.slice(2));
  const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const results = { runId, startedAt: new Date().toISOString(), part: o.part, options: o, points: [], soak: null };
  let abort = async () => killAll();
  const deadline = setTimeout(() => {
    console.error(`\nbench: over --max-minutes ${o.maxMinutes}; stopping`);
    abort().finally(() => process.exit(1));
  }, o.maxMinutes * 60000);
  deadline.unref();

  const bootstrap = startKafka(log, { portBase: o.kafkaPortBase });
  // One MQTT broker at a time (they would share the two cores with everything measured); started when its
  // first point comes, stopped when the next broker's does.
  let mqtt = { name: undefined, broker: undefined };
  const useBroker = async (name) => {
    if (mqtt.name === name) {
      await mqtt.broker.ensure();
      return mqtt.broker;
    }
    if (mqtt.broker !== undefined) await mqtt.broker.stop();
    mqtt = { name: undefined, broker: undefined }; // a start that fails is tried again at the next point
    const broker = name === 'hivemq' ? await startHivemq(log) : await startMosquitto(log, { inflight: o.inflight });
    mqtt = { name, broker };
    return broker;
  };
  const topics = new Topics(bootstrap);
  await topics.connect();
  const ctx = { mqttUrl: undefined, bootstrap, topics, runId, opts: o, log, progress: (l) => progress(l), kafkaCpuMicros };
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    killAll();
    await topics.close().catch(() => {});
    await mqtt.broker?.stop();
    if (!o.keepKafka) {
      try {
        stopKafka(log, { portBase: o.kafkaPortBase });
      } catch (err) {
        log(`kafka: stop failed: ${err.message}`);
      }
    }
  };
  abort = cleanUp;
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => cleanUp().finally(() => process.exit(130)));
  try {
    const seen = new Map();
    const points = plan(o.part, o);
    let sharedRate = o.rate; // the latency part's rate, once the first relay has measured its capacity
    log(`${o.part}: ${points.length} point(s)${o.part === 'all' || o.part === 'soak' ? ` + soak of ${o.soakSec} s` : ''}; ~${Math.round((points.length * (o.capacitySec + o.warmupSec + 8) + points.filter((p) => p.latencySec).length * (o.latencySec + 3)) / 60)} min before the soak`);
    for (const p of points) {
      const key = keyOf(p);
      if (seen.has(key)) {
        results.points.push({ ...seen.get(key), group: p.group });
        continue;
      }
      const profileDir = p.profile ? path.join(__dirname, 'results', 'profiles') : undefined;
      if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
      log(`${p.group}: ${require('./lib/measure').label(p)}`);
      let r;
      try {
        const broker = await useBroker(p.broker);
        ctx.mqttUrl = broker.url;
        ctx.brokerCpuMicros = broker.cpuMicros;
        r = await measurePoint(ctx, { ...p, key, profileDir, ...(p.group === 'latency' && { latencyRate: sharedRate }) });
        if (p.group === 'latency' && sharedRate === undefined) sharedRate = r.latency?.rate;
      } catch (err) {
        // One failed point (a broker hiccup on a shared machine) must not lose the others.
        log(`  ${require('./lib/measure').label(p)} failed: ${String(err && err.message).split('\n')[0]}`);
        results.points.push({ key, group: p.group, label: require('./lib/measure').label(p), sut: p.sut, delivery: p.delivery ?? null, size: p.size, rules: p.rules ?? 1, procs: p.procs ?? 1, broker: p.broker, run: p.run ?? null, error: String(err && err.message) });
        continue;
      }
      if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
      r.group = p.group;
      seen.set(key, r);
      results.points.push(r);
      if (profileDir) require('./lib/profile-summary').printNewest(profileDir, log);
    }
    if (o.part === 'all' || o.part === 'soak') {
      const base = results.points.find((r) => r.sut === 'sluice' && r.delivery === 'at-least-once' && r.size === 200 && r.rules === 1 && r.procs === 1 && !r.templated);
      try {
        ctx.mqttUrl = (await useBroker(o.brokers[0])).url;
        results.soak = await soak(ctx, { rate: base?.throughput ? Math.round(base.throughput / 2) : undefined, seconds: o.soakSec });
      } catch (err) {
        log(`soak failed: ${String(err && err.message).split('\n')[0]}`);
        results.soakError = String(err && err.message);
      }
    }
  } finally {
    await cleanUp();
  }
  results.finishedAt = new Date().toISOString();
  writeReports(results, { write: o.write, log });
}

main().catch((err) => {
  console.error(`\nbench failed: ${err && err.stack ? err.stack : err}`);
  killAll();
  process.exit(1);
});

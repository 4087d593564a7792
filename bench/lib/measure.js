'use strict';
// One measurement point: fresh topic, consumer, system(s) under test and publishers; a capacity phase
// (end-to-end window: publishers may only be `window` messages ahead of what the consumer has read,
// so nothing backs up anywhere and the delivered rate is what the system sustains) and optionally a
// latency phase at a fixed fraction of that rate (open loop).
const path = require('node:path');
const { Worker } = require('./ipc');
const { round } = require('./stats');
const { cpuMicrosOf } = require('./brokers');

const WORKERS = path.join(__dirname, '..', 'workers');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SEED_SQL = 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum, payload.ts as ts, payload.seq as seq FROM "temp_hum/emqx"';
const SEED_VALUE = '{"temp": ${temp}, "hum": ${hum}, "ts": ${ts}, "seq": ${seq}}';
// The templated-topic points: the seed rule plus the topic's index (each publisher's seq mod n, so every
// topic gets exactly 1/n of each publisher's messages), and an action topic `<base>-${part}`.
const TEMPLATED_SQL = SEED_SQL.replace(' FROM ', ', payload.seq mod 3 as part FROM ');
const TEMPLATED_TOPICS = 3;
/** Topics of a templated point the consumer reads: the two that stay healthy, in every templated point. */
const READ_TOPICS = 2;

let pointNo = 0;

function label(p) {
  const sys = p.sut === 'sluice' ? `sluice ${p.delivery === 'at-most-once' ? 'amo' : 'alo'}` : p.sut;
  const extra = [];
  if (p.templated) extra.push(`${p.templated.missing ? '3 topics, 1 deleted' : '3 topics'}${p.templated.buffer ? `, ${p.templated.buffer} buffer` : ''}`);
  if (p.rules > 1) extra.push(`${p.rules} rules`);
  if (p.procs > 1 || p.shareGroup) extra.push(`${p.procs} proc`);
  if (p.broker === 'hivemq') extra.push('HiveMQ');
  if (p.round) extra.push(`round ${p.round}`);
  if (p.run) extra.push(`run ${p.run}`);
  return `${sys} ${p.size} B${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

async function sampleAll(suts) {
  const samples = await Promise.all(suts.map((s) => s.request('sample', {}, 30000)));
  return {
    cpuMicros: samples.reduce((a, s) => a + s.cpuMicros, 0),
    peakRss: Math.max(...samples.map((s) => s.peakRss)),
    rss: samples.reduce((a, s) => a + s.rss, 0),
    stats: samples.map((s) => s.stats),
  };
}

/**
 * @param ctx { mqttUrl, bootstrap, topics, runId, opts, log, progress }
 * @param p   { sut, delivery, size, rules, procs, shareGroup, capacitySec, latencySec, latencyFraction, latencyRate }
 */
async function measurePoint(ctx, p) {
  const { opts, log } = ctx;
  const n = ++pointNo;
  const topic = `bench-${ctx.runId}-${n}`;
  const name = label(p);
  const workers = [];
  const result = { key: p.key, label: name, sut: p.sut, delivery: p.delivery ?? null, size: p.size, rules: p.rules ?? 1, procs: p.procs ?? 1, templated: p.templated ?? null, broker: p.broker ?? 'mosquitto', round: p.round ?? null, run: p.run ?? null };
  // A templated point writes to <topic>-0 … -2 and reads only -0 and -1 (so a point with -2 deleted reads
  // the same topics as one with all three): what is read is READ_TOPICS/TEMPLATED_TOPICS of what is published.
  const kafkaTopics = p.templated ? Array.from({ length: TEMPLATED_TOPICS }, (_, i) => `${topic}-${i}`) : [topic];
  const readTopics = kafkaTopics.slice(0, p.templated ? READ_TOPICS : 1);
  const readShare = readTopics.length / kafkaTopics.length;
  try {
    for (const t of kafkaTopics) await ctx.topics.create(t, opts.partitions);
    const consumer = new Worker(path.join(WORKERS, 'consumer.js'), { name: 'consumer' });
    workers.push(consumer);
    let consumed = 0;
    consumer.on((m) => m.type === 'progress' && (consumed = m.count));
    await consumer.request('start', { bootstrap: ctx.bootstrap, topics: readTopics, groupId: `${topic}-reader` }, 60000);

    const suts = [];
    const procs = p.procs ?? 1;
    for (let i = 0; i < procs; i++) {
      const execArgv = p.profileDir ? ['--cpu-prof', '--cpu-prof-dir', p.profileDir] : [];
      const w = new Worker(path.join(WORKERS, 'sut.js'), { args: [p.sut], execArgv, name: `${p.sut}#${i}` });
      workers.push(w);
      suts.push(w);
      await w.request('start', {
        config: {
          mqttUrl: ctx.mqttUrl, bootstrap: ctx.bootstrap, topic, clientId: `bench-${p.sut}-${n}-${i}`,
          delivery: p.delivery ?? 'at-least-once', maxInflight: opts.inflight, rules: p.rules ?? 1, lingerMs: opts.lingerMs,
          shareGroup: p.shareGroup ? 'bench' : undefined, sql: p.templated ? TEMPLATED_SQL : SEED_SQL, value: SEED_VALUE,
          ...(p.templated && { topic: `${topic}-\${part}`, buffer: p.templated.buffer }),
        },
      }, 60000);
    }
    if (p.templated?.missing) {
      // Unavailable while the bridge runs (it knew the topic at start): deleted, since a single-broker Kafka
      // cannot take one partition leader down alone; the broker does not create topics on its own
      // (auto.create.topics.enable=false) and neither does the bridge (allowAutoTopicCreation defaults off).
      await ctx.topics.remove(kafkaTopics[TEMPLATED_TOPICS - 1]);
    }

    const pubs = [];
    const sent = new Array(opts.publishers).fill(0);
    for (let i = 0; i < opts.publishers; i++) {
      const w = new Worker(path.join(WORKERS, 'publisher.js'), { name: `publisher#${i}` });
      workers.push(w);
      pubs.push(w);
      w.on((m) => m.type === 'progress' && (sent[i] = m.sent));
      await w.request('start', { url: ctx.mqttUrl, topic: 'temp_hum/emqx', size: p.size, clientId: `bench-pub-${n}-${i}` }, 30000);
    }
    const totalSent = () => sent.reduce((a, b) => a + b, 0);

    // Capacity: credits keep (granted - processed) <= window, where processed is what was read scaled to
    // what was published (templated points read two topics of three).
    let granted = 0;
    const processed = () => Math.round(consumed / readShare);
    const creditLoop = setInterval(() => {
      const budget = opts.window - (granted - processed());
      if (budget < opts.window / 10) return;
      const each = Math.floor(budget / pubs.length);
      for (const w of pubs) w.send({ type: 'credit', n: each });
      granted += each * pubs.length;
    }, 10);
    const phase = async (what, seconds, rateOf) => {
      const t0 = performance.now();
      const c0 = consumed;
      let last = c0;
      let lastT = t0;
      const end = t0 + seconds * 1000;
      while (performance.now() < end) {
        await sleep(Math.min(1000, end - performance.now()));
        const now = performance.now();
        ctx.progress(`${name} ${what} ${Math.round((now - t0) / 1000)}/${seconds} s: ${Math.round(((consumed - last) * 1000) / (now - lastT)).toLocaleString('en-US')} msg/s, backlog ${Math.max(0, rateOf() - processed()).toLocaleString('en-US')}`);
        last = consumed;
        lastT = now;
      }
    };

    await phase('warm-up', opts.warmupSec, () => granted);
    // the load generator's own cores (publishers and consumer): with the brokers and the bridge it tells whether
    // the machine's two cores, rather than the bridge, were the limit
    const harness = new Set([consumer, ...pubs].map((w) => w.child.pid));
    const harnessCpuMicros = () => cpuMicrosOf((pid) => harness.has(pid));
    const h0 = harnessCpuMicros();
    const s0 = await sampleAll(suts);
    const b0 = ctx.brokerCpuMicros?.();
    const k0 = ctx.kafkaCpuMicros?.();
    const c0 = consumed;
    const t0 = performance.now();
    await phase('capacity', p.capacitySec, () => granted);
    const s1 = await sampleAll(suts);
    const h1 = harnessCpuMicros();
    const b1 = ctx.brokerCpuMicros?.();
    const k1 = ctx.kafkaCpuMicros?.();
    const c1 = consumed;
    const t1 = performance.now();
    clearInterval(creditLoop);
    const delivered = c1 - c0;
    const cpuSec = (s1.cpuMicros - s0.cpuMicros) / 1e6;
    result.throughput = Math.round((delivered * 1000) / (t1 - t0));
    result.cpuSec = round(cpuSec, 2);
    result.cpuUtil = round(cpuSec / ((t1 - t0) / 1000), 2);
    // the MQTT broker's and Kafka's cores over the same phase: tell a broker-bound point from a bridge-bound one
    const cores = (before, after) => (before !== undefined && after !== undefined ? round((after - before) / 1e6 / ((t1 - t0) / 1000), 2) : null);
    result.brokerCpuUtil = cores(b0, b1);
    result.kafkaCpuUtil = cores(k0, k1);
    result.harnessCpuUtil = cores(h0, h1);
    result.msgPerCpuSec = cpuSec > 0 ? Math.round(delivered / cpuSec) : null;
    result.peakRssMB = round(Math.max(s0.peakRss, s1.peakRss) / 2 ** 20, 1);
    result.sutStats = s1.stats;
    // Records per produce request over the capacity phase (the relay's sends hold one topic's records, a
    // Sluice request may hold several topics'): how well batches grew with the load.
    const sum = (s, key) => s.stats.reduce((a, x) => a + (x?.[key] ?? 0), 0);
    const requests = sum(s1, 'requests') - sum(s0, 'requests');
    result.recordsPerRequest = requests > 0 ? round((sum(s1, 'success') - sum(s0, 'success')) / requests, 1) : null;
    // Each member's share of the records over the phase: a group whose broker feeds one member only
    // (HiveMQ CE did, in some points) shows here, not in the total.
    if (suts.length > 1) {
      const own = s1.stats.map((x, i) => (x?.success ?? 0) - (s0.stats[i]?.success ?? 0));
      const all = own.reduce((a, b) => a + b, 0);
      result.memberShares = own.map((x) => (all > 0 ? round(x / all, 3) : 0));
    }

    // Let everything granted arrive before the latency phase starts from an empty pipeline.
    await Promise.all(pubs.map((w) => w.request('pause', {}, 10000)));
    const drainEnd = Date.now() + 15000;
    while (processed() < totalSent() && Date.now() < drainEnd) await sleep(50);

    const rate = p.latencyRate ?? Math.round(result.throughput * (p.latencyFraction ?? opts.latencyFraction));
    if (p.latencySec > 0 && rate > 0) {
      for (const w of pubs) w.send({ type: 'rate', rate: rate / pubs.length });
      await sleep(2000);
      const l0 = await sampleAll(suts);
      await consumer.request('mark');
      const lc0 = consumed;
      const lt0 = performance.now();
      await phase(`latency @ ${rate.toLocaleString('en-US')}/s`, p.latencySec, () => totalSent());
      const lat = await consumer.request('collect');
      const l1 = await sampleAll(suts);
      const lt1 = performance.now();
      const backlog = totalSent() - consumed;
      result.latency = {
        rate,
        delivered: Math.round(((consumed - lc0) * 1000) / (lt1 - lt0)),
        p50: lat.latency.p50,
        p99: lat.latency.p99,
        max: lat.latency.max,
        samples: lat.latency.n,
        backlogAtEnd: backlog,
        // Open loop: the system kept up if, at the end, less than a second's worth waits.
        keptUp: backlog < rate,
        msgPerCpuSec: Math.round((consumed - lc0) / ((l1.cpuMicros - l0.cpuMicros) / 1e6)),
        peakRssMB: round(l1.peakRss / 2 ** 20, 1),
        sutStats: l1.stats,
      };
      for (const w of pubs) w.send({ type: 'pause' });
      result.peakRssMB = Math.max(result.peakRssMB, result.latency.peakRssMB);
    }
    result.published = totalSent();
    result.consumed = consumed;
    log(summaryLine(result));
    // BENCH_DEBUG=1 prints the bridge's own counters (Sluice: rule/action/source metrics) per point.
    if (process.env.BENCH_DEBUG) log(JSON.stringify([result.sutStats, result.latency?.sutStats]));
    return result;
  } finally {
    for (const w of workers.reverse()) await w.stop().catch(() => {});
    for (const t of kafkaTopics) await ctx.topics.remove(t);
  }
}

function summaryLine(r) {
  const fmt = (x) => (x === null || x === undefined ? '-' : x.toLocaleString('en-US'));
  let line = `  ${r.label}: ${fmt(r.throughput)} msg/s, ${fmt(r.msgPerCpuSec)} msg/CPU-s (CPU ${r.cpuUtil}), ${fmt(r.recordsPerRequest)} records/request, peak RSS ${r.peakRssMB} MB`;
  if (r.memberShares) line += `, members' shares ${r.memberShares.map((x) => `${Math.round(x * 100)} %`).join(' / ')}`;
  if (r.latency) line += `; at ${fmt(r.latency.rate)}/s p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms max ${r.latency.max} ms${r.latency.keptUp ? '' : ' (fell behind)'}`;
  return line;
}

module.exports = { measurePoint, label, SEED_SQL, SEED_VALUE, TEMPLATED_SQL, WORKERS, sleep };

'use strict';
// Soak: Sluice (at-least-once, 200 B) at half its sustained rate for a long while; RSS and latency per
// window, compared between the start and the end.
const path = require('node:path');
const { Worker } = require('./ipc');
const { measurePoint, SEED_SQL, SEED_VALUE, WORKERS, sleep } = require('./measure');
const { round } = require('./stats');

async function soak(ctx, { rate, seconds }) {
  const { opts, log } = ctx;
  if (rate === undefined) {
    log('soak: measuring the sustained rate first');
    const r = await measurePoint(ctx, { sut: 'sluice', delivery: 'at-least-once', size: 200, rules: 1, procs: 1, capacitySec: Math.min(opts.capacitySec, 15), latencySec: 0 });
    rate = Math.round(r.throughput / 2);
  }
  const topic = `bench-${ctx.runId}-soak`;
  const workers = [];
  log(`soak: Sluice at-least-once 200 B at ${rate.toLocaleString('en-US')} msg/s for ${seconds} s`);
  try {
    await ctx.topics.create(topic, opts.partitions);
    const consumer = new Worker(path.join(WORKERS, 'consumer.js'), { name: 'consumer' });
    workers.push(consumer);
    let consumed = 0;
    consumer.on((m) => m.type === 'progress' && (consumed = m.count));
    await consumer.request('start', { bootstrap: ctx.bootstrap, topic, groupId: `${topic}-reader` }, 60000);
    const sut = new Worker(path.join(WORKERS, 'sut.js'), { args: ['sluice'], name: 'sluice' });
    workers.push(sut);
    await sut.request('start', { config: { mqttUrl: ctx.mqttUrl, bootstrap: ctx.bootstrap, topic, clientId: 'bench-soak', delivery: 'at-least-once', maxInflight: opts.inflight, rules: 1, sql: SEED_SQL, value: SEED_VALUE } }, 60000);
    const sent = new Array(opts.publishers).fill(0);
    const pubs = [];
    for (let i = 0; i < opts.publishers; i++) {
      const w = new Worker(path.join(WORKERS, 'publisher.js'), { name: `publisher#${i}` });
      workers.push(w);
      pubs.push(w);
      w.on((m) => m.type === 'progress' && (sent[i] = m.sent));
      await w.request('start', { url: ctx.mqttUrl, topic: 'temp_hum/emqx', size: 200, clientId: `bench-soak-pub-${i}` }, 30000);
    }
    for (const w of pubs) w.send({ type: 'rate', rate: rate / pubs.length });
    await sleep(3000);
    const windowSec = Math.max(5, Math.min(60, Math.round(seconds / 12)));
    const windows = [];
    const t0 = Date.now();
    let prev = await sut.request('sample');
    await consumer.request('mark');
    let c0 = consumed;
    while ((Date.now() - t0) / 1000 < seconds) {
      await sleep(windowSec * 1000);
      const lat = await consumer.request('collect');
      await consumer.request('mark');
      const s = await sut.request('sample');
      const backlog = sent.reduce((a, b) => a + b, 0) - consumed;
      const w = {
        atSec: Math.round((Date.now() - t0) / 1000),
        delivered: Math.round((consumed - c0) / windowSec),
        p50: lat.latency.p50, p99: lat.latency.p99, max: lat.latency.max,
        rssMB: round(s.rss / 2 ** 20, 1), peakRssMB: round(s.peakRss / 2 ** 20, 1),
        msgPerCpuSec: Math.round((consumed - c0) / ((s.cpuMicros - prev.cpuMicros) / 1e6)),
        backlog,
      };
      windows.push(w);
      ctx.progress(`soak ${w.atSec}/${seconds} s: ${w.delivered} msg/s, p99 ${w.p99} ms, RSS ${w.rssMB} MB, backlog ${backlog}`);
      prev = s;
      c0 = consumed;
    }
    if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
    // The first window holds JIT warm-up and the fresh topic's first fetches: compare from the second.
    const first = windows[Math.min(1, windows.length - 1)];
    const last = windows[windows.length - 1];
    const result = {
      rate, seconds, windowSec, windows,
      start: first, end: last,
      rssGrowth: first && last ? round(last.rssMB / first.rssMB - 1, 3) : null,
      p99Growth: first && last && first.p99 ? round(last.p99 / first.p99 - 1, 3) : null,
    };
    log(`soak: RSS ${first?.rssMB} -> ${last?.rssMB} MB, p99 ${first?.p99} -> ${last?.p99} ms over ${seconds} s`);
    return result;
  } finally {
    for (const w of workers.reverse()) await w.stop().catch(() => {});
    await ctx.topics.remove(topic);
  }
}

module.exports = { soak };

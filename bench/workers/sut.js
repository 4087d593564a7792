'use strict';
// The system under test, alone in this process: `sluice`, `relay` or `nodered`. The runner asks it for
// its own CPU time (process.cpuUsage) and memory over IPC, so the figures exclude every other process.
const { serve } = require('../lib/ipc');

const kind = process.argv[2];
let peakRss = process.memoryUsage.rss();
setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peakRss) peakRss = rss;
}, 100).unref();

let system;

serve({
  async start(msg) {
    const start = require(`./sut-${kind}`);
    system = await start(msg.config);
    return {};
  },
  sample() {
    const cpu = process.cpuUsage();
    const rss = process.memoryUsage.rss();
    const reply = { t: performance.now(), cpuMicros: cpu.user + cpu.system, rss, peakRss, stats: system?.stats?.() };
    peakRss = rss;
    return reply;
  },
}, async () => {
  if (system) await system.stop();
});

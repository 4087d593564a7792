'use strict';
// Summarizes a .cpuprofile: self time by function and by origin (Sluice's packages, kafkajs, mqtt.js,
// Node internals, GC), so a profile can be read without a flame-graph viewer.
const fs = require('node:fs');
const path = require('node:path');

function origin(url) {
  if (!url) return 'native/VM';
  if (url.includes('/packages/core/')) return 'sluice core';
  if (url.includes('/packages/sql/')) return 'sluice sql';
  if (url.includes('/packages/mqtt/')) return 'sluice mqtt';
  if (url.includes('/packages/kafka/')) return 'sluice kafka';
  if (url.includes('/node_modules/kafkajs/')) return 'kafkajs';
  if (url.includes('/node_modules/mqtt-packet/') || url.includes('/node_modules/mqtt/')) return 'mqtt.js';
  if (url.includes('/node_modules/zod/')) return 'zod';
  if (url.includes('/node_modules/inversify')) return 'inversify';
  if (url.includes('/node_modules/')) return `dep ${url.split('/node_modules/').pop().split('/')[0]}`;
  if (url.startsWith('node:')) return 'node internals';
  return 'other';
}

function summarize(file, top = 25) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
  const frames = new Map();
  const origins = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    const cf = node.callFrame;
    if (cf.functionName === '(idle)' || cf.functionName === '(program)') continue;
    total += us;
    const where = cf.url ? `${cf.url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${cf.lineNumber + 1}` : '';
    const name = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    frames.set(name, (frames.get(name) ?? 0) + us);
    const o = cf.functionName === '(garbage collector)' ? 'GC' : origin(cf.url);
    origins.set(o, (origins.get(o) ?? 0) + us);
  }
  const pct = (us) => Math.round((us / total) * 1000) / 10;
  return {
    file,
    busyMs: Math.round(total / 1000),
    origins: [...origins].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, pct: pct(us) })),
    top: [...frames].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, pct: pct(us) })),
  };
}

function printNewest(dir, log) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (files.length === 0) return log('profile: no .cpuprofile written');
  const s = summarize(files[0]);
  log(`profile ${path.relative(process.cwd(), s.file)} (${s.busyMs} ms busy)`);
  log(`  by origin: ${s.origins.map((o) => `${o.name} ${o.pct}%`).join(', ')}`);
  for (const f of s.top) log(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
  fs.writeFileSync(files[0].replace(/\.cpuprofile$/, '.summary.json'), JSON.stringify(s, null, 2));
}

module.exports = { summarize, printNewest };

if (require.main === module) {
  const s = summarize(process.argv[2], Number(process.argv[3] ?? 25));
  console.log(JSON.stringify(s, null, 2));
}

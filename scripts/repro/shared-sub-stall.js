#!/usr/bin/env node
'use strict';
// Issue #13: why `node bench/run.js scale` stalls at 0 msg/s, reproduced with plain mqtt.js clients (no Sluice).
//
//   node scripts/repro/shared-sub-stall.js [--url mqtt://127.0.0.1:1883] [--own-mosquitto] [--own-hivemq] [--n 3000]
//                                          [--window 2000] [--only a,b] [--nodelay]
//
// --own-mosquitto starts a private Mosquitto on a free port with the bench's settings (bench/lib/brokers.js:
// max_queued_messages 0, max_inflight_messages 1000, persistence false) and stops it at the end;
// --own-hivemq does the same with HiveMQ CE (node scripts/hivemq.js fetch first). Without either it talks
// to --url (the shared Mosquitto by default; every session it makes is ended before it exits).
//
// Every scenario uses a group, a topic and client ids of its own, MQTT 5 and QoS 1; members are
// persistent sessions (clean start off, session expiry 300 s) as Sluice's at-least-once source makes them.
//   baseline         two online members split N published messages
//   offline-member   a member joins, disconnects (its session stays), two others join: who gets what, and
//                    what the departed member finds when it comes back
//   window           the bench's flow control (publish only while fewer than W messages are unread by the
//                    online members) with and without an offline member left in the group: msg/s per second
//   leave-unsub      the member unsubscribes before it disconnects
//   leave-expiry0    the member disconnects with DISCONNECT session expiry 0 (its session ends)
//   leave-midstream  as Sluice's end-session does, mid-stream: a member unsubscribes while messages flow, keeps
//                    acknowledging for 500 ms, then disconnects with session expiry 0: does the other member get the
//                    rest? (On HiveMQ CE 2025.5 a Sluice member that did this stalled the group: docs/operations.md)
//   unacked-crash    a member holds its messages unacknowledged and its connection drops (persistent and
//                    clean session): does the broker give its in-flight messages to the other member?
const { randomBytes } = require('node:crypto');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, answers } = require('../lib/ports');
const { parseArgs } = require('node:util');
const mqtt = require('mqtt');

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    'own-mosquitto': { type: 'boolean', default: false },
    'own-hivemq': { type: 'boolean', default: false },
    n: { type: 'string', default: '3000' },
    window: { type: 'string', default: '2000' },
    only: { type: 'string' },
    // TCP_NODELAY on every client socket (mqtt.js sets none): HiveMQ delivers ~1,000 QoS 1 msg/s per client without it
    nodelay: { type: 'boolean', default: false },
  },
});
const N = Number(args.n);
const W = Number(args.window);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = randomBytes(3).toString('hex');
const madeIds = new Set(); // persistent client ids to end at exit
let url = args.url;

function connect(clientId, { persistent = true, expiry = 300, receiveMaximum = 100, manualHold = false } = {}) {
  if (persistent) madeIds.add(clientId);
  const client = mqtt.connect(url, {
    clientId,
    protocolVersion: 5,
    clean: !persistent,
    reconnectPeriod: 0,
    properties: { receiveMaximum, ...(persistent && { sessionExpiryInterval: expiry }) },
  });
  if (args.nodelay) client.on('connect', () => client.stream.setNoDelay(true));
  client.received = 0;
  client.dups = 0;
  client.on('message', (_t, _p, packet) => {
    client.received++;
    if (packet.dup) client.dups++;
  });
  if (manualHold) {
    // Never acknowledge: mqtt.js handles one packet at a time, so the first publish blocks the connection and
    // the broker's in-flight window for this client (Receive Maximum) fills with unacknowledged messages.
    client.handleMessage = (packet) => {
      client.received++;
      client.held = (client.held ?? 0) + 1;
    };
  }
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => {
      client.sessionPresent = connack.sessionPresent;
      resolve(client);
    });
    client.once('error', reject);
  });
}

async function join(clientId, group, topic, opts) {
  const c = await connect(clientId, opts);
  await c.subscribeAsync(`$share/${group}/${topic}`, { qos: 1 });
  return c;
}

async function publishAll(topic, n) {
  const pub = await connect(`repro-${run}-pub-${randomBytes(2).toString('hex')}`, { persistent: false });
  const chunk = 500;
  for (let i = 0; i < n; i += chunk) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) batch.push(pub.publishAsync(topic, String(j), { qos: 1 }));
    await Promise.all(batch);
  }
  await pub.endAsync();
}

/** Waits until the counts stop moving for `quietMs`. */
async function settle(clients, quietMs = 700, maxMs = 10000) {
  const until = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < until) {
    const now = clients.reduce((a, c) => a + c.received, 0);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(100);
  }
}

/** Ends a client's session (clean start + session expiry 0) so the broker keeps nothing of ours. */
async function endSession(clientId) {
  const c = await connect(clientId, { persistent: false });
  await c.endAsync();
}

const names = (s) => ({ group: `g${run}${s}`, topic: `sluice-repro/${run}/${s}`, id: (who) => `repro-${run}-${s}-${who}` });
const line = (text) => console.log(`  ${text}`);

const scenarios = {
  async baseline() {
    const { group, topic, id } = names('base');
    const a = await join(id('a'), group, topic);
    const b = await join(id('b'), group, topic);
    await publishAll(topic, N);
    await settle([a, b]);
    line(`2 online members, ${N} published: a ${a.received}, b ${b.received} (total ${a.received + b.received})`);
    await Promise.all([a.endAsync(), b.endAsync()]);
  },

  async 'offline-member'() {
    const { group, topic, id } = names('off');
    const gone = await join(id('gone'), group, topic);
    await gone.endAsync(); // a plain disconnect: the session (and its shared subscription) stays
    const a = await join(id('a'), group, topic);
    const b = await join(id('b'), group, topic);
    await publishAll(topic, N);
    await settle([a, b]);
    line(`member 'gone' disconnected (session kept), a and b online, ${N} published: a ${a.received}, b ${b.received}; ${N - a.received - b.received} not delivered to an online member`);
    await Promise.all([a.endAsync(), b.endAsync()]);
    const back = await join(id('gone'), group, topic);
    await settle([back], 1000);
    line(`'gone' reconnects (session present: ${back.sessionPresent}): receives ${back.received} queued message(s)`);
    await back.endAsync();
  },

  async window() {
    for (const stale of [false, true]) {
      const { group, topic, id } = names(stale ? 'winS' : 'win0');
      if (stale) {
        const gone = await join(id('gone'), group, topic);
        await gone.endAsync();
      }
      const a = await join(id('a'), group, topic, { receiveMaximum: 1000 });
      const b = await join(id('b'), group, topic, { receiveMaximum: 1000 });
      const pub = await connect(id('pub'), { persistent: false });
      const read = () => a.received + b.received;
      let sent = 0;
      let stop = false;
      // The bench's credit loop: never more than W published and not yet read by a consumer.
      const loop = (async () => {
        while (!stop) {
          const budget = W - (sent - read());
          if (budget < W / 10) {
            await sleep(5);
            continue;
          }
          const batch = [];
          for (let i = 0; i < budget; i++) batch.push(pub.publishAsync(topic, String(sent++), { qos: 1 }));
          await Promise.all(batch);
        }
      })();
      const rates = [];
      let last = 0;
      for (let s = 0; s < 4; s++) {
        await sleep(1000);
        const now = read();
        rates.push(now - last);
        last = now;
      }
      stop = true;
      await loop;
      line(`${stale ? 'with' : 'without'} an offline member in the group, window ${W}: msg/s per second ${rates.join(', ')}; published ${sent}, read ${read()}, unread ${sent - read()}`);
      await Promise.all([a.endAsync(), b.endAsync(), pub.endAsync()]);
    }
  },

  async 'leave-unsub'() {
    const { group, topic, id } = names('unsub');
    const gone = await join(id('gone'), group, topic);
    await gone.unsubscribeAsync(`$share/${group}/${topic}`);
    await gone.endAsync(); // session kept, but without the subscription
    const a = await join(id('a'), group, topic);
    const b = await join(id('b'), group, topic);
    await publishAll(topic, N);
    await settle([a, b]);
    line(`member unsubscribed, then disconnected (session kept): a ${a.received}, b ${b.received}; ${N - a.received - b.received} not delivered`);
    await Promise.all([a.endAsync(), b.endAsync()]);
  },

  async 'leave-expiry0'() {
    const { group, topic, id } = names('exp0');
    const gone = await join(id('gone'), group, topic);
    await gone.endAsync(false, { properties: { sessionExpiryInterval: 0 } }); // MQTT 5: the session ends now
    const a = await join(id('a'), group, topic);
    const b = await join(id('b'), group, topic);
    await publishAll(topic, N);
    await settle([a, b]);
    line(`member disconnected with DISCONNECT session expiry 0: a ${a.received}, b ${b.received}; ${N - a.received - b.received} not delivered`);
    await Promise.all([a.endAsync(), b.endAsync()]);
  },

  async 'leave-midstream'() {
    const { group, topic, id } = names('mid');
    const a = await join(id('a'), group, topic, { receiveMaximum: 50 });
    const b = await join(id('b'), group, topic, { receiveMaximum: 50 });
    const publishing = publishAll(topic, N);
    while (a.received + b.received < N / 4) await sleep(10);
    const aAtLeave = a.received;
    await a.unsubscribeAsync(`$share/${group}/${topic}`);
    await sleep(500); // what was in flight to it still arrives and is acknowledged (mqtt.js acknowledges on receipt)
    await a.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
    await publishing;
    await settle([b], 1500, 20000);
    line(`a left mid-stream after ${aAtLeave} (unsubscribe, 500 ms, DISCONNECT session expiry 0; ${a.received} in all): b ${b.received}; ${N - a.received - b.received} not delivered`);
    // still queued for the group, or gone? a member that joins now would get what is queued
    const c = await join(id('c'), group, topic, { receiveMaximum: 50 });
    await settle([b, c], 1500, 20000);
    line(`  then c joins the group: c ${c.received}, b ${b.received}; ${N - a.received - b.received - c.received} not delivered`);
    await Promise.all([b.endAsync(), c.endAsync()]);
  },

  async 'unacked-crash'() {
    for (const persistent of [true, false]) {
      const { group, topic, id } = names(persistent ? 'crP' : 'crC');
      // The holder is alone in the group for the first 20 messages, so it surely holds some unacknowledged
      // (10 in flight, its Receive Maximum; the other 10 waiting for it at the broker); then b joins.
      const holder = await join(id('holder'), group, topic, { persistent, receiveMaximum: 10, manualHold: true });
      await publishAll(topic, 20);
      await sleep(1000);
      const b = await join(id('b'), group, topic);
      const m = 1000;
      await publishAll(topic, m - 20);
      await settle([b], 1500);
      const beforeB = b.received;
      // A crash: the socket goes away without DISCONNECT (the broker sees a network error).
      holder.stream.destroy();
      holder.end(true);
      await sleep(1500);
      await settle([b], 1500);
      line(`${persistent ? 'persistent' : 'clean'} member 'holder' held its messages unacknowledged (Receive Maximum 10), then crashed: b had ${beforeB} of ${m} before the crash, ${b.received - beforeB} more after it (${b.dups} marked dup); ${m - b.received} not at b`);
      if (persistent) {
        const back = await join(id('holder'), group, topic);
        await settle([back], 1500);
        line(`  'holder' comes back (session present: ${back.sessionPresent}): receives ${back.received} (${back.dups} marked dup); delivered in all ${b.received + back.received} of ${m}`);
        await back.endAsync();
      }
      await b.endAsync();
    }
  },
};



/** A private Mosquitto with the bench's settings (bench/lib/brokers.js), on a free port. */
async function ownMosquitto() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-repro-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `user ${os.userInfo().username}`,
    'max_inflight_messages 1000', 'max_queued_messages 0', 'max_queued_bytes 0', 'persistence false', 'set_tcp_nodelay true', ''].join('\n'));
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  process.on('exit', () => child.kill('SIGKILL'));
  const until = Date.now() + 10000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > until) throw new Error('mosquitto did not start');
    await sleep(50);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    label: 'private Mosquitto (bench settings: max_queued_messages 0, max_inflight_messages 1000)',
    stop: async () => {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main() {
  let broker;
  if (args['own-mosquitto']) broker = await ownMosquitto();
  else if (args['own-hivemq']) {
    const { startPrivate } = require('../hivemq');
    const h = await startPrivate({ log: () => {} });
    broker = { url: h.url, label: `private HiveMQ CE ${h.version} (in-memory persistence, max-queue-size ${h.maxQueueSize})`, stop: h.stop };
  } else broker = { url: args.url, label: args.url, stop: async () => {} };
  url = broker.url;
  console.log(`broker: ${broker.label} at ${url}; N=${N}, window ${W}, run ${run}`);
  try {
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (args.only && !args.only.split(',').includes(name)) continue;
      console.log(`${name}:`);
      const t0 = Date.now();
      try {
        await scenario();
      } catch (error) {
        line(`failed: ${error.message}`);
      }
      line(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    // Leave no session of ours on the broker (the shared Mosquitto persists them to disk).
    for (const clientId of madeIds) await endSession(clientId).catch(() => {});
    await broker.stop();
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});

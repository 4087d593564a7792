'use strict';
// One publisher process: QoS 1 readings to the benchmark's MQTT broker, either as fast as the runner's
// credits allow (capacity phases) or at a fixed rate (latency phases, soak). Reports counts over IPC.
const mqtt = require('../lib/deps').mqtt();
const { serve } = require('../lib/ipc');
const { makePayload } = require('../lib/payload');

let client;
let topic;
let size;
let seq = 0;
let acked = 0;
let credit = 0;
let rate = 0;
let rateStart = 0;
let rateBase = 0;
let timer;
const onAck = (err) => {
  if (!err) acked++;
};

function publishOne() {
  client.publish(topic, makePayload(seq++, size), { qos: 1 }, onAck);
}

function tick() {
  // Credits: publish what the runner allows, in slices so the socket gets written between them.
  let n = Math.min(credit, 500);
  credit -= n;
  while (n-- > 0) publishOne();
  if (rate > 0) {
    const due = rateBase + Math.floor(((performance.now() - rateStart) / 1000) * rate);
    let m = Math.min(due - seq, 2000);
    while (m-- > 0) publishOne();
  }
  timer = credit > 0 ? setImmediate(tick) : setTimeout(tick, 2);
}

serve({
  async start(msg) {
    topic = msg.topic;
    size = msg.size;
    client = mqtt.connect(msg.url, { clientId: msg.clientId, protocolVersion: 4, clean: true, reconnectPeriod: 500 });
    // Small QoS 1 publishes otherwise wait on Nagle against the broker's delayed ACKs (Mosquitto's
    // set_tcp_nodelay covers its own side only; HiveMQ sets nothing): as Sluice's source does, per connection.
    client.on('connect', () => client.stream.setNoDelay?.(true));
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    setInterval(() => process.send({ type: 'progress', sent: seq, acked }), 50).unref();
    tick();
    return {};
  },
  credit(msg) {
    credit += msg.n;
    rate = 0;
  },
  rate(msg) {
    credit = 0;
    rate = msg.rate;
    rateStart = performance.now();
    rateBase = seq;
  },
  pause() {
    credit = 0;
    rate = 0;
    return { sent: seq, acked };
  },
}, async () => {
  clearTimeout(timer);
  clearImmediate(timer);
  if (client) await client.endAsync().catch(() => {});
});

'use strict';
// Reads the benchmark topic(s) and measures publish -> record readable: the payload's `ts` (µs since
// the epoch, set by the publisher) against this process's clock when the record arrives.
const { Kafka, logLevel } = require('../lib/deps').kafkajs();
const { serve } = require('../lib/ipc');
const { summarize } = require('../lib/stats');
const { nowMicros } = require('../lib/payload');

let consumer;
let count = 0;
let bad = 0;
let recording = false;
let latencies = new Float64Array(1 << 20);
let n = 0;

function record(ms) {
  if (n === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[n++] = ms;
}

function tsOf(buf) {
  // Each SUT writes JSON holding "ts":<integer>; find it without parsing the whole value.
  const text = buf.toString('latin1');
  const i = text.indexOf('"ts":');
  if (i < 0) return NaN;
  let j = i + 5;
  while (text.charCodeAt(j) === 32) j++;
  let k = j;
  while (k < text.length && text.charCodeAt(k) >= 48 && text.charCodeAt(k) <= 57) k++;
  return Number(text.slice(j, k));
}

serve({
  async start(msg) {
    const kafka = new Kafka({ clientId: 'bench-consumer', brokers: [msg.bootstrap], logLevel: logLevel.NOTHING });
    consumer = kafka.consumer({ groupId: msg.groupId, maxWaitTimeInMs: 20, minBytes: 1, maxBytes: 16 << 20, maxBytesPerPartition: 4 << 20 });
    const joined = new Promise((resolve) => {
      const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
        remove();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: msg.topics ?? [msg.topic], fromBeginning: true });
    await consumer.run({
      // A fresh group per point: committing offsets would only add requests between fetches.
      autoCommit: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        const now = nowMicros();
        for (const m of batch.messages) {
          count++;
          if (!recording || m.value === null) continue;
          const ts = tsOf(m.value);
          if (Number.isFinite(ts)) record((now - ts) / 1000);
          else bad++;
        }
      },
    });
    await joined;
    setInterval(() => process.send({ type: 'progress', count }), 50).unref();
    return {};
  },
  mark() {
    recording = true;
    n = 0;
    return { count };
  },
  collect() {
    recording = false;
    const summary = summarize(latencies, n);
    n = 0;
    return { count, bad, latency: summary };
  },
}, async () => {
  if (consumer) await consumer.disconnect().catch(() => {});
});

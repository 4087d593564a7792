'use strict';
// The limit of this stack: an mqtt.js subscriber handing each payload to a kafkajs producer, batched
// as well as kafkajs allows (it has no linger of its own): everything that arrives within one turn of
// the event loop goes out in one send (at most 896 KiB), up to 5 sends in flight, and batches grow while all are busy.
// No rules, no metrics, no per-message acknowledgement bookkeeping (mqtt.js acknowledges on receipt).
const { kafkajs, mqtt } = require('../lib/deps');

const MAX_INFLIGHT = 5;
const MAX_BATCH = 10000;
// One send stays within the bytes Sluice's action puts in one request (maxBatchBytes' default): a send of
// thousands of 1 KiB records made record batches beyond the broker's message.max.bytes (1 MB), which
// failed and lost them (the relay at 1 KiB counted thousands of failed records per point before).
const MAX_BATCH_BYTES = 896 * 1024;

module.exports = async function startRelay(config) {
  const { Kafka, logLevel } = kafkajs();
  const kafka = new Kafka({ clientId: 'bench-relay', brokers: [config.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let pending = [];
  let inflight = 0;
  let scheduled = false;
  let sent = 0;
  let failed = 0;
  let requests = 0;
  let firstError;

  const flush = () => {
    scheduled = false;
    while (pending.length > 0 && inflight < MAX_INFLIGHT) {
      let n = 0;
      let bytes = 0;
      while (n < pending.length && n < MAX_BATCH && (n === 0 || bytes + pending[n].value.length <= MAX_BATCH_BYTES)) bytes += pending[n++].value.length;
      const messages = n < pending.length ? pending.splice(0, n) : pending;
      if (messages === pending) pending = [];
      inflight++;
      producer.send({ topic: config.topic, acks: -1, messages }).then(
        () => {
          sent += messages.length;
          requests++;
        },
        (error) => {
          failed += messages.length;
          firstError ??= String(error && error.message);
        },
      ).finally(() => {
        inflight--;
        if (pending.length > 0) flush();
      });
    }
  };

  const client = mqtt().connect(config.mqttUrl, { clientId: config.clientId, protocolVersion: 5, clean: true, properties: { receiveMaximum: config.maxInflight } });
  client.on('message', (_topic, payload) => {
    pending.push({ value: payload });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  await client.subscribeAsync(config.shareGroup ? `$share/${config.shareGroup}/temp_hum/emqx` : 'temp_hum/emqx', { qos: 1 });
  return {
    stats: () => ({ success: sent, actionFailed: failed, requests, ...(firstError && { errors: [firstError] }) }),
    async stop() {
      await client.endAsync();
      while (inflight > 0) await new Promise((r) => setTimeout(r, 20));
      await producer.disconnect();
    },
  };
};

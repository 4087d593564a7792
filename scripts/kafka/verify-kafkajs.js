'use strict';
// `node scripts/kafka.js verify`: checks kafkajs 2.2.4 against the running test broker and prints
// one line per check plus, per Kafka API kafkajs implements, which version the two negotiate.
// This is how the kafkajs-vs-Kafka-4.x verdict in docs/brokers.md was reached; rerun it after a bump.
const fs = require('node:fs');
const net = require('node:net');
const { randomUUID } = require('node:crypto');

/** The broker's ApiVersions (v0 request: no tagged fields, so it is trivial to encode by hand). */
function brokerApiVersions(host, port) {
  return new Promise((resolve, reject) => {
    const clientId = Buffer.from('sluice-verify');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2);
    body.writeInt32BE(1, 4);
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    const socket = net.connect({ host, port }, () => socket.write(Buffer.concat([size, body])));
    let data = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error('ApiVersions timed out')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 4 || data.length < 4 + data.readInt32BE(0)) return;
      socket.end();
      const error = data.readInt16BE(8);
      if (error !== 0) return reject(new Error(`ApiVersions error code ${error}`));
      const count = data.readInt32BE(10);
      const out = new Map();
      for (let i = 0, o = 14; i < count; i++, o += 6) {
        out.set(data.readInt16BE(o), { min: data.readInt16BE(o + 2), max: data.readInt16BE(o + 4) });
      }
      resolve(out);
    });
  });
}

function negotiation(broker) {
  const apiKeys = require('kafkajs/src/protocol/requests/apiKeys');
  const requests = require('kafkajs/src/protocol/requests');
  const rows = [];
  for (const [name, key] of Object.entries(apiKeys)) {
    const def = requests.requests[name];
    const ours = def ? def.versions.map(Number) : [];
    if (ours.length === 0) continue;
    const range = broker.get(key);
    const usable = range ? ours.filter((v) => v >= range.min && v <= range.max) : [];
    rows.push({
      api: name,
      kafkajs: `${Math.min(...ours)}-${Math.max(...ours)}`,
      broker: range ? `${range.min}-${range.max}` : 'absent',
      negotiated: usable.length ? Math.max(...usable) : null,
    });
  }
  return rows;
}

async function verifyKafkajs(state, log) {
  const { Kafka, logLevel, CompressionTypes, Partitioners } = require('kafkajs');
  const results = [];
  const check = async (name, fn) => {
    const t0 = Date.now();
    try {
      const detail = await fn();
      results.push({ name, ok: true });
      log(`ok    ${name}${detail ? ` (${detail})` : ''} ${Date.now() - t0} ms`);
    } catch (err) {
      results.push({ name, ok: false, error: err });
      log(`FAIL  ${name}: ${err && err.name}: ${err && err.message}`);
    }
  };
  const ca = [fs.readFileSync(state.caFile, 'utf8')];
  const base = { logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 2 } };
  const client = (extra) => new Kafka({ clientId: 'sluice-verify', ...base, ...extra });
  const plaintext = client({ brokers: [state.bootstrap] });
  const topic = `verify-${randomUUID()}`;
  const admin = plaintext.admin();

  const [host, port] = state.bootstrap.split(':');
  const rows = negotiation(await brokerApiVersions(host, Number(port)));
  const broken = rows.filter((r) => r.negotiated === null);
  for (const r of rows) log(`api   ${r.api.padEnd(28)} kafkajs ${r.kafkajs.padEnd(6)} broker ${r.broker.padEnd(7)} -> ${r.negotiated ?? 'NONE'}`);

  await check('admin.connect + describeCluster', async () => {
    await admin.connect();
    const c = await admin.describeCluster();
    return `${c.brokers.length} broker, controller ${c.controller}`;
  });
  await check('admin.createTopics (3 partitions, waitForLeaders)', async () => {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    if (!created) throw new Error('createTopics returned false');
  });
  await check('admin.fetchTopicMetadata / describeConfigs / createPartitions', async () => {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    return `${md.topics[0].partitions.length} partitions before, 4 after`;
  });
  const produce = async (kafka, label, opts = {}) => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...opts });
    await producer.connect();
    try {
      const res = await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: [{ key: `k-${label}`, value: `v-${label}`, headers: { h: ['a', 'b'], src: label } }],
      });
      return `partition ${res[0].partition} offset ${res[0].baseOffset}`;
    } finally {
      await producer.disconnect();
    }
  };
  await check('produce acks=all + gzip + headers (PLAINTEXT)', () => produce(plaintext, 'plain'));
  await check('idempotent producer (acks=all, gzip)', () => produce(plaintext, 'idem', { idempotent: true, maxInFlightRequests: 1 }));
  await check('transactional producer commit', async () => {
    const producer = plaintext.producer({ transactionalId: `verify-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({ topic, messages: [{ key: 'k-tx', value: 'v-tx' }] });
      await tx.commit();
    } finally {
      await producer.disconnect();
    }
  });
  const sasl = (brokers, mechanism, user, ssl) => client({ brokers: [brokers], ssl, sasl: { mechanism, ...user } });
  await check('SASL_SSL SCRAM-SHA-256 with the CA', () => produce(sasl(state.saslSsl, 'scram-sha-256', state.users.scram256, { ca }), 'scram256'));
  await check('SASL_SSL SCRAM-SHA-512 with the CA', () => produce(sasl(state.saslSsl, 'scram-sha-512', state.users.scram512, { ca }), 'scram512'));
  await check('SASL_SSL PLAIN with the CA', () => produce(sasl(state.saslSsl, 'plain', state.users.plain, { ca }), 'plainsasl'));
  await check('SASL_PLAINTEXT SCRAM-SHA-256', () => produce(sasl(state.saslPlaintext, 'scram-sha-256', state.users.scram256, undefined), 'saslplaintext'));
  await check('wrong SCRAM password is rejected', async () => {
    try {
      await produce(sasl(state.saslSsl, 'scram-sha-256', { ...state.users.scram256, password: 'wrong' }, { ca }), 'x');
    } catch (err) {
      return `${err.name}: ${err.message}`;
    }
    throw new Error('a wrong password was accepted');
  });
  // plain, idem, tx, scram256, scram512, plainsasl, saslplaintext (the transaction marker is no message)
  const expected = 7;
  await check('consumer group reads everything from the earliest offset', async () => {
    const consumer = plaintext.consumer({ groupId: `verify-${randomUUID()}`, maxWaitTimeInMs: 100 });
    const keys = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${keys.length} of ${expected} messages: ${keys.join(',')}`)), 20000);
        consumer.run({
          eachMessage: async ({ message }) => {
            keys.push(String(message.key));
            if (keys.length === expected) {
              clearTimeout(timer);
              resolve();
            }
          },
        }).catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return keys.sort().join(',');
  });
  await check('admin.fetchOffsets / listGroups / deleteTopics', async () => {
    await admin.fetchTopicOffsets(topic);
    const groups = await admin.listGroups();
    await admin.deleteTopics({ topics: [topic] });
    return `${groups.groups.length} groups`;
  });
  await admin.disconnect();
  return { rows, broken, results };
}

module.exports = { verifyKafkajs, brokerApiVersions };

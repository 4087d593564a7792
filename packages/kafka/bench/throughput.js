'use strict';
// Records/s through one Kafka action against the local test broker (`node scripts/kafka.js start`).
// Prints figures; asserts nothing. Run after `npx tsc -b packages/kafka packages/sql`:
//   node packages/kafka/bench/throughput.js [records=200000] [valueBytes=100] [concurrency=5000]
// `concurrency` bounds the sends awaiting their ack, as the runtime's in-flight window would.
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { Kafka, logLevel } = require('kafkajs');
const { silentLogger } = require('@sluice/core');
const { compileTemplate } = require('@sluice/sql');
const { KafkaConnector, createKafkaProducer, parseKafkaConnectorConfig } = require('../dist');

async function main() {
  const [records = 200_000, valueBytes = 100, concurrency = 5000] = process.argv.slice(2).map(Number);
  const broker = JSON.parse(readFileSync(path.resolve(__dirname, '../../../.sluice/kafka/broker.json'), 'utf8'));
  const topic = `bench-${Date.now()}`;
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

  const configs = [
    ['acks=all, none', {}],
    ['acks=all, 5000-record batches', { maxBatchRecords: 5000 }],
    ['acks=all, gzip', { compression: 'gzip' }],
    ['acks=all, key_dispatch', { partitionStrategy: 'key_dispatch' }],
    ['acks=all, disk buffer', { buffer: { mode: 'disk', dir: mkdtempSync(path.join(tmpdir(), 'sluice-bench-')) } }],
    // Kafka keeps up here, so a hybrid buffer never spills: the figure shows what the mode costs when idle
    ['acks=all, hybrid buffer', { buffer: { mode: 'hybrid', dir: mkdtempSync(path.join(tmpdir(), 'sluice-bench-')) } }],
    ['acks=all, queryMode sync', { queryMode: 'sync' }],
  ];
  // a warm-up pass (JIT, connections), then each configuration twice, interleaved
  for (const [round, [label, settings]] of [configs[0], ...configs, ...configs].entries()) {
    const config = parseKafkaConnectorConfig({ id: 'bench', bootstrapHosts: broker.bootstrap });
    const producer = createKafkaProducer(config, silentLogger);
    let requests = 0;
    producer.on(producer.events.REQUEST, (e) => { if (e.payload.apiName === 'Produce') requests += 1; });
    const connector = new KafkaConnector(config, producer, silentLogger);
    await connector.start(new AbortController().signal);
    const action = connector.createAction({ topic, value: '{"seq": ${seq}, "data": "${data}"}', ...settings },
      { id: 'bench:kafka', ruleId: 'bench', templates: { compileTemplate }, logger: silentLogger, dropped: () => {} });
    const message = { sourceId: 'bench', topic: 't/1', payload: Buffer.alloc(0), qos: 1, retain: false, dup: false,
      clientId: undefined, username: undefined, peerHost: undefined, receivedAt: Date.now(), properties: undefined };
    const data = 'x'.repeat(Math.max(0, valueBytes - 30));
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    let next = 0;
    const worker = async () => {
      while (next < records) {
        const seq = next++;
        await action.send({ seq, data, clientid: `dev-${seq % 1000}` }, message);
      }
    };
    // `concurrency` independent senders, each awaiting its own record: records arrive while requests fly
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    const cpuPerRecord = (used.user + used.system) / records;
    console.log(`${round === 0 ? '(warm-up) ' : ''}${label.padEnd(30)} ${cpuPerRecord.toFixed(1)} µs CPU/record, ${records} records of ~${valueBytes} B in ${seconds.toFixed(2)} s = ${Math.round(records / seconds)} records/s, ${requests} produce requests (${Math.round(records / requests)} records/request)`);
    await connector.stop();
  }
  for (const [, settings] of configs) if (settings.buffer?.dir) rmSync(settings.buffer.dir, { recursive: true, force: true });
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
}

main().catch((error) => { console.error(error); process.exitCode = 1; });

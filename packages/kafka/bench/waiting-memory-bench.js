// Heap held per record while it waits for Kafka (its topic missing), against what `buffer.limit` counts for it:
// once in the Kafka action alone, once through the whole runtime (in-memory source -> the seed SQL rule -> the
// action), which also keeps the MQTT message and the rule output until the send settles (the fallbacks need
// them). `buffer.limit` counts the second case's estimate for both (RenderedRecord.held: the action cannot tell
// whether a runtime keeps the message). Run with `npm run bench:kafka-memory` (it builds first; node --expose-gc).
// Figures only, no assertions.
'use strict';
const { createIntegration, connectorModule, silentLogger, sourceModule } = require('@sluice/core');
const { InMemorySource } = require('@sluice/core/testing');
const { sqlModule, compileTemplate } = require('@sluice/sql');
const { KafkaConnector, parseKafkaConnectorConfig } = require('../dist/index.js');
const { FakeTopicDirectory } = require('../dist/testing/fake-topic-directory.js');

const RECORDS = Number(process.env.BENCH_RECORDS ?? 50_000);
const SQL = 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum, payload.ts as ts, payload.seq as seq FROM "temp_hum/emqx"';
const ACTION = { topic: 'gone', key: '${clientid}', value: '{"temp": ${temp}, "hum": ${hum}, "ts": ${ts}, "seq": ${seq}}' };

if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:kafka-memory does)');

/** A connector whose topic `gone` does not exist, and whose producer never answers. */
function connectorWithoutTopic() {
  const producer = { async connect() {}, async disconnect() {}, sendBatch: () => new Promise(() => {}) };
  const directory = new FakeTopicDirectory(3);
  directory.deleteTopic('gone');
  return new KafkaConnector(parseKafkaConnectorConfig({ id: 'kafka', bootstrapHosts: '127.0.0.1:1' }), producer, silentLogger, undefined, directory);
}

async function heapPerRecord(fill) {
  global.gc();
  const before = process.memoryUsage().heapUsed;
  const counted = await fill();
  await new Promise((resolve) => setTimeout(resolve, 200));
  global.gc();
  return { heap: (process.memoryUsage().heapUsed - before) / RECORDS, counted: counted() / RECORDS };
}

const payload = (i) => `{"seq":${i},"ts":${1733540000000000 + i},"temp":21.5,"hum":40.1,"pad":"${'x'.repeat(120)}"}`;

async function actionAlone() {
  const context = { id: 'r:kafka', ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped() {} };
  const action = connectorWithoutTopic().createAction(ACTION, context);
  const message = { sourceId: 'src', topic: 'temp_hum/emqx', payload: Buffer.from(payload(0)), qos: 1 };
  return heapPerRecord(async () => {
    for (let i = 0; i < RECORDS; i++) {
      void action.send({ timestamp: Date.now(), clientid: `dev-${i % 100}`, temp: 21.5, hum: 40.1, ts: 1733540000000000 + i, seq: i }, message);
    }
    return () => action.queuedBytes();
  });
}

async function throughTheRuntime() {
  const source = new InMemorySource('src');
  const app = await createIntegration({
    logger: silentLogger,
    modules: [sourceModule(source), connectorModule(connectorWithoutTopic()), sqlModule()],
    rules: [{ id: 'r', sql: SQL, actions: [{ connector: 'kafka', ...ACTION }] }],
  });
  await app.start();
  return heapPerRecord(async () => {
    for (let i = 0; i < RECORDS; i++) source.push('temp_hum/emqx', payload(i), { qos: 1, clientId: `dev-${i % 100}` });
    return () => app.metrics.action('r:kafka').connector.queuing_bytes;
  });
}

(async () => {
  console.log(`${RECORDS.toLocaleString('en-US')} records waiting for a missing topic; the MQTT payload is ${payload(0).length} bytes`);
  for (const [name, run] of [['the Kafka action alone', actionAlone], ['source -> rule -> action', throughTheRuntime]]) {
    const { heap, counted } = await run();
    console.log(`${name.padEnd(26)} heap ${Math.round(heap).toLocaleString('en-US').padStart(6)} bytes per record; buffer.limit counts ${Math.round(counted)}`);
  }
  process.exit(0);
})();

'use strict';
// Sluice as a user composes it: MQTT client source -> SQL rules -> Kafka action (acks=all).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { sluice, mqtt } = require('../lib/deps');

module.exports = async function startSluice(config) {
  const { createIntegration } = sluice('core');
  const { mqttModule } = sluice('mqtt');
  const { sqlModule } = sluice('sql');
  const { kafkaModule } = sluice('kafka');
  const errors = [];
  const note = (level) => (message, fields) => {
    if (errors.length < 20) errors.push(`${level}: ${message} ${fields ? JSON.stringify(fields) : ''}`);
  };
  const logger = { debug() {}, info() {}, warn: note('warn'), error: note('error'), child: () => logger };
  // `buffer: 'hybrid'`: the action spills to a disk log of its own, removed when the point stops
  const bufferDir = config.buffer === 'hybrid' ? fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-')) : undefined;
  const action = {
    connector: 'kafka',
    topic: config.topic,
    key: '${clientid}',
    value: config.value,
    requiredAcks: 'all',
    ...(config.lingerMs > 0 && { maxLingerTime: config.lingerMs }),
    ...(bufferDir && { buffer: { mode: 'hybrid', dir: bufferDir } }),
  };
  const rules = [{ id: 'seed', sql: config.sql, actions: [{ ...action, id: 'seed-kafka' }] }];
  for (let i = 1; i < config.rules; i++) {
    rules.push({ id: `other-${i}`, sql: `SELECT timestamp, clientid, payload.temp as temp FROM "bench/other/${i}/#"`, actions: [{ ...action, id: `other-${i}-kafka` }] });
  }
  const app = await createIntegration({
    modules: [
      mqttModule({
        id: 'bench',
        url: config.mqttUrl,
        clientId: config.clientId,
        delivery: config.delivery,
        maxInflight: config.maxInflight,
        ...(config.shareGroup ? { shareGroup: config.shareGroup } : {}),
        session: { persistent: config.delivery === 'at-least-once' },
      }),
      sqlModule(),
      kafkaModule({ id: 'kafka', bootstrapHosts: [config.bootstrap] }),
    ],
    rules,
    logger,
  });
  await app.start();
  return {
    stats() {
      const rule = app.metrics.rule('seed');
      const act = app.metrics.action('seed-kafka');
      const src = app.metrics.source('bench');
      return {
        matched: rule?.matched, failed: rule?.failed, success: act?.success, actionFailed: act?.failed, dropped: act?.dropped,
        actionInflight: act?.inflight, actionQueuing: act?.queuing,
        // produce requests answered (one latency sample each): records per request tells how well batches grow
        requests: act?.connector?.['produce_latency.count'],
        received: src?.received, pending: src?.pending, acknowledged: src?.acknowledged, duplicates: src?.duplicates,
        errors: errors.slice(0, 5),
      };
    },
    async stop() {
      await app.stop();
      if (bufferDir) fs.rmSync(bufferDir, { recursive: true, force: true });
      // A member that only disconnects keeps its persistent session, and on Mosquitto 2.0 its place in a
      // share group: the broker goes on routing 1/N of the stream into that offline session, which stalled
      // the next scale points against the publisher's window (issue #13; scripts/repro/shared-sub-stall.js).
      // Outside a group the session would still queue a copy of every later point's messages. End it:
      // connect once with the same client id and a clean start (MQTT 5, session expiry 0), then disconnect.
      if (config.delivery !== 'at-least-once') return;
      const client = await mqtt().connectAsync(config.mqttUrl, { clientId: config.clientId, protocolVersion: 5, clean: true, reconnectPeriod: 0 });
      await client.endAsync();
    },
  };
};

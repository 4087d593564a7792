'use strict';
// Sluice as a user composes it: MQTT client source -> SQL rules -> Kafka action (acks=all).
const { sluice } = require('../lib/deps');

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
  const action = {
    connector: 'kafka',
    topic: config.topic,
    key: '${clientid}',
    value: config.value,
    requiredAcks: 'all',
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
        received: src?.received, pending: src?.pending, acknowledged: src?.acknowledged, duplicates: src?.duplicates,
        errors: errors.slice(0, 5),
      };
    },
    stop: () => app.stop(),
  };
};

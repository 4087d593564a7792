'use strict';
// Jest global setup of the `integration` project (see jest.config.js): brings up the real brokers
// before any integration test runs and fails the whole run, loudly, when one cannot start.
const { ensureBrokers } = require('./ensure-brokers');

module.exports = async function globalSetup() {
  const t0 = Date.now();
  const { kafka, mqtt } = await ensureBrokers((line) => process.stderr.write(`[brokers] ${line}\n`));
  process.stderr.write(`[brokers] Kafka ${kafka.version} at ${kafka.bootstrap}, MQTT at ${mqtt} (${Date.now() - t0} ms)\n`);
};

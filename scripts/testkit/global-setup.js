'use strict';
// Jest global setup of the `integration` project (see jest.config.js): brings up the real brokers
// before any integration test runs and fails the whole run, loudly, when one cannot start.
// It says whether Kafka was reused or started; the global teardown (global-teardown.js) stops a broker
// this run started, unless SLUICE_KEEP_BROKERS=1 or another run still uses it.
const { acquire } = require('../kafka/leases');
const { ensureBrokers, describeKafka } = require('./ensure-brokers');

module.exports = async function globalSetup() {
  const t0 = Date.now();
  const say = (line) => process.stderr.write(`[brokers] ${line}\n`);
  const label = `jest run (pid ${process.pid})`;
  // Leased before the start: a run that started the broker and ends now leaves it to this one.
  if (!process.env.SLUICE_KAFKA_BROKER_FILE) acquire(label);
  const { kafka, mqtt } = await ensureBrokers(say, { startedBy: label });
  // Read back by the global teardown (same process; jest keeps globals set here for it).
  globalThis.__sluiceKafka = { startedHere: !kafka.reused, external: Boolean(kafka.external), state: kafka };
  const ms = Date.now() - t0;
  if (kafka.external) say(`using the external Kafka ${kafka.bootstrap} (SLUICE_KAFKA_BROKER_FILE); this run will not stop it`);
  else if (kafka.reused) say(`reusing ${describeKafka(kafka)}; this run will leave it running`);
  else say(`started ${describeKafka(kafka)}; ${process.env.SLUICE_KEEP_BROKERS === '1' ? 'kept after the run (SLUICE_KEEP_BROKERS=1)' : 'stopped after the run unless SLUICE_KEEP_BROKERS=1'}`);
  say(`MQTT at ${mqtt} (${ms} ms)`);
};

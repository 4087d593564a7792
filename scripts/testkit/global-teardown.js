'use strict';
// Jest global teardown of the `integration` project: stops the Kafka broker when this run started it
// (a JVM of about 450 MB otherwise left in the background), and says what it did. It keeps it when
// SLUICE_KEEP_BROKERS=1 (the next run then starts in 0.2 s instead of about 10 s), when the run reused a
// broker that was already up (someone else's: .ci/run's, a developer's `npm run kafka:start`, another
// run's), or while another live process (another jest run, a demo) holds a lease on it.
// Mosquitto is a system service on 1883 and is left alone.
const { otherHolders, release } = require('../kafka/leases');
const { stop, status } = require('../kafka/broker');
const { describeKafka } = require('./ensure-brokers');

/**
 * What to do with the broker at the end of a run; pure, so the choice can be read in one place.
 * @param {{ startedHere: boolean, external: boolean, keep: boolean, running: boolean, holders: {label: string}[] }} s
 * @returns {{ stop: boolean, why: string }}
 */
function decideTeardown(s) {
  if (s.external) return { stop: false, why: 'external broker (SLUICE_KAFKA_BROKER_FILE): not ours to stop' };
  if (!s.running) return { stop: false, why: 'not running any more' };
  if (!s.startedHere) return { stop: false, why: 'left running: it was already running when this run began' };
  if (s.keep) return { stop: false, why: 'left running: SLUICE_KEEP_BROKERS=1' };
  if (s.holders.length > 0) return { stop: false, why: `left running: still used by ${s.holders.map((h) => h.label).join(', ')}` };
  return { stop: true, why: 'this run started it' };
}

async function globalTeardown() {
  const say = (line) => process.stderr.write(`[brokers] ${line}\n`);
  // a test schema registry (a JVM in its own process group) whose test process died without stopping it
  const registries = require('../schema-registry').stopLeftovers();
  if (registries > 0) say(`stopped ${registries} test schema registr${registries === 1 ? 'y' : 'ies'} left running`);
  const run = globalThis.__sluiceKafka;
  if (run === undefined) return; // the setup failed before the broker came up
  if (!run.external) release();
  // The current broker.json: a delivery test may have restarted the broker (new pid) during the run.
  const current = run.external ? { running: true, state: run.state } : await status();
  const running = current.running;
  const decision = decideTeardown({
    startedHere: run.startedHere,
    external: run.external,
    keep: process.env.SLUICE_KEEP_BROKERS === '1',
    running,
    holders: run.external ? [] : otherHolders(),
  });
  const what = describeKafka(current.state ?? run.state);
  if (!decision.stop) {
    const dir = process.env.SLUICE_KAFKA_STATE_DIR;
    const stopCommand = `${dir ? `SLUICE_KAFKA_STATE_DIR=${dir} ` : ''}npm run kafka:stop`;
    say(`${what}: ${decision.why}${running && !run.external ? `; \`${stopCommand}\` stops it` : ''}`);
    return;
  }
  const t0 = Date.now();
  await stop();
  say(`stopped ${what}: ${decision.why} (${Date.now() - t0} ms); SLUICE_KEEP_BROKERS=1 keeps it for the next run`);
}

module.exports = globalTeardown;
module.exports.decideTeardown = decideTeardown;

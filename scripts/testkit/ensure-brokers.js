'use strict';
// Brings up (or checks) the brokers integration tests need: the project's Kafka test broker and
// Mosquitto on 127.0.0.1:1883. Used by jest's global setup and by .ci/run
// (`node scripts/testkit/ensure-brokers.js`). Every failure throws with a message saying what to do:
// integration tests never skip themselves because a broker is missing.
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { start, portAnswers } = require('../kafka/broker');

const MOSQUITTO_CONF = '/etc/mosquitto/mosquitto.conf';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function mqttTarget(env = process.env) {
  const url = new URL(env.SLUICE_MQTT_URL || 'mqtt://127.0.0.1:1883');
  return { url: url.href, host: url.hostname, port: Number(url.port || 1883) };
}

/**
 * SLUICE_KAFKA_BROKER_FILE points the tests at a broker started elsewhere: check it, start nothing.
 * Otherwise the project's broker is started, or reused when it runs. The result is broker.json plus
 * `reused` (true when it was already running, or external: this call started nothing).
 * @param {(line: string) => void} log
 * @param {{ startedBy?: string }} [opts] recorded in broker.json when this call starts the broker
 */
async function ensureKafka(log, opts = {}) {
  const external = process.env.SLUICE_KAFKA_BROKER_FILE;
  if (external) {
    let state;
    try {
      state = JSON.parse(fs.readFileSync(external, 'utf8'));
    } catch (err) {
      throw new Error(`SLUICE_KAFKA_BROKER_FILE=${external} cannot be read as JSON: ${err.message}`);
    }
    const [host, port] = String(state.bootstrap || '').split(':');
    if (!host || !(await portAnswers(Number(port), 2000))) {
      throw new Error(`the Kafka broker named by SLUICE_KAFKA_BROKER_FILE (bootstrap "${state.bootstrap}") does not answer`);
    }
    log(`using the external Kafka broker ${state.bootstrap} (${external})`);
    return { ...state, reused: true, external: true };
  }
  try {
    return await start({ log, startedBy: opts.startedBy });
  } catch (err) {
    throw new Error(`integration tests need Kafka and it could not be started: ${err.message}`);
  }
}

async function waitForPort(host, port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portAnswers(port, 500)) return true;
    await sleep(200);
  }
  return false;
}

async function ensureMosquitto(log) {
  const { url, host, port } = mqttTarget();
  if (await portAnswers(port, 1000)) return url;
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(`no MQTT broker answers at ${url} (SLUICE_MQTT_URL); start it first`);
  }
  if (!fs.existsSync(MOSQUITTO_CONF)) {
    throw new Error(`no MQTT broker answers at ${url} and ${MOSQUITTO_CONF} is missing: install Mosquitto (Debian: apt-get install -y mosquitto)`);
  }
  log(`Mosquitto does not answer at ${url}; starting it with ${MOSQUITTO_CONF}`);
  fs.mkdirSync('/run/mosquitto', { recursive: true });
  try {
    // The Debian config writes its pid there as the mosquitto user.
    spawnSync('chown', ['mosquitto:mosquitto', '/run/mosquitto'], { stdio: 'ignore' });
  } catch {
    // not root or no such user: mosquitto reports what it cannot do
  }
  const result = spawnSync('mosquitto', ['-d', '-c', MOSQUITTO_CONF], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `${result.stderr || ''}${result.stdout || ''}`.trim();
    throw new Error(`Mosquitto could not be started (mosquitto -d -c ${MOSQUITTO_CONF}): ${why || `exit ${result.status}`}`);
  }
  if (!(await waitForPort(host, port, 10000))) {
    throw new Error(`Mosquitto was started but nothing answers at ${url} after 10 s; see /var/log/mosquitto/mosquitto.log`);
  }
  return url;
}

async function ensureBrokers(log = (line) => console.log(`[brokers] ${line}`), opts = {}) {
  const mqtt = await ensureMosquitto(log);
  const kafka = await ensureKafka(log, opts);
  return { kafka, mqtt };
}

/** "Kafka 4.1.2 on 127.0.0.1:19092 (pid 123, started by …)" for messages. */
function describeKafka(state) {
  const who = state.startedBy ? `, started by ${state.startedBy}` : '';
  const since = state.startedAt ? ` at ${state.startedAt}` : '';
  return `Kafka ${state.version} on ${state.bootstrap} (pid ${state.pid}${who}${since})`;
}

module.exports = { ensureBrokers, ensureKafka, ensureMosquitto, mqttTarget, describeKafka };

if (require.main === module) {
  // Started from here, the broker outlives this command (that is what .ci/run wants before `npm test`).
  ensureBrokers(undefined, { startedBy: `node scripts/testkit/ensure-brokers.js (pid ${process.pid})` }).then(
    ({ kafka, mqtt }) => {
      console.log(`[brokers] Kafka ${kafka.version} at ${kafka.bootstrap} (${kafka.reused ? 'already running' : 'started; it stays up after this command'}), MQTT at ${mqtt}`);
      if (!kafka.external) console.log('[brokers] `npm run kafka:stop` stops Kafka');
    },
    (err) => {
      console.error(`[brokers] ${err.message}`);
      process.exitCode = 1;
    },
  );
}

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

/** SLUICE_KAFKA_BROKER_FILE points the tests at a broker started elsewhere: check it, start nothing. */
async function ensureKafka(log) {
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
    return state;
  }
  try {
    return await start({ log });
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

async function ensureBrokers(log = (line) => console.log(`[brokers] ${line}`)) {
  const mqtt = await ensureMosquitto(log);
  const kafka = await ensureKafka(log);
  return { kafka, mqtt };
}

module.exports = { ensureBrokers, ensureKafka, ensureMosquitto, mqttTarget };

if (require.main === module) {
  ensureBrokers().then(
    ({ kafka, mqtt }) => console.log(`[brokers] Kafka ${kafka.version} at ${kafka.bootstrap}, MQTT at ${mqtt}`),
    (err) => {
      console.error(`[brokers] ${err.message}`);
      process.exitCode = 1;
    },
  );
}

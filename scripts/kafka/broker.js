'use strict';
// Starts, stops and reports the single-node KRaft test broker. `start` is idempotent: a broker
// that is up with the same version and ports is reused; otherwise a fresh data dir is formatted.
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { KEYSTORE_PASSWORD, DEFAULT_VERSION, ports: portsFromEnv, paths, users } = require('./settings');
const { fetchKafka, tail } = require('./fetch');
const { makeBrokerTls } = require('./tls');
const { run, requireCommand } = require('./proc');
const { withLock } = require('./lock');

const READY_LINE = 'Kafka Server started';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function readPid() {
  try {
    const pid = Number(fs.readFileSync(paths.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and still our broker (guards against a recycled pid). */
function isOurBroker(pid) {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(paths.serverProperties);
  } catch {
    return true; // no /proc: trust the pid file
  }
}

function portAnswers(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function allAnswer(ports) {
  const results = await Promise.all([ports.plaintext, ports.saslSsl, ports.saslPlaintext].map((p) => portAnswers(p)));
  return results.every(Boolean);
}

function samePorts(state, ports) {
  return (
    state.bootstrap === `127.0.0.1:${ports.plaintext}` &&
    state.saslSsl === `127.0.0.1:${ports.saslSsl}` &&
    state.saslPlaintext === `127.0.0.1:${ports.saslPlaintext}`
  );
}

async function checkJava() {
  const out = await requireCommand('java', ['-version'], 'Java 17+ is required to run Kafka (Debian: apt-get install -y openjdk-17-jre-headless)');
  const match = /version "(\d+)/.exec(out);
  if (match && Number(match[1]) < 17) throw new Error(`Java 17+ is required to run Kafka; found: ${out.split('\n')[0]}`);
}

/** Kafka's cluster ids are 16 random bytes in unpadded base64url; ids starting with '-' are avoided. */
function clusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function jvmLogging() {
  // Kafka 4 also ships log4j-core; with no log4j2 config its status logger complains on stderr.
  return [`-Dlog4j.configuration=file:${paths.log4j}`, `-Dkafka.logs.dir=${paths.logsDir}`, '-Dlog4j2.statusLoggerLevel=OFF'];
}

function renderServerProperties(ports, keystore) {
  const values = {
    CONTROLLER_PORT: ports.controller,
    PLAINTEXT_PORT: ports.plaintext,
    SASL_SSL_PORT: ports.saslSsl,
    SASL_PLAINTEXT_PORT: ports.saslPlaintext,
    DATA_DIR: paths.dataDir,
    PLAIN_USER: users.plain.username,
    PLAIN_PASSWORD: users.plain.password,
    KEYSTORE: keystore,
    KEYSTORE_PASSWORD,
  };
  const text = fs.readFileSync(paths.serverTemplate, 'utf8').replace(/@([A-Z_]+)@/g, (whole, name) => {
    if (!(name in values)) throw new Error(`unknown placeholder ${whole} in ${paths.serverTemplate}`);
    return String(values[name]);
  });
  fs.writeFileSync(paths.serverProperties, text);
}

async function formatStorage(jars) {
  const scram = (mechanism, user) => ['--add-scram', `${mechanism}=[name=${user.username},password=${user.password}]`];
  const args = [
    '-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...jvmLogging(),
    '-cp', path.join(jars, '*'),
    'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', paths.serverProperties,
    ...scram('SCRAM-SHA-256', users.scram256),
    ...scram('SCRAM-SHA-512', users.scram512),
  ];
  const result = await run('java', args, { cwd: paths.stateDir });
  if (result.code !== 0) throw new Error(`kafka storage format failed (exit ${result.code}):\n${tail(result.output, 30)}`);
}

function spawnBroker(jars) {
  const out = fs.openSync(paths.outFile, 'a');
  const child = spawn(
    'java',
    [
      '-Xms256m', '-Xmx512m',
      '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      ...jvmLogging(),
      '-cp', path.join(jars, '*'),
      'kafka.Kafka', paths.serverProperties,
    ],
    { cwd: paths.stateDir, detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  child.unref();
  fs.writeFileSync(paths.pidFile, `${child.pid}\n`);
  return child.pid;
}

function logTails() {
  const read = (f) => (fs.existsSync(f) ? tail(fs.readFileSync(f, 'utf8'), 40) : '(no file)');
  return `--- ${path.relative(paths.root, paths.serverLog)} (tail) ---\n${read(paths.serverLog)}\n` +
    `--- ${path.relative(paths.root, paths.outFile)} (tail) ---\n${read(paths.outFile)}`;
}

function logSays(line) {
  for (const f of [paths.serverLog, paths.outFile]) {
    if (fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes(line)) return true;
  }
  return false;
}

async function adminAnswers(bootstrap, opts = {}) {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({
    clientId: 'sluice-kafka-script',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) return false;
    if (opts.groupCoordinator) {
      // The first group request creates __consumer_offsets and the coordinator then loads it; until
      // it has, joins fail with COORDINATOR_LOAD_IN_PROGRESS. Tests should not meet that.
      const { groups } = await admin.describeGroups(['sluice-readiness-probe']);
      return groups.length === 1 && groups[0].errorCode === 0;
    }
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function waitReady(pid, bootstrap, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const fail = (why) => new Error(`Kafka did not start: ${why}\n${logTails()}`);
  while (!logSays(READY_LINE)) {
    if (!isOurBroker(pid)) throw fail(`the broker process (pid ${pid}) exited`);
    if (Date.now() > deadline) throw fail(`no "${READY_LINE}" in the log after ${timeoutMs} ms`);
    await sleep(100);
  }
  while (!(await adminAnswers(bootstrap, { groupCoordinator: true }))) {
    if (!isOurBroker(pid)) throw fail(`the broker process (pid ${pid}) exited`);
    if (Date.now() > deadline) throw fail(`an admin client could not describe the cluster and a group at ${bootstrap} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

function stateFor(version, ports, tls, pid, startedBy) {
  return {
    version,
    pid,
    startedBy,
    bootstrap: `127.0.0.1:${ports.plaintext}`,
    saslSsl: `127.0.0.1:${ports.saslSsl}`,
    saslPlaintext: `127.0.0.1:${ports.saslPlaintext}`,
    controller: `127.0.0.1:${ports.controller}`,
    caFile: tls.caFile,
    untrustedCaFile: tls.untrustedCaFile,
    users,
    startedAt: new Date().toISOString(),
  };
}

/**
 * The TLS files of a formatted data dir left by a broker of the same version and ports (the state file
 * stays behind when the broker was killed), or undefined when there is nothing to reuse.
 */
function keptBroker(version, ports) {
  const state = readJson(paths.stateFile);
  const keystore = path.join(paths.tlsDir, 'broker.p12');
  const formatted = fs.existsSync(path.join(paths.dataDir, 'meta.properties'));
  if (!state || state.version !== version || !samePorts(state, ports) || !formatted) return undefined;
  if (![keystore, state.caFile, state.untrustedCaFile, paths.serverProperties].every((f) => typeof f === 'string' && fs.existsSync(f))) return undefined;
  return { keystore, caFile: state.caFile, untrustedCaFile: state.untrustedCaFile };
}

/**
 * @param {{ version?: string, timeoutMs?: number, keepData?: boolean, startedBy?: string, log?: (line: string) => void }} [opts]
 *   keepData: reuse the data dir of a broker that died (killed by a test) instead of formatting a new one;
 *   startedBy: who starts it, recorded in broker.json so that a run reusing it can say whose it is
 * @returns {Promise<object>} the broker.json contents, plus `reused`: true when it was already running
 */
async function start(opts = {}) {
  const version = opts.version ?? process.env.SLUICE_KAFKA_VERSION ?? DEFAULT_VERSION;
  const timeoutMs = opts.timeoutMs ?? Number(process.env.SLUICE_KAFKA_START_TIMEOUT_MS || 120000);
  const log = opts.log ?? (() => {});
  const ports = portsFromEnv();
  return withLock(paths.lockDir, timeoutMs + 180000, async () => {
    const state = readJson(paths.stateFile);
    const pid = readPid();
    if (isOurBroker(pid)) {
      if (state && state.version === version && samePorts(state, ports) && (await allAnswer(ports))) {
        log(`kafka ${version} already running (pid ${pid}) on ${state.bootstrap}${state.startedBy ? `, started by ${state.startedBy}` : ''}`);
        return { ...state, reused: true };
      }
      log(`restarting kafka (pid ${pid}): ${state ? `running ${state.version}` : 'no state file'}, wanted ${version}`);
      await stopPid(pid, log);
    }
    for (const port of Object.values(ports)) {
      if (await portAnswers(port)) {
        throw new Error(`port ${port} is already in use by another process; stop it or set SLUICE_KAFKA_PORT_BASE (now ${ports.plaintext}) to a free range of 4 ports`);
      }
    }
    await checkJava();
    const jars = await fetchKafka(version, { log });
    const started = Date.now();
    let tls;
    const kept = opts.keepData ? keptBroker(version, ports) : undefined;
    if (kept !== undefined) {
      // Restart over the same log dirs (after a crash test's SIGKILL): records, topics, SCRAM users and
      // certificates survive. Old logs go, so readiness is judged on this run's lines only.
      tls = kept;
      for (const file of [paths.serverLog, paths.outFile]) fs.rmSync(file, { force: true });
      log(`kafka ${version}: keeping the data dir ${paths.dataDir}`);
    } else {
      if (opts.keepData) log('kafka: no reusable data dir (other version or ports, or never formatted); starting fresh');
      fs.rmSync(paths.stateDir, { recursive: true, force: true });
      for (const dir of [paths.dataDir, paths.logsDir, paths.tlsDir]) fs.mkdirSync(dir, { recursive: true });
      tls = await makeBrokerTls(paths.tlsDir);
      renderServerProperties(ports, tls.keystore);
      await formatStorage(jars);
    }
    const newPid = spawnBroker(jars);
    log(`kafka ${version}: started pid ${newPid}, waiting for readiness...`);
    try {
      await waitReady(newPid, `127.0.0.1:${ports.plaintext}`, timeoutMs);
    } catch (err) {
      await stopPid(newPid, () => {});
      throw err;
    }
    // A restart over kept data (after a test killed the broker) is still the same broker, started by the same one.
    const startedBy = opts.startedBy ?? (kept !== undefined ? state?.startedBy : undefined) ?? `node scripts/kafka.js start (pid ${process.pid})`;
    const next = stateFor(version, ports, tls, newPid, startedBy);
    fs.writeFileSync(paths.stateFile, `${JSON.stringify(next, null, 2)}\n`);
    log(`kafka ${version} ready on ${next.bootstrap} (SASL_SSL ${next.saslSsl}, SASL_PLAINTEXT ${next.saslPlaintext}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { ...next, reused: false };
  });
}

async function stopPid(pid, log) {
  if (!isOurBroker(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20000;
  while (isOurBroker(pid) && Date.now() < deadline) await sleep(100);
  if (isOurBroker(pid)) {
    log(`kafka (pid ${pid}) ignored SIGTERM for 20 s; killing it`);
    process.kill(pid, 'SIGKILL');
    while (isOurBroker(pid)) await sleep(50);
  }
  fs.rmSync(paths.pidFile, { force: true });
  fs.rmSync(paths.stateFile, { force: true });
}

async function stop(opts = {}) {
  const log = opts.log ?? (() => {});
  const pid = readPid();
  if (!isOurBroker(pid)) {
    fs.rmSync(paths.pidFile, { force: true });
    fs.rmSync(paths.stateFile, { force: true });
    log('kafka is not running');
    return false;
  }
  await stopPid(pid, log);
  log(`kafka (pid ${pid}) stopped`);
  return true;
}

async function status() {
  const pid = readPid();
  const state = readJson(paths.stateFile);
  const running = isOurBroker(pid);
  const answering = running && state ? await adminAnswers(state.bootstrap) : false;
  return { running, answering, pid: running ? pid : undefined, state };
}

module.exports = { start, stop, status, portAnswers };

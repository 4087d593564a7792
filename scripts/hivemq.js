#!/usr/bin/env node
'use strict';
// The second real MQTT broker of the test kit: HiveMQ Community Edition, embedded from Maven Central
// (issue #13). node scripts/hivemq.js <fetch|start|stop|status|logs|path>
//   fetch   copy the jars (~100 MB) into .cache/hivemq/<version>/jars and compile scripts/hivemq/Launcher.java
//           beside them (skipped when present; ~40 s with a cold ~/.m2)
//   start   start a broker on 127.0.0.1:$SLUICE_HIVEMQ_PORT (default 11883), reused when already up; state in
//           .sluice/hivemq/ (broker.json, hivemq.log); prints its URL
//   stop    stop it          status  print whether it runs (exit 1 when not)
//   logs    print the end of its log   path  print the jar folder (exit 1 when not fetched)
// Tests start a private instance of their own instead (scripts/testkit/hivemq.ts -> startPrivate below).
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { freePort, answers } = require('./lib/ports');
const { spawn } = require('node:child_process');
const { run } = require('./kafka/proc');

const VERSION = '2025.5';
const ROOT = path.resolve(__dirname, '..');
const SOURCE = path.join(__dirname, 'hivemq');
const DIR = path.join(ROOT, '.cache', 'hivemq', VERSION);
const JARS = path.join(DIR, 'jars');
const CLASSES = path.join(DIR, 'classes');
const STATE = path.join(ROOT, '.sluice', 'hivemq');
const DEFAULT_PORT = 11883;
/** Offline and in-flight messages kept per client; HiveMQ's default (1000) discards past it, like Mosquitto's. */
const MAX_QUEUE_SIZE = 100_000;
const START_TIMEOUT_MS = Number(process.env.SLUICE_HIVEMQ_START_TIMEOUT_MS ?? 60_000);
const READY = 'SLUICE-HIVEMQ-STARTED';
/** The test kit's JVM: starts quickly and stays small (C1 only, serial GC), at the cost of throughput. */
const JAVA_OPTS = ['-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.net.preferIPv4Stack=true'];
/**
 * A JVM for measuring the broker (the benches): the optimising compiler and a heap with room for a backlog.
 * With JAVA_OPTS, HiveMQ spent 0.8 cores on 1,500 msg/s and capped every scale point there.
 */
const THROUGHPUT_JAVA_OPTS = ['-Xms1g', '-Xmx2g', '-XX:+UseParallelGC', '-Djava.net.preferIPv4Stack=true'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fetched = () => fs.existsSync(path.join(CLASSES, 'Launcher.class')) && fs.existsSync(JARS);

async function fetch(log) {
  if (fetched()) {
    log(`hivemq ${VERSION}: ${path.relative(ROOT, DIR)} already fetched`);
    return DIR;
  }
  // Built in a scratch folder, renamed at the end: an interrupted fetch is never taken for a complete one.
  const work = `${DIR}.tmp-${process.pid}`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const started = Date.now();
  log(`hivemq ${VERSION}: fetching the embedded broker's jars from Maven Central...`);
  const mvn = ['-B', '-ntp', '-q', '-Dmaven.wagon.http.retryHandler.count=3', '-f', path.join(SOURCE, 'pom.xml'),
    'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies', '-DincludeScope=runtime',
    `-DoutputDirectory=${path.join(work, 'jars')}`];
  if (process.env.SLUICE_MAVEN_REPO) mvn.unshift(`-Dmaven.repo.local=${process.env.SLUICE_MAVEN_REPO}`);
  let result = await run('mvn', mvn);
  if (result.code === 0) result = await run('javac', ['-d', path.join(work, 'classes'), '-cp', path.join(work, 'jars', '*'), path.join(SOURCE, 'Launcher.java')]);
  if (result.code !== 0) {
    fs.rmSync(work, { recursive: true, force: true });
    throw new Error(`could not fetch HiveMQ CE ${VERSION} (exit ${result.code}):\n${result.output.split('\n').slice(-30).join('\n')}`);
  }
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.renameSync(work, DIR);
  const mb = fs.readdirSync(JARS).reduce((a, f) => a + fs.statSync(path.join(JARS, f)).size, 0) / 2 ** 20;
  log(`hivemq ${VERSION}: ${path.relative(ROOT, DIR)} (${mb.toFixed(0)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return DIR;
}

/** config.xml and logback.xml for a broker on `port` with in-memory persistence (a fresh broker per start). */
function writeConfig(dir, port, maxQueueSize = MAX_QUEUE_SIZE) {
  for (const sub of ['conf', 'data', 'extensions']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, 'conf', 'config.xml'), `<?xml version="1.0"?>
<hivemq>
  <listeners><tcp-listener><port>${port}</port><bind-address>127.0.0.1</bind-address></tcp-listener></listeners>
  <mqtt>
    <queued-messages><max-queue-size>${maxQueueSize}</max-queue-size><strategy>discard</strategy></queued-messages>
    <!-- in-flight QoS 1/2 publishes a client may send before its PUBACKs (default 10): load-test publishers send more -->
    <receive-maximum><server-receive-maximum>65535</server-receive-maximum></receive-maximum>
  </mqtt>
  <persistence><mode>in-memory</mode></persistence>
  <anonymous-usage-statistics><enabled>false</enabled></anonymous-usage-statistics>
</hivemq>
`);
  fs.writeFileSync(path.join(dir, 'conf', 'logback.xml'), `<configuration scan="false">
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d %level %logger{0} - %msg%n%ex</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
  <logger name="jetbrains.exodus" level="WARN"/>
  <logger name="oshi" level="ERROR"/>
  <logger name="com.google.common.util.concurrent.Futures.CombinedFuture" level="OFF"/>
</configuration>
`);
}

function javaArgs(dir, javaOpts = JAVA_OPTS) {
  return [...javaOpts, '-cp', `${CLASSES}${path.delimiter}${path.join(JARS, '*')}`, 'Launcher',
    path.join(dir, 'conf'), path.join(dir, 'data'), path.join(dir, 'extensions')];
}



function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone
  }
}

async function stopGroup(pid) {
  killGroup(pid, 'SIGTERM');
  const until = Date.now() + 10_000;
  while (alive(pid) && Date.now() < until) await sleep(100);
  killGroup(pid, 'SIGKILL');
}

/** Waits for the launcher's start line and the port; throws with the log's end when it exits or times out. */
async function waitReady(port, readLog, isGone) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(readLog().includes(READY) && (await answers(port)))) {
    if (isGone() || Date.now() > deadline) {
      const why = isGone() ? 'it exited' : `not within ${START_TIMEOUT_MS} ms`;
      throw new Error(`HiveMQ did not start on 127.0.0.1:${port} (${why}):\n${readLog().split('\n').slice(-30).join('\n')}`);
    }
    await sleep(200);
  }
}

/**
 * A private broker for one test file or script: its own folder and free port, in its own process group
 * with a watchdog that kills the group when this process's end of its stdin closes (however this process ends).
 */
async function startPrivate({ log = () => {}, maxQueueSize = MAX_QUEUE_SIZE, javaOpts = JAVA_OPTS } = {}) {
  if (!fetched()) throw new Error(`HiveMQ CE ${VERSION} is not fetched: run \`node scripts/hivemq.js fetch\` (needs Maven and Java 17)`);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-hivemq-'));
  writeConfig(dir, port, maxQueueSize);
  const watchdog = 'exec 3<&0; java "$@" </dev/null & jvm=$!; (cat <&3 >/dev/null; kill -9 -$$) & wait $jvm';
  const child = spawn('sh', ['-c', watchdog, 'hivemq', ...javaArgs(dir, javaOpts)], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (d) => (output = (output + d.toString()).slice(-50_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let gone = false;
  const exited = new Promise((resolve) => child.once('exit', () => resolve((gone = true))));
  const killNow = () => killGroup(child.pid, 'SIGKILL');
  process.once('exit', killNow);
  const stop = async () => {
    process.removeListener('exit', killNow);
    await stopGroup(child.pid);
    await exited;
    child.stdin.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  try {
    await waitReady(port, () => output, () => gone);
  } catch (error) {
    await stop();
    throw error;
  }
  log(`hivemq ${VERSION}: private broker on mqtt://127.0.0.1:${port} (${Date.now() - t0} ms)`);
  // pgid: the JVM runs in the watchdog's own process group (detached), e.g. to read its CPU time
  return { url: `mqtt://127.0.0.1:${port}`, port, version: VERSION, maxQueueSize, pgid: child.pid, log: () => output, stop };
}

function readState() {
  try {
    return JSON.parse(fs.readFileSync(path.join(STATE, 'broker.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

async function status() {
  const state = readState();
  const running = state !== undefined && alive(state.pid) && (await answers(state.port));
  return { running, ...(state ?? {}) };
}

/** The shared broker of `node scripts/hivemq.js start`: detached, outlives this process. */
async function start(log) {
  const current = await status();
  if (current.running) {
    log(`hivemq: already running (pid ${current.pid}) on ${current.url}`);
    return { ...current, reused: true };
  }
  if (current.pid !== undefined && alive(current.pid)) await stopGroup(current.pid);
  if (!fetched()) await fetch(log);
  const port = Number(process.env.SLUICE_HIVEMQ_PORT ?? DEFAULT_PORT);
  if (await answers(port)) throw new Error(`127.0.0.1:${port} is taken by another process: set SLUICE_HIVEMQ_PORT`);
  fs.rmSync(STATE, { recursive: true, force: true });
  writeConfig(STATE, port);
  const logFile = path.join(STATE, 'hivemq.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn('java', javaArgs(STATE), { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  child.unref();
  let gone = false;
  child.once('exit', () => (gone = true));
  const state = { pid: child.pid, port, url: `mqtt://127.0.0.1:${port}`, version: VERSION, startedAt: new Date().toISOString() };
  fs.writeFileSync(path.join(STATE, 'broker.json'), `${JSON.stringify(state, null, 2)}\n`);
  const t0 = Date.now();
  try {
    await waitReady(port, () => fs.readFileSync(logFile, 'utf8'), () => gone);
  } catch (error) {
    await stopGroup(child.pid);
    throw error;
  }
  log(`hivemq ${VERSION}: started (pid ${child.pid}) on ${state.url} in ${Date.now() - t0} ms; log ${path.relative(ROOT, logFile)}`);
  return { ...state, running: true, reused: false };
}

async function stop(log) {
  const state = readState();
  if (state === undefined || !alive(state.pid)) {
    log('hivemq: not running');
    return;
  }
  await stopGroup(state.pid);
  log(`hivemq: stopped (pid ${state.pid})`);
}

async function main() {
  const command = process.argv[2];
  const log = (line) => process.stderr.write(`${line}\n`);
  if (command === 'fetch') await fetch(log);
  else if (command === 'start') process.stdout.write(`${(await start(log)).url}\n`);
  else if (command === 'stop') await stop(log);
  else if (command === 'status') {
    const s = await status();
    process.stdout.write(`${JSON.stringify(s)}\n`);
    if (!s.running) process.exitCode = 1;
  } else if (command === 'logs') {
    const file = path.join(STATE, 'hivemq.log');
    process.stdout.write(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-60).join('\n') : '(no log)\n');
  } else if (command === 'path') {
    if (!fetched()) throw new Error(`${DIR} is not fetched: run node scripts/hivemq.js fetch`);
    process.stdout.write(`${JARS}\n`);
  } else throw new Error('usage: node scripts/hivemq.js <fetch|start|stop|status|logs|path>');
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}

module.exports = { VERSION, DEFAULT_PORT, STATE, THROUGHPUT_JAVA_OPTS, fetch, start, stop, status, startPrivate };

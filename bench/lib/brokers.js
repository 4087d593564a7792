'use strict';
// The brokers of a run: the project's Kafka (started or reused through scripts/kafka.js) and a private
// Mosquitto on a free 127.0.0.1 port whose queues are large enough that the broker never drops.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, answers } = require('../../scripts/lib/ports');
const { ROOT, kafkajs } = require('./deps');

/**
 * The bench's own Kafka: the project's script with its own state folder and ports, so other test runs
 * that stop or restart the shared broker (19092) cannot disturb a measurement, and vice versa.
 */
function kafkaEnv(portBase) {
  return { ...process.env, SLUICE_KAFKA_STATE_DIR: path.join(ROOT, '.sluice', 'kafka-bench'), SLUICE_KAFKA_PORT_BASE: String(portBase) };
}

function startKafka(log, { portBase = 39092 } = {}) {
  log(`kafka: starting the bench's own broker (node scripts/kafka.js start, ports ${portBase}-${portBase + 3}, state .sluice/kafka-bench)`);
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'kafka.js'), 'start'], { stdio: ['ignore', 'ignore', 'inherit'], env: kafkaEnv(portBase) });
  const state = JSON.parse(fs.readFileSync(path.join(ROOT, '.sluice', 'kafka-bench', 'broker.json'), 'utf8'));
  if (!/^127\.0\.0\.1:/.test(state.bootstrap)) throw new Error(`the bench only talks to 127.0.0.1, broker.json says ${state.bootstrap}`);
  return state.bootstrap;
}

/** CPU time (µs) of the bench's Kafka broker so far (its JVM's pid from broker.json); undefined off Linux. */
function kafkaCpuMicros() {
  const { pid } = JSON.parse(fs.readFileSync(path.join(ROOT, '.sluice', 'kafka-bench', 'broker.json'), 'utf8'));
  return cpuMicrosOf((p) => p === pid);
}

function stopKafka(log, { portBase = 39092 } = {}) {
  log('kafka: stopping the bench broker');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'kafka.js'), 'stop'], { stdio: ['ignore', 'ignore', 'inherit'], env: kafkaEnv(portBase) });
}

class Topics {
  constructor(bootstrap) {
    const { Kafka, logLevel } = kafkajs();
    this.admin = new Kafka({ clientId: 'bench-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
    this.created = new Set();
  }
  async connect() {
    await this.admin.connect();
  }
  async create(topic, partitions) {
    this.created.add(topic);
    // A busy broker sometimes answers the leader check with UNKNOWN_TOPIC_OR_PARTITION at first.
    for (let attempt = 1; ; attempt++) {
      try {
        const made = await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
        if (made || attempt > 1) return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }
  async remove(topic) {
    this.created.delete(topic);
    await this.admin.deleteTopics({ topics: [topic] }).catch(() => {});
  }
  async close() {
    for (const topic of [...this.created]) await this.remove(topic);
    await this.admin.disconnect();
  }
}



async function startMosquitto(log, { inflight = 1000 } = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    `user ${os.userInfo().username}`,
    `log_dest file ${path.join(dir, 'mosquitto.log')}`,
    'log_type error',
    'log_type warning',
    // Defaults (20 in flight, 1000 queued per client) would drop messages under load. The in-flight
    // limit matches Sluice's maxInflight: Mosquitto 2.0 does not hold back to a v5 Receive Maximum alone.
    `max_inflight_messages ${inflight}`,
    'max_queued_messages 0',
    'max_queued_bytes 0',
    'persistence false',
    // Small QoS 1 packets otherwise wait on Nagle + delayed ACK (tens of ms per hop).
    'set_tcp_nodelay true',
    '',
  ].join('\n'));
  let child;
  let exited;
  const launch = async () => {
    child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.once('error', (err) => log(`mosquitto: ${err.message}`));
    const deadline = Date.now() + 10000;
    while (!(await answers(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start on ${port}; is it installed? (see ${dir})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  process.on('exit', () => child.kill('SIGKILL'));
  await launch();
  log(`mosquitto: private broker on mqtt://127.0.0.1:${port} (max_inflight_messages ${inflight}, unlimited queues)`);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    cpuMicros: () => cpuMicrosOf((pid) => pid === child.pid),
    /** Before each point: a broker that went away (crash, someone's kill) is reported and started again. */
    async ensure() {
      if (child.exitCode === null && child.signalCode === null) return;
      const { code, signal } = await exited;
      const logFile = path.join(dir, 'mosquitto.log');
      const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      log(`mosquitto: had exited (${signal ?? `code ${code}`}) ${tail}; starting it again`);
      await launch();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * HiveMQ Community Edition (issue #13's second broker), a private instance from the test kit's jars
 * (`node scripts/hivemq.js fetch` first). Same shape as startMosquitto's answer.
 */
async function startHivemq(log) {
  const { startPrivate, THROUGHPUT_JAVA_OPTS } = require('../../scripts/hivemq');
  const broker = await startPrivate({ log, javaOpts: THROUGHPUT_JAVA_OPTS });
  return {
    url: broker.url,
    cpuMicros: () => cpuMicrosOf((_pid, pgrp) => pgrp === broker.pgid), // the JVM and its sh watchdog
    async ensure() {}, // a JVM that died takes the point with it: its failure is reported like any other
    stop: () => broker.stop(),
  };
}

/**
 * CPU time (µs, user + system) of the running processes `take(pid, processGroup)` picks, read from /proc
 * (Linux only: undefined elsewhere). The brokers' share of the machine, beside the bridges' own figures.
 */
function cpuMicrosOf(take) {
  let ticks = 0;
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (take(Number(name), Number(fields[2]))) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1e6) / CLOCK_TICKS;
}

/** Kernel clock ticks per second (USER_HZ): 100 on Linux unless getconf says otherwise. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

module.exports = { startKafka, stopKafka, kafkaCpuMicros, Topics, startMosquitto, startHivemq, cpuMicrosOf };

#!/usr/bin/env node
'use strict';
// The test/demo Kafka broker: node scripts/kafka.js <fetch|start|stop|status|release> [--version X.Y.Z]
// See docs/brokers.md. Files: jars in .cache/kafka/<version>/jars, broker state in .sluice/kafka/,
// who uses it right now in .sluice/kafka.leases/.
const { DEFAULT_VERSION } = require('./kafka/settings');
const { fetchKafka } = require('./kafka/fetch');
const { start, stop, status } = require('./kafka/broker');
const leases = require('./kafka/leases');

const USAGE = `usage: node scripts/kafka.js <command> [--version X.Y.Z] [--keep-data] [--json]
                                   [--started-by TEXT] [--lease PID] [--stop]
  fetch    download the broker jars from Maven Central (skipped when present)
  start    start the single-node KRaft broker (reused when already up), write .sluice/kafka/broker.json;
           with --keep-data, a broker that died is restarted over its data dir instead of a fresh one;
           --started-by TEXT is recorded in broker.json (who started it); --lease PID records that
           process PID uses the broker until \`release --lease PID\`; --json prints the broker.json
           contents plus "reused" (true: it was already running) on stdout, the log lines on stderr
  stop     stop it (whoever uses it)
  release  --lease PID: PID no longer uses the broker; with --stop, also stop the broker unless another
           live process holds a lease; --json prints {"stopped", "running", "pid", "heldBy", "ms"}
  status   print whether it runs and answers, as JSON (exit 1 when not answering)
  verify   check kafkajs against the running broker (protocol versions, SASL, TLS, gzip, groups)
env: SLUICE_KAFKA_VERSION (default ${DEFAULT_VERSION}), SLUICE_KAFKA_PORT_BASE (default 19092),
     SLUICE_KAFKA_START_TIMEOUT_MS (default 120000), SLUICE_MAVEN_REPO (a maven.repo.local)`;

function parse(argv) {
  const [command, ...rest] = argv;
  let version = process.env.SLUICE_KAFKA_VERSION || DEFAULT_VERSION;
  let keepData = false;
  let json = false;
  let stopToo = false;
  let startedBy;
  let lease;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--version' && rest[i + 1]) version = rest[++i];
    else if (arg.startsWith('--version=')) version = arg.slice('--version='.length);
    else if (arg === '--keep-data') keepData = true;
    else if (arg === '--json') json = true;
    else if (arg === '--stop') stopToo = true;
    else if (arg === '--started-by' && rest[i + 1]) startedBy = rest[++i];
    else if (arg === '--lease' && rest[i + 1]) lease = Number(rest[++i]);
    else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`--version must look like 4.1.2, got "${version}"`);
  if (lease !== undefined && !(Number.isInteger(lease) && lease > 0)) throw new Error(`--lease expects a process id, got "${rest[rest.indexOf('--lease') + 1]}"`);
  if (command === 'release' && lease === undefined) throw new Error(`release needs --lease PID\n${USAGE}`);
  return { command, version, keepData, json, stopToo, startedBy, lease };
}

/** Drops `pid`'s lease; with `stopToo`, stops the broker when no other live process holds one. */
async function releaseLease(pid, stopToo, log) {
  const t = Date.now();
  leases.release(pid);
  const { running, pid: brokerPid } = await status();
  const heldBy = leases.otherHolders(pid);
  let stopped = false;
  if (!running) log('kafka is not running');
  else if (!stopToo) log(`kafka (pid ${brokerPid}) left running`);
  else if (heldBy.length > 0) log(`kafka (pid ${brokerPid}) left running: still used by ${heldBy.map((h) => h.label).join(', ')}`);
  else stopped = await stop({ log });
  return { stopped, running: running && !stopped, pid: brokerPid, heldBy, ms: Date.now() - t };
}

async function main() {
  const { command, version, keepData, json, stopToo, startedBy, lease } = parse(process.argv.slice(2));
  // With --json, stdout carries the one JSON answer and the log lines move to stderr.
  const log = (line) => (json ? console.error : console.log)(`[kafka] ${line}`);
  const t0 = Date.now();
  switch (command) {
    case 'fetch':
      await fetchKafka(version, { log });
      break;
    case 'start': {
      // Leased before starting, so a run that stops "its" broker at its end sees this user even mid-start.
      if (lease !== undefined) leases.acquire(startedBy ?? `pid ${lease}`, lease);
      let state;
      try {
        state = await start({ version, keepData, startedBy, log });
      } catch (err) {
        if (lease !== undefined) leases.release(lease);
        throw err;
      }
      if (json) console.log(JSON.stringify(state));
      break;
    }
    case 'stop':
      await stop({ log });
      break;
    case 'release': {
      const result = await releaseLease(lease, stopToo, log);
      if (json) console.log(JSON.stringify(result));
      break;
    }
    case 'status': {
      const s = await status();
      console.log(JSON.stringify(s, null, 2));
      if (!s.answering) process.exitCode = 1;
      return;
    }
    case 'verify': {
      const state = await start({ version, log });
      const { verifyKafkajs } = require('./kafka/verify-kafkajs');
      const { broken, results } = await verifyKafkajs(state, log);
      const failed = results.filter((r) => !r.ok);
      log(`kafka ${state.version}: ${results.length - failed.length} passed, ${failed.length} failed; APIs kafkajs cannot use: ${broken.map((r) => r.api).join(', ') || 'none'}`);
      if (failed.length) process.exitCode = 1;
      break;
    }
    default:
      console.error(USAGE);
      process.exitCode = 2;
      return;
  }
  log(`${command} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  console.error(`[kafka] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});

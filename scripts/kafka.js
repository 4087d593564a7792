#!/usr/bin/env node
'use strict';
// The test/demo Kafka broker: node scripts/kafka.js <fetch|start|stop|status> [--version X.Y.Z]
// See docs/brokers.md. Files: jars in .cache/kafka/<version>/jars, broker state in .sluice/kafka/.
const { DEFAULT_VERSION } = require('./kafka/settings');
const { fetchKafka } = require('./kafka/fetch');
const { start, stop, status } = require('./kafka/broker');

const USAGE = `usage: node scripts/kafka.js <command> [--version X.Y.Z] [--keep-data]
  fetch    download the broker jars from Maven Central (skipped when present)
  start    start the single-node KRaft broker (reused when already up), write .sluice/kafka/broker.json;
           with --keep-data, a broker that died is restarted over its data dir instead of a fresh one
  stop     stop it
  status   print whether it runs and answers, as JSON (exit 1 when not answering)
  verify   check kafkajs against the running broker (protocol versions, SASL, TLS, gzip, groups)
env: SLUICE_KAFKA_VERSION (default ${DEFAULT_VERSION}), SLUICE_KAFKA_PORT_BASE (default 19092),
     SLUICE_KAFKA_START_TIMEOUT_MS (default 120000), SLUICE_MAVEN_REPO (a maven.repo.local)`;

function parse(argv) {
  const [command, ...rest] = argv;
  let version = process.env.SLUICE_KAFKA_VERSION || DEFAULT_VERSION;
  let keepData = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--version' && rest[i + 1]) version = rest[++i];
    else if (arg.startsWith('--version=')) version = arg.slice('--version='.length);
    else if (arg === '--keep-data') keepData = true;
    else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`--version must look like 4.1.2, got "${version}"`);
  return { command, version, keepData };
}

async function main() {
  const { command, version, keepData } = parse(process.argv.slice(2));
  const log = (line) => console.log(`[kafka] ${line}`);
  const t0 = Date.now();
  switch (command) {
    case 'fetch':
      await fetchKafka(version, { log });
      break;
    case 'start':
      await start({ version, keepData, log });
      break;
    case 'stop':
      await stop({ log });
      break;
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

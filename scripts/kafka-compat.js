#!/usr/bin/env node
'use strict';
// Runs the Kafka integration suites against a second Kafka version (3.9.1 by default) on a broker of
// its own: other ports, other state folder, stopped afterwards. The default 4.1 broker (19092) is
// never touched. .ci/run calls it after `npm test`; developers can run it as is:
//   npm run test:kafka-compat [-- --version 3.9.1 --port-base 29092 --keep-broker -- <jest args>]
// Prints `jest kafka <version>: N passed, N failed, N skipped` and exits non-zero when a test failed,
// no test ran, or the broker could not start.
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { FALLBACK_VERSION, ROOT, ports: portsFromEnv } = require('./kafka/settings');

/** The suites that talk to Kafka most and run quickly (about a minute on the 2-core CI machine). */
const SUITES = ['packages/kafka/test/integration/', 'examples/topic-mapping/test/'];
const DEFAULT_PORT_BASE = 29092;

const USAGE = `usage: node scripts/kafka-compat.js [--version X.Y.Z] [--port-base N] [--keep-broker] [-- <jest args>]
  --version      Kafka version to test against (default ${FALLBACK_VERSION}; env SLUICE_KAFKA_COMPAT_VERSION)
  --port-base    first of its 4 ports (default ${DEFAULT_PORT_BASE}; env SLUICE_KAFKA_COMPAT_PORT_BASE);
                 must not overlap the default broker's (SLUICE_KAFKA_PORT_BASE, 19092)
  --keep-broker  leave the broker running afterwards (state in .sluice/kafka-<version>)
suites: ${SUITES.join(', ')}`;

function parse(argv) {
  const opts = {
    version: process.env.SLUICE_KAFKA_COMPAT_VERSION || FALLBACK_VERSION,
    portBase: process.env.SLUICE_KAFKA_COMPAT_PORT_BASE || String(DEFAULT_PORT_BASE),
    keepBroker: false,
    jestArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      opts.jestArgs = argv.slice(i + 1);
      break;
    }
    if (arg === '--version' && argv[i + 1]) opts.version = argv[++i];
    else if (arg === '--port-base' && argv[i + 1]) opts.portBase = argv[++i];
    else if (arg === '--keep-broker') opts.keepBroker = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  if (!/^\d+\.\d+\.\d+$/.test(opts.version)) throw new Error(`--version must look like 3.9.1, got "${opts.version}"`);
  const own = portsFromEnv({ SLUICE_KAFKA_PORT_BASE: opts.portBase }); // validates the number
  const main = portsFromEnv();
  if (Math.abs(own.plaintext - main.plaintext) < 4) {
    throw new Error(`--port-base ${own.plaintext} overlaps the default Kafka broker's ports ${main.plaintext}-${main.controller}; pick another base`);
  }
  return opts;
}

/** Runs a child with the given env, output passed through; resolves with its exit code. */
function runChild(args, env, children) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    children.add(child);
    child.on('error', (err) => {
      console.error(`[kafka-compat] ${args[0]}: ${err.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

function summarize(version, resultsFile) {
  let results;
  try {
    results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  } catch {
    console.log(`jest kafka ${version}: no results (jest wrote no ${path.relative(ROOT, resultsFile)})`);
    return false;
  }
  const { numPassedTests: passed, numFailedTests: failed, numPendingTests, numTodoTests, numTotalTests } = results;
  console.log(`jest kafka ${version}: ${passed} passed, ${failed} failed, ${numPendingTests + numTodoTests} skipped`);
  // A suite that fails to load counts no failed test but is still a failure.
  const brokenSuites = results.numFailedTestSuites + (results.numRuntimeErrorTestSuites ?? 0);
  const ran = passed + failed;
  if (ran === 0) console.error(`[kafka-compat] jest ran no test (suites: ${SUITES.join(', ')}; total ${numTotalTests})`);
  return ran > 0 && failed === 0 && brokenSuites === 0 && results.success !== false;
}

async function main() {
  const t0 = Date.now();
  const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
  const opts = parse(process.argv.slice(2));
  const stateDir = path.join(ROOT, '.sluice', `kafka-${opts.version}`);
  const brokerFile = path.join(stateDir, 'broker.json');
  const resultsFile = path.join(ROOT, '.cache', `jest-kafka-${opts.version}.json`);
  // The broker script reads where and on which ports from the env; jest's global setup then only checks
  // the broker named by SLUICE_KAFKA_BROKER_FILE and starts nothing.
  const env = {
    ...process.env,
    SLUICE_KAFKA_STATE_DIR: stateDir,
    SLUICE_KAFKA_PORT_BASE: opts.portBase,
    SLUICE_KAFKA_VERSION: opts.version,
    SLUICE_KAFKA_BROKER_FILE: brokerFile,
  };
  const kafkaScript = path.join(__dirname, 'kafka.js');
  const children = new Set();
  let stopped;
  /** Once only, whether called by the normal flow or by a signal arriving between children. */
  const stopBroker = () => {
    if (opts.keepBroker) return Promise.resolve();
    stopped ??= (async () => {
      const t = Date.now();
      await runChild([kafkaScript, 'stop'], env, new Set());
      console.log(`[kafka-compat] broker stopped (${seconds(t)})`);
    })();
    return stopped;
  };
  // Ctrl-C reaches jest itself (same process group); a SIGTERM from CI is passed on. Either way the
  // broker is stopped before this exits.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      for (const child of children) child.kill(signal);
      if (children.size === 0) void stopBroker().then(() => process.exit(130));
    });
  }

  console.log(`[kafka-compat] Kafka ${opts.version} on 127.0.0.1:${opts.portBase}, state in ${path.relative(ROOT, stateDir)}`);
  let t = Date.now();
  // The disk-buffer suite runs a child process on packages/kafka/dist; after `npm test` this is a no-op.
  const built = await runChild([require.resolve('typescript/bin/tsc'), '-b', 'packages/kafka'], env, children);
  if (built !== 0) {
    console.log(`jest kafka ${opts.version}: not run (tsc -b packages/kafka failed)`);
    return 1;
  }
  const buildTime = seconds(t);

  t = Date.now();
  const started = await runChild([kafkaScript, 'start', '--version', opts.version], env, children);
  const startTime = seconds(t);
  let ok = false;
  try {
    if (started !== 0) {
      console.log(`jest kafka ${opts.version}: not run (the Kafka ${opts.version} broker did not start; see above. --port-base N moves its 4 ports)`);
      return 1;
    }
    // start reuses a running broker only when version and ports match; check anyway, so the summary's
    // version is the one the tests met
    const running = JSON.parse(fs.readFileSync(brokerFile, 'utf8')).version;
    if (running !== opts.version) {
      console.log(`jest kafka ${opts.version}: not run (${path.relative(ROOT, brokerFile)} names Kafka ${running})`);
      return 1;
    }
    t = Date.now();
    fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
    fs.rmSync(resultsFile, { force: true });
    const jestArgs = [
      require.resolve('jest/bin/jest'), '--selectProjects', 'integration',
      '--testPathPatterns', ...SUITES,
      '--json', `--outputFile=${resultsFile}`,
      ...opts.jestArgs,
    ];
    const jestCode = await runChild(jestArgs, env, children);
    const jestTime = seconds(t);
    ok = summarize(opts.version, resultsFile) && jestCode === 0;
    console.log(`[kafka-compat] build ${buildTime}, broker start ${startTime}, jest ${jestTime}`);
  } finally {
    await stopBroker();
    console.log(`[kafka-compat] Kafka ${opts.version}: ${ok ? 'passed' : 'FAILED'} in ${seconds(t0)}`);
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`[kafka-compat] ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);

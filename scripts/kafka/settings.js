'use strict';
// Where the test broker's files live, which ports it uses and its (test-only) users.
// One place so the CLI, the jest global setup and the docs agree.
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/** Kafka 4.1 is the default: kafkajs 2.2.4 was verified against it (see docs/brokers.md). */
const DEFAULT_VERSION = '4.1.2';
/** Last line that still serves every old protocol version; `--version 3.9.1` selects it. */
const FALLBACK_VERSION = '3.9.1';
const SLF4J_VERSION = '2.0.17';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies';

function ports(env = process.env) {
  const raw = env.SLUICE_KAFKA_PORT_BASE;
  const base = raw === undefined || raw === '' ? 19092 : Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base > 65532) {
    throw new Error(`SLUICE_KAFKA_PORT_BASE must be an integer between 1024 and 65532, got "${raw}"`);
  }
  return { plaintext: base, saslSsl: base + 1, saslPlaintext: base + 2, controller: base + 3 };
}

function jarsDir(version) {
  return path.join(ROOT, '.cache', 'kafka', version, 'jars');
}

// SLUICE_KAFKA_STATE_DIR lets a second broker (other ports, other version) run beside the default one.
const STATE_DIR = process.env.SLUICE_KAFKA_STATE_DIR
  ? path.resolve(process.env.SLUICE_KAFKA_STATE_DIR)
  : path.join(ROOT, '.sluice', 'kafka');

const paths = {
  root: ROOT,
  pom: path.join(__dirname, 'pom.xml'),
  log4j: path.join(__dirname, 'log4j.properties'),
  serverTemplate: path.join(__dirname, 'server.properties.template'),
  stateDir: STATE_DIR,
  lockDir: `${STATE_DIR}.lock`,
  dataDir: path.join(STATE_DIR, 'data'),
  logsDir: path.join(STATE_DIR, 'logs'),
  tlsDir: path.join(STATE_DIR, 'tls'),
  serverProperties: path.join(STATE_DIR, 'server.properties'),
  pidFile: path.join(STATE_DIR, 'kafka.pid'),
  stateFile: path.join(STATE_DIR, 'broker.json'),
  /** The JVM's own stdout/stderr (startup failures before logging is set up land here). */
  outFile: path.join(STATE_DIR, 'logs', 'kafka.out'),
  serverLog: path.join(STATE_DIR, 'logs', 'server.log'),
};

// TEST-ONLY credentials: public, fixed, and only ever accepted by this local broker.
const users = {
  scram256: { username: 'sluice256', password: 'sluice-scram-256-test' },
  scram512: { username: 'sluice512', password: 'sluice-scram-512-test' },
  plain: { username: 'sluiceplain', password: 'sluice-plain-test' },
};
const KEYSTORE_PASSWORD = 'sluice-test-keystore';

module.exports = {
  ROOT,
  DEFAULT_VERSION,
  FALLBACK_VERSION,
  SLF4J_VERSION,
  DEPENDENCY_PLUGIN,
  KEYSTORE_PASSWORD,
  ports,
  jarsDir,
  paths,
  users,
};

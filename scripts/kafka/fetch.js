'use strict';
// Resolves the broker's runtime jars from Maven Central into .cache/kafka/<version>/jars with the
// tiny pom beside this file. Idempotent: a completed folder carries a marker and is reused.
const fs = require('node:fs');
const path = require('node:path');
const { DEPENDENCY_PLUGIN, SLF4J_VERSION, jarsDir, paths } = require('./settings');
const { run, requireCommand } = require('./proc');

const MARKER = '.complete';

function isFetched(version) {
  return fs.existsSync(path.join(jarsDir(version), MARKER));
}

/** Exactly one SLF4J binding, or the broker logs through whichever the classpath order picks. */
function checkJars(dir, version) {
  const jars = fs.readdirSync(dir).filter((f) => f.endsWith('.jar'));
  const bindings = jars.filter((f) =>
    /^(slf4j-(reload4j|log4j12|simple|jdk14|nop|jcl)|log4j-slf4j2?-impl|logback-classic)-/.test(f),
  );
  if (bindings.length !== 1 || !bindings[0].startsWith(`slf4j-reload4j-${SLF4J_VERSION}`)) {
    throw new Error(`expected exactly one SLF4J binding (slf4j-reload4j-${SLF4J_VERSION}) in ${dir}, found: ${bindings.join(', ') || 'none'}`);
  }
  if (!jars.includes(`kafka_2.13-${version}.jar`)) {
    throw new Error(`kafka_2.13-${version}.jar is missing from ${dir}`);
  }
  return jars.length;
}

/**
 * @param {string} version e.g. '4.1.2'
 * @param {{ log?: (line: string) => void }} [opts]
 * @returns {Promise<string>} the jar folder
 */
async function fetchKafka(version, opts = {}) {
  const log = opts.log ?? (() => {});
  const dir = jarsDir(version);
  if (isFetched(version)) {
    log(`kafka ${version}: jars already in ${path.relative(paths.root, dir)}`);
    return dir;
  }
  await requireCommand('mvn', ['-v'], 'Maven 3.8+ is required to fetch Kafka (Debian: apt-get install -y maven)');
  // Resolve into a sibling temp folder and rename at the end, so an interrupted fetch is never
  // mistaken for a complete one.
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  log(`kafka ${version}: resolving org.apache.kafka:kafka_2.13:${version} from Maven Central...`);
  const started = Date.now();
  const args = [
    '-B', '-ntp', '-q',
    '-f', paths.pom,
    `-Dkafka.version=${version}`,
    `-Dslf4j.version=${SLF4J_VERSION}`,
    DEPENDENCY_PLUGIN,
    '-DincludeScope=runtime',
    `-DoutputDirectory=${tmp}`,
  ];
  if (process.env.SLUICE_MAVEN_REPO) args.unshift(`-Dmaven.repo.local=${process.env.SLUICE_MAVEN_REPO}`);
  const result = await run('mvn', args, { cwd: paths.root });
  if (result.code !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`mvn could not fetch Kafka ${version} (exit ${result.code}):\n${tail(result.output, 40)}`);
  }
  const count = checkJars(tmp, version);
  fs.writeFileSync(path.join(tmp, MARKER), `${new Date().toISOString()}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  log(`kafka ${version}: ${count} jars in ${path.relative(paths.root, dir)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return dir;
}

function tail(text, lines) {
  return text.split('\n').slice(-lines).join('\n');
}

module.exports = { fetchKafka, isFetched, tail };

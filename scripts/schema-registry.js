#!/usr/bin/env node
'use strict';
// The test schema registry: Apicurio Registry 2.4.2.Final (Confluent-compatible API under /apis/ccompat/v7),
// built from Maven Central artifacts into one jar. node scripts/schema-registry.js <fetch|path>
//   fetch  build .cache/schema-registry/<version>/registry.jar with Maven (skipped when present; ~1 min
//          with a warm ~/.m2, a few minutes cold)
//   path   print the jar's path (exit 1 when not fetched)
// The integration spec that needs it starts and stops its own instance (scripts/testkit/schema-registry.ts).
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const VERSION = '2.4.2.Final';
const ROOT = path.resolve(__dirname, '..');
const SOURCE = path.join(__dirname, 'schema-registry');
const DIR = path.join(ROOT, '.cache', 'schema-registry', VERSION);
const JAR = path.join(DIR, 'registry.jar');

function run(command, args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (error) => resolve({ code: -1, output: output + error.message }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function fetch(log) {
  if (fs.existsSync(JAR)) {
    log(`schema registry ${VERSION}: ${path.relative(ROOT, JAR)} already built`);
    return JAR;
  }
  // Built in a scratch copy, renamed at the end: an interrupted build is never taken for a complete one.
  const work = `${DIR}.tmp-${process.pid}`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(work), { recursive: true });
  fs.cpSync(SOURCE, work, { recursive: true });
  const started = Date.now();
  log(`schema registry ${VERSION}: building the Apicurio Registry jar with Maven...`);
  // a cold ~/.m2 downloads a few hundred artifacts: let Maven's HTTP transport retry a dropped connection
  const args = ['-B', '-ntp', '-q', '-Dmaven.wagon.http.retryHandler.count=3', 'package', '-DskipTests', '-Dquarkus.package.type=uber-jar'];
  if (process.env.SLUICE_MAVEN_REPO) args.unshift(`-Dmaven.repo.local=${process.env.SLUICE_MAVEN_REPO}`);
  const result = await run('mvn', args, work);
  const built = path.join(work, 'target', 'schema-registry-0-runner.jar');
  if (result.code !== 0 || !fs.existsSync(built)) {
    fs.rmSync(work, { recursive: true, force: true });
    throw new Error(`mvn could not build the schema registry (exit ${result.code}):\n${result.output.split('\n').slice(-40).join('\n')}`);
  }
  fs.mkdirSync(DIR, { recursive: true });
  fs.renameSync(built, JAR);
  fs.rmSync(work, { recursive: true, force: true });
  log(`schema registry ${VERSION}: ${path.relative(ROOT, JAR)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return JAR;
}

// Test registries running now, one file per JVM (its process group id) naming the process that started it:
// the jest global teardown stops those whose starter is gone or is the jest run itself, should a test
// process have died (a signal, a crash) without stopping its registry.
const RUNNING = path.join(ROOT, '.cache', 'schema-registry', 'running');

function noteRunning(jvmPid) {
  fs.mkdirSync(RUNNING, { recursive: true });
  fs.writeFileSync(path.join(RUNNING, String(jvmPid)), `${process.pid}\n`);
}

function forgetRunning(jvmPid) {
  fs.rmSync(path.join(RUNNING, String(jvmPid)), { force: true });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** The parent pid of a live process (Linux /proc), or undefined. */
function parentOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still our registry's JVM (a pid may have been reused since). */
function isRegistryJvm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.join('schema-registry', VERSION, 'registry.jar'));
  } catch {
    return false;
  }
}

/** Stops the test registries left by this jest run (`runPid`) or by processes that are gone; returns how many. */
function stopLeftovers(runPid = process.pid) {
  let names = [];
  try {
    names = fs.readdirSync(RUNNING);
  } catch {
    return 0;
  }
  let stopped = 0;
  for (const name of names) {
    const jvm = Number(name);
    const owner = Number(fs.readFileSync(path.join(RUNNING, name), 'utf8'));
    const ours = owner === runPid || parentOf(owner) === runPid || !alive(owner);
    if (!ours) continue;
    if (Number.isInteger(jvm) && jvm > 0 && isRegistryJvm(jvm)) {
      try {
        process.kill(-jvm, 'SIGKILL');
        stopped += 1;
      } catch {
        // gone meanwhile
      }
    }
    forgetRunning(jvm);
  }
  return stopped;
}

async function main() {
  const command = process.argv[2];
  const log = (line) => process.stderr.write(`${line}\n`);
  if (command === 'fetch') await fetch(log);
  else if (command === 'path') {
    if (!fs.existsSync(JAR)) throw new Error(`${JAR} is not built: run node scripts/schema-registry.js fetch`);
    process.stdout.write(`${JAR}\n`);
  } else throw new Error('usage: node scripts/schema-registry.js <fetch|path>');
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}

module.exports = { fetch, JAR, VERSION, noteRunning, forgetRunning, stopLeftovers };

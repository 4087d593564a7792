// A private Apicurio Registry for a test file: started on a port Quarkus picks itself, stopped by the test.
// The jar is built by `node scripts/schema-registry.js fetch` (CI does it before the tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { forgetRunning, noteRunning } = require('../schema-registry') as {
  noteRunning(jvmPid: number): void;
  forgetRunning(jvmPid: number): void;
};

const JAR = path.resolve(__dirname, '..', '..', '.cache', 'schema-registry', '2.4.2.Final', 'registry.jar');
const START_TIMEOUT_MS = Number(process.env['SLUICE_SCHEMA_REGISTRY_START_TIMEOUT_MS'] ?? 150_000);
/** Quarkus's start line names the port it bound (we pass port 0, so no other process can take it first). */
const LISTENING = /Listening on: http:\/\/127\.0\.0\.1:(\d+)/;

export interface TestSchemaRegistry {
  /** Base URL of the Confluent-compatible API, e.g. http://127.0.0.1:41234/apis/ccompat/v7. */
  readonly url: string;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Runs java with the arguments and exits with it; kills its own process group (java included) once stdin
 * reaches its end. stdin goes by fd 3: sh gives a background job /dev/null as its stdin.
 */
const WATCHDOG = 'exec 3<&0; java "$@" </dev/null & jvm=$!; (cat <&3 >/dev/null; kill -9 -$$) & wait $jvm';

/** Whether any process of the group is left. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals a process group; it may be gone already. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone
  }
}

/** Starts Apicurio Registry (in-memory storage) and waits until its ccompat API answers; throws, loudly, when it cannot. */
export async function startSchemaRegistry(): Promise<TestSchemaRegistry> {
  if (!existsSync(JAR)) throw new Error(`${JAR} is missing: run \`node scripts/schema-registry.js fetch\` (needs Maven and Java 17)`);
  // Detached: its own process group, killed whole. A watchdog in the group kills it when our end of its
  // stdin closes, which happens however this process ends: jest stopped by a signal (a test file's signal
  // and exit handlers do not run then), a crash, SIGKILL.
  const child: ChildProcess = spawn('sh', ['-c', WATCHDOG, 'schema-registry',
    '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
    '-Dquarkus.http.port=0', '-Dquarkus.http.host=127.0.0.1', '-Dquarkus.log.level=WARN',
    '-Dquarkus.log.category."io.quarkus".level=INFO', // its start line names the bound port
    '-jar', JAR,
  ], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start java for the test schema registry (is Java 17 on the PATH?)');
  noteRunning(pid); // the jest global teardown stops it should this process die without stop()
  let output = '';
  let port: number | undefined;
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-20_000);
    const bound = port === undefined ? LISTENING.exec(output) : null;
    if (bound !== null) port = Number(bound[1]);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  // A test that forgets stop(), or jest stopped by a signal, must not leave a JVM behind.
  const killNow = (): void => killGroup(pid, 'SIGKILL');
  const onSignal = (signal: NodeJS.Signals): void => {
    killNow();
    forgetRunning(pid);
    dropHandlers();
    // ours was the only handler: do what the signal would have done without it
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const dropHandlers = (): void => {
    process.removeListener('exit', killNow);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  process.once('exit', killNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stop = async (): Promise<void> => {
    dropHandlers();
    // the whole group (the JVM outlives the shell by its shutdown), SIGKILL after 10 s
    killGroup(pid, 'SIGTERM');
    const until = Date.now() + 10_000;
    while (groupAlive(pid) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    killGroup(pid, 'SIGKILL');
    await exited;
    child.stdin?.destroy();
    forgetRunning(pid);
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (port === undefined || !(await answers(`http://127.0.0.1:${port}/apis/ccompat/v7`))) {
    if (gone || Date.now() > deadline) {
      const why = gone ? 'it exited' : `not within ${START_TIMEOUT_MS} ms`;
      await stop();
      throw new Error(`the test schema registry did not start${port === undefined ? '' : ` on port ${port}`} (${why}):\n${output.split('\n').slice(-30).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url: `http://127.0.0.1:${port}/apis/ccompat/v7`, stop };
}

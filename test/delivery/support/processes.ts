// The processes the delivery scenarios break on purpose: Sluice itself (the real `sluice run` command on
// a generated config file) and the project's local Kafka broker (scripts/kafka.js, pid in broker.json).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { kafkaBrokerFile } from '@sluice/testkit';
import { sleep } from './load';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'cli', 'dist', 'bin.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface SluiceProcess {
  readonly port: number;
  /** stderr so far (JSON log lines). */
  log(): string;
  /** Parsed Prometheus text of GET /metrics: `name{labels}` → value. */
  metrics(): Promise<Map<string, number>>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited(): Promise<number | string>;
}

/**
 * Runs `sluice run -c <config>` with the given config (JSON), an HTTP port of its own, and waits until /readyz
 * answers 200, or with `untilReady: false` until it answers at all (a scenario that starts not ready: 503).
 */
export async function startSluice(config: Record<string, unknown>, { untilReady = true }: { untilReady?: boolean } = {}): Promise<SluiceProcess> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-delivery-'));
  const file = path.join(dir, 'sluice.json');
  writeFileSync(file, JSON.stringify({ ...config, http: { port }, log: { level: 'warn', format: 'json' } }, null, 2));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '-c', file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => {
    rmSync(dir, { recursive: true, force: true });
    resolve(code ?? signal ?? 'unknown');
  }));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exit.then(() => process.removeListener('exit', killOnExit));
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sluice run exited at start:\n${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200 || (!untilReady && res.status === 503)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sluice run did not ${untilReady ? 'become ready' : 'answer on /readyz'} within 30 s:\n${stderr}`);
    }
    await sleep(100);
  }
  return {
    port,
    log: () => stderr,
    async metrics() {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const values = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const space = line.lastIndexOf(' ');
        values.set(line.slice(0, space), Number(line.slice(space + 1)));
      }
      return values;
    },
    kill: (signal) => void child.kill(signal),
    exited: () => exit,
  };
}

/** SIGKILLs every process of the list (a test's clean-up: whatever state it left them in) and empties it. */
export async function stopAll(sluices: SluiceProcess[]): Promise<void> {
  for (const sluice of sluices.splice(0)) {
    sluice.kill('SIGKILL');
    await sluice.exited();
  }
}

/** The pid of the project's Kafka broker. */
export function kafkaPid(): number {
  const state = JSON.parse(readFileSync(kafkaBrokerFile(), 'utf8')) as { pid?: unknown };
  if (typeof state.pid !== 'number') throw new Error(`no pid in ${kafkaBrokerFile()}`);
  return state.pid;
}

export function signalKafka(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void {
  process.kill(kafkaPid(), signal);
}

/** Whether the broker process named by the broker file is alive (a test may have killed it and failed before restarting it). */
export function kafkaAlive(): boolean {
  try {
    process.kill(kafkaPid(), 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs the broker and waits until the process is gone. */
export async function killKafka(): Promise<void> {
  const pid = kafkaPid();
  process.kill(pid, 'SIGKILL');
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
}

/**
 * `node scripts/kafka.js start --keep-data` for the broker the tests talk to: the killed broker comes back
 * with its topics and records. That broker is the one named by SLUICE_KAFKA_BROKER_FILE (or
 * SLUICE_KAFKA_STATE_DIR, or the default `.sluice/kafka/`), so the state folder, ports and version are taken
 * from its broker.json rather than from the environment: pointed at a private broker through the broker
 * file alone, a restart must not go to the shared one. Fails when the broker came back without its data.
 */
export function restartKafka(): Promise<void> {
  const file = kafkaBrokerFile();
  const stateDir = path.dirname(file);
  const state = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown; bootstrap?: unknown };
  const port = typeof state.bootstrap === 'string' ? Number(state.bootstrap.split(':').pop()) : Number.NaN;
  if (typeof state.version !== 'string' || !Number.isInteger(port)) {
    throw new Error(`cannot restart Kafka: ${file} has no version or bootstrap port`);
  }
  if (!existsSync(path.join(stateDir, 'server.properties')) || !existsSync(path.join(stateDir, 'data', 'meta.properties'))) {
    throw new Error(
      `cannot restart Kafka: ${stateDir} is not the state folder of a broker started by scripts/kafka.js (no server.properties ` +
        'or data/meta.properties beside the broker file); the delivery tests can only kill and restart such a broker',
    );
  }
  const env = { ...process.env, SLUICE_KAFKA_STATE_DIR: stateDir, SLUICE_KAFKA_PORT_BASE: String(port), SLUICE_KAFKA_VERSION: state.version };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(ROOT, 'scripts', 'kafka.js'), 'start', '--keep-data'], { cwd: ROOT, env, timeout: 180000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kafka restart failed: ${error.message}\n${stdout}\n${stderr}`));
      // "starting fresh" would mean an empty broker: every topic of the test gone, and a confusing failure later
      else if (!stdout.includes('keeping the data dir')) reject(new Error(`kafka restarted without its data dir (${stateDir}):\n${stdout}\n${stderr}`));
      else resolve();
    });
  });
}

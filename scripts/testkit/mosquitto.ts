// A test-owned Mosquitto on a free port with its own config file (bigger queues, persistence, ...),
// for tests the shared broker on 1883 cannot serve: durability, restarts, queue limits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface MosquittoOptions {
  /** Mosquitto settings, one `key value` line each, e.g. `{ max_queued_messages: 100000, persistence: true }`. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** Raw config lines appended last. */
  readonly lines?: readonly string[];
  /** A fixed port; a free one by default. */
  readonly port?: number;
}

export interface TestMosquitto {
  readonly url: string;
  readonly port: number;
  /** Holds mosquitto.conf, mosquitto.log and the persistence file. */
  readonly dir: string;
  /** Stops the broker (persistence is written on a clean stop). Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port with the same config and data. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. Call in afterEach/afterAll. */
  dispose(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function render(port: number, dir: string, opts: MosquittoOptions): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root, mosquitto would switch to the `mosquitto` user and lose access to `dir`.
    `user ${os.userInfo().username}`,
    `persistence_location ${dir}${path.sep}`,
    `log_dest file ${path.join(dir, 'mosquitto.log')}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
  ];
  for (const [key, value] of Object.entries(opts.settings ?? {})) lines.push(`${key} ${String(value)}`);
  lines.push(...(opts.lines ?? []));
  return `${lines.join('\n')}\n`;
}

/** Starts a private Mosquitto and waits until it accepts connections. */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<TestMosquitto> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, render(port, dir, opts));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // A test that forgets stop() must not leave a broker behind when its worker exits.
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };

  const describe = (): string => {
    const log = path.join(dir, 'mosquitto.log');
    return existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '(no log)';
  };

  async function launch(): Promise<void> {
    let output = '';
    let gone = false;
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        gone = true;
        resolve();
      });
      proc.once('error', (err) => {
        output += err.message;
        gone = true;
        resolve();
      });
    });
    process.once('exit', killOnExit);
    const deadline = Date.now() + 10000;
    while (!(await answers(port))) {
      if (gone || Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`test Mosquitto on port ${port} did not start${gone ? ' (it exited)' : ''}: ${output.trim()}\n${describe()}`);
      }
      await sleep(50);
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    process.removeListener('exit', killOnExit);
  }

  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

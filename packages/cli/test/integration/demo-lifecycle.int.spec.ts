// `sluice demo` and the Kafka JVM it starts: a broker the demo started is stopped when the demo ends; one
// that was already running is left running, with the command that stops it. Runs on a broker of its own
// (own ports and state folder) so it never stops the shared test broker other suites use.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');
const BIN = resolve(__dirname, '../../dist/bin.js');
const KAFKA_SCRIPT = join(ROOT, 'scripts', 'kafka.js');
// Away from the shared broker (19092), kafka-compat (29092) and the docs' example (39092).
const PORT_BASE = 39592;

let stateDir: string;
let env: NodeJS.ProcessEnv;

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); done(true); });
    socket.once('error', () => done(false));
  });
}

/** Running (a zombie not yet reaped by whoever adopted the detached JVM does not count). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').length > 0;
  } catch {
    return false;
  }
}

async function runDemo(): Promise<{ code: number | null; output: string }> {
  const mqttPort = await freePort();
  const child = spawn(process.execPath, [BIN, 'demo', '--duration', '3', '--interval', '200', '--mqtt-port', String(mqttPort)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, output };
}

function kafkaScript(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [KAFKA_SCRIPT, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 180_000 });
}

describe('sluice demo and the local Kafka broker', () => {
  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'sluice-demo-kafka-'));
    env = { ...process.env, SLUICE_KAFKA_STATE_DIR: join(stateDir, 'kafka'), SLUICE_KAFKA_PORT_BASE: String(PORT_BASE) };
    delete env['SLUICE_KAFKA_BROKER_FILE'];
  });

  afterAll(() => {
    kafkaScript('stop');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('stops the broker it started when --duration ends, and says so', async () => {
    const { code, output } = await runDemo();

    expect(output).toMatch(new RegExp(`started Kafka \\d+\\.\\d+\\.\\d+ on 127\\.0\\.0\\.1:${PORT_BASE} \\(pid (\\d+), started by sluice demo`));
    const pid = Number(/started Kafka \S+ on \S+ \(pid (\d+)/.exec(output)?.[1]);
    expect(output).toContain(`stopped Kafka`);
    expect(code).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(await portAnswers(PORT_BASE)).toBe(false);
  }, 240_000);

  it('leaves a broker that was already running, names it and the command that stops it; a lease keeps another user\'s broker up', async () => {
    expect(kafkaScript('start').status).toBe(0);
    const broker = JSON.parse(readFileSync(join(stateDir, 'kafka', 'broker.json'), 'utf8')) as { pid: number };

    const { code, output } = await runDemo();

    expect(output).toContain(`reusing Kafka`);
    expect(output).toContain(`(pid ${broker.pid}, started by node scripts/kafka.js start`);
    // The stop command names the state folder when it is not the default one.
    expect(output).toContain(
      `was already running before the demo; it is still running in the background (a JVM of about 450 MB); stop it with \`SLUICE_KAFKA_STATE_DIR=${join(stateDir, 'kafka')} npm run kafka:stop\``,
    );
    expect(code).toBe(0);
    expect(alive(broker.pid)).toBe(true);

    // `release --stop` (what the demo runs for a broker it started) keeps a broker another live process uses.
    expect(kafkaScript('start', '--lease', String(process.pid), '--started-by', 'this jest worker').status).toBe(0);
    const deadPid = 2 ** 22 + 1; // above the default pid_max: never a live process
    const kept = JSON.parse(kafkaScript('release', '--lease', String(deadPid), '--stop', '--json').stdout) as { stopped: boolean; heldBy: { label: string }[] };
    expect(kept.stopped).toBe(false);
    expect(kept.heldBy.map((h) => h.label)).toEqual(['this jest worker']);
    expect(alive(broker.pid)).toBe(true);
    const last = JSON.parse(kafkaScript('release', '--lease', String(process.pid), '--stop', '--json').stdout) as { stopped: boolean };
    expect(last.stopped).toBe(true);
    expect(alive(broker.pid)).toBe(false);
  }, 240_000);
});

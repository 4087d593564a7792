// A private Apicurio Registry for a test file: started on a free loopback port, stopped by the test.
// The jar is built by `node scripts/schema-registry.js fetch` (CI does it before the tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const JAR = path.resolve(__dirname, '..', '..', '.cache', 'schema-registry', '2.4.2.Final', 'registry.jar');
const START_TIMEOUT_MS = Number(process.env['SLUICE_SCHEMA_REGISTRY_START_TIMEOUT_MS'] ?? 150_000);

export interface TestSchemaRegistry {
  /** Base URL of the Confluent-compatible API, e.g. http://127.0.0.1:41234/apis/ccompat/v7. */
  readonly url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts Apicurio Registry (in-memory storage) and waits until its ccompat API answers; throws, loudly, when it cannot. */
export async function startSchemaRegistry(): Promise<TestSchemaRegistry> {
  if (!existsSync(JAR)) throw new Error(`${JAR} is missing: run \`node scripts/schema-registry.js fetch\` (needs Maven and Java 17)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  const child: ChildProcess = spawn('java', [
    '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
    `-Dquarkus.http.port=${port}`, '-Dquarkus.http.host=127.0.0.1', '-Dquarkus.log.level=WARN',
    '-jar', JAR,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  // a test that forgets stop() must not leave a JVM behind
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(url))) {
    if (gone || Date.now() > deadline) {
      await stop();
      throw new Error(`the test schema registry did not start on port ${port} within ${START_TIMEOUT_MS} ms${gone ? ' (it exited)' : ''}:\n${output.split('\n').slice(-30).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, stop };
}

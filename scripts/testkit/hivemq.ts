// HiveMQ Community Edition, the test kit's second MQTT 5 broker (issue #13): a private instance per test
// file (its own free port and folder, in-memory persistence), or the one `node scripts/hivemq.js start` runs.
// The jars come from `node scripts/hivemq.js fetch` (CI does it before the tests).
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface PrivateHiveMq {
  readonly url: string;
  readonly port: number;
  readonly version: string;
  readonly maxQueueSize: number;
  log(): string;
  stop(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hivemq = require('../hivemq') as {
  STATE: string;
  startPrivate(options?: { maxQueueSize?: number }): Promise<PrivateHiveMq>;
};

export interface HiveMqOptions {
  /** Messages HiveMQ keeps per client (offline queue and in flight); more are discarded. Default 100,000. */
  readonly maxQueueSize?: number;
}

export interface TestHiveMq {
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** HiveMQ CE version, e.g. `2025.5`. */
  readonly version: string;
  /** The end of the broker's log (stdout and stderr of its JVM). */
  log(): string;
  /** Stops the JVM (its whole process group) and removes its folder. Call in afterAll. */
  stop(): Promise<void>;
}

/**
 * Starts a private HiveMQ CE and waits until it accepts connections (about 10 s); throws, loudly, with the end
 * of its log when it cannot. The JVM is killed with this process however it ends (a watchdog in its group).
 */
export async function startHiveMq(options: HiveMqOptions = {}): Promise<TestHiveMq> {
  const broker = await hivemq.startPrivate(options.maxQueueSize === undefined ? {} : { maxQueueSize: options.maxQueueSize });
  return { url: broker.url, port: broker.port, version: broker.version, log: broker.log, stop: broker.stop };
}

/** The HiveMQ of `node scripts/hivemq.js start`: SLUICE_HIVEMQ_URL, else its `.sluice/hivemq/broker.json`. */
export function hivemqUrl(): string {
  const fromEnv = process.env['SLUICE_HIVEMQ_URL'];
  if (fromEnv) return fromEnv;
  try {
    const state = JSON.parse(readFileSync(path.join(hivemq.STATE, 'broker.json'), 'utf8')) as { url?: unknown };
    if (typeof state.url === 'string') return state.url;
  } catch {
    // not started
  }
  throw new Error('no HiveMQ is running: `node scripts/hivemq.js start` starts one (or set SLUICE_HIVEMQ_URL)');
}

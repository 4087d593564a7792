import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, ExitCode } from '../exit-codes';
import type { CommandIo } from './io';

// The demo's Kafka: given with --kafka, or the repository's local broker (scripts/kafka.js), which the
// demo either starts or finds already running. What the demo started it stops at its end; what it found
// it leaves, and says how to stop it (the broker is a detached JVM of about 450 MB that outlives us).

/** Where the demo's Kafka came from; decides what happens to it when the demo ends. */
export type KafkaOrigin =
  | { readonly kind: 'given'; readonly bootstrap: string }
  | { readonly kind: 'started' | 'reused'; readonly bootstrap: string; readonly broker: LocalBroker };

/** The part of scripts/kafka.js's broker.json the demo uses. */
export interface LocalBroker {
  readonly version: string;
  readonly bootstrap: string;
  readonly pid: number;
  readonly startedBy?: string;
}

/** What `kafka.js release --json` answers. */
export interface ReleaseResult {
  readonly stopped: boolean;
  /** Still running after the release (false also when something else stopped it meanwhile). */
  readonly running: boolean;
  readonly heldBy: readonly { readonly pid: number; readonly label: string }[];
  readonly ms: number;
}

export const STOP_COMMAND = 'npm run kafka:stop';

/** The stop command for the broker the script uses: its state folder is where the pid file is. */
export function stopCommand(env: NodeJS.ProcessEnv): string {
  const stateDir = env['SLUICE_KAFKA_STATE_DIR'];
  return stateDir === undefined || stateDir === '' ? STOP_COMMAND : `SLUICE_KAFKA_STATE_DIR=${stateDir} ${STOP_COMMAND}`;
}
/** Bound on stopping the broker: the script waits 20 s for SIGTERM, then SIGKILLs; a margin on top. */
export const KAFKA_STOP_TIMEOUT_MS = 40_000;

/** Stop the broker at the end only when this demo started it and was not asked to keep it. */
export function shouldStopKafka(origin: KafkaOrigin, keepKafka: boolean): boolean {
  return origin.kind === 'started' && !keepKafka;
}

export function describeBroker(broker: LocalBroker): string {
  return `Kafka ${broker.version} on ${broker.bootstrap} (pid ${broker.pid}${broker.startedBy === undefined ? '' : `, started by ${broker.startedBy}`})`;
}

/** The line the demo prints about Kafka as it ends, when it does not stop it (or could not). */
export function kafkaLeftMessage(origin: KafkaOrigin, keepKafka: boolean, release?: ReleaseResult | Error, stop = STOP_COMMAND): string {
  if (origin.kind === 'given') return `Kafka at ${origin.bootstrap} (--kafka) was not started by the demo; left as it is`;
  const what = describeBroker(origin.broker);
  const howToStop = `it is still running in the background (a JVM of about 450 MB); stop it with \`${stop}\``;
  if (release instanceof Error) return `could not stop ${what}: ${release.message}; ${howToStop}`;
  if (release !== undefined && !release.running) return `${what} is not running any more`;
  if (origin.kind === 'reused') return `${what} was already running before the demo; ${howToStop}`;
  if (keepKafka) return `${what} kept (--keep-kafka); ${howToStop}`;
  const users = release?.heldBy.map((h) => h.label).join(', ') ?? '';
  return `${what} left running: still used by ${users || 'another process'}; ${howToStop}`;
}

export function repoRoot(): string {
  return resolve(__dirname, '..', '..', '..', '..');
}

function kafkaScript(): string {
  const script = join(repoRoot(), 'scripts', 'kafka.js');
  if (!existsSync(script)) {
    throw new CliError('no local Kafka script found (scripts/kafka.js is part of the Sluice repository): pass --kafka host:port', ExitCode.invalid);
  }
  return script;
}

/**
 * Runs `node scripts/kafka.js <args> --json` and parses its one-line answer. The child runs in its own
 * process group, so a Ctrl-C in the terminal reaches only the demo, which lets a start or a stop finish
 * (a start killed half-way would leave a broker nobody knows about). Its log lines go to our stderr.
 */
function runKafkaScript(args: readonly string[], timeoutMs: number | undefined): Promise<unknown> {
  const script = kafkaScript();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args, '--json'], { cwd: repoRoot(), detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`scripts/kafka.js ${args[0]} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`scripts/kafka.js ${args[0]} exited with ${String(code)} (see the messages above)`));
        return;
      }
      try {
        resolvePromise(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`scripts/kafka.js ${args[0]} printed no JSON answer`));
      }
    });
  });
}

/** Starts (or reuses) the project's local Kafka broker, with a lease for this process. */
export async function startLocalKafka(io: CommandIo): Promise<KafkaOrigin> {
  kafkaScript(); // the missing-script error before the message below
  io.out('starting the local Kafka broker (the first run downloads it from Maven Central; about a minute)...');
  let broker: LocalBroker & { readonly reused: boolean };
  try {
    broker = (await runKafkaScript(['start', '--started-by', `sluice demo (pid ${process.pid})`, '--lease', String(process.pid)], undefined)) as LocalBroker & { reused: boolean };
  } catch (error) {
    throw new CliError(`the local Kafka broker did not start (${(error as Error).message}); or pass --kafka host:port`, ExitCode.startFailed);
  }
  io.out(broker.reused ? `reusing ${describeBroker(broker)}; the demo will leave it running` : `started ${describeBroker(broker)}; the demo stops it when it ends`);
  return { kind: broker.reused ? 'reused' : 'started', bootstrap: broker.bootstrap, broker };
}

/** At the demo's end: drops its lease, stops the broker if it started it (bounded), says what happened. */
export async function releaseLocalKafka(origin: KafkaOrigin, keepKafka: boolean, io: CommandIo): Promise<void> {
  if (origin.kind === 'given') {
    io.out(kafkaLeftMessage(origin, keepKafka));
    return;
  }
  const stop = shouldStopKafka(origin, keepKafka);
  if (stop) io.out(`stopping ${describeBroker(origin.broker)}, which the demo started...`);
  let result: ReleaseResult | Error;
  try {
    result = (await runKafkaScript(['release', '--lease', String(process.pid), ...(stop ? ['--stop'] : [])], KAFKA_STOP_TIMEOUT_MS)) as ReleaseResult;
  } catch (error) {
    result = error instanceof Error ? error : new Error(String(error));
  }
  if (!(result instanceof Error) && result.stopped) {
    io.out(`stopped ${describeBroker(origin.broker)} in ${(result.ms / 1000).toFixed(1)} s`);
    return;
  }
  io.out(kafkaLeftMessage(origin, keepKafka, result, stopCommand(process.env)));
}

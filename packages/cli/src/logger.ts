import pino from 'pino';
import type { Logger } from '@sluice/core';
import { loggableFields } from './log-fields';
import { scrub } from './secret-scrub';

export { scrub, secretRenderings, MIN_SCRUBBED_LENGTH, MIN_SCRUBBED_PREFIX } from './secret-scrub';
export { CENSOR, isSecretKey } from './log-fields';

export interface LoggerOptions {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** pretty: one readable line per event (the default on a terminal); json: one JSON object per line. */
  readonly format: 'json' | 'pretty';
  /**
   * Values that must never appear in a log line (what the config's secret references resolved to).
   * Read at every write, so values added later (a reload) are scrubbed too.
   */
  readonly secrets?: ReadonlySet<string>;
  /** Where lines go; stderr by default (stdout stays free for command output). */
  readonly destination?: NodeJS.WritableStream;
}

/** After the first, failed writes are reported at most once per this interval, with their count. */
const FAILURE_REPORT_INTERVAL_MS = 60_000;

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * The CLI's logger: pino, with fields copied into plain data (secret-named values replaced; Buffers,
 * cycles and getters made harmless: see log-fields.ts) and every known secret value scrubbed from each
 * serialized line. A log call never throws: it runs inside kafkajs's SASL exchange, MQTT callbacks and
 * error handlers, where an exception would be taken for the failure being logged.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets;
  const base = pino(
    {
      level: options.level,
      base: null,
      ...(secrets === undefined ? {} : { hooks: { streamWrite: (line: string) => scrub(line, secrets) } }),
    },
    destinationFor(options),
  );
  return adapt(base, new WriteFailures(base));
}

function destinationFor(options: LoggerOptions): pino.DestinationStream {
  if (options.format === 'pretty') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as (o: object) => pino.DestinationStream;
    return pretty({
      destination: options.destination ?? 2,
      sync: true,
      colorize: options.destination === undefined && process.stderr.isTTY,
      ignore: 'namespace',
      messageFormat: '{if namespace}[{namespace}] {end}{msg}',
    });
  }
  return (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 2, sync: true });
}

function adapt(log: pino.Logger, failures: WriteFailures): Logger {
  const at = (level: Level) => (message: string, fields?: Record<string, unknown>): void => {
    try {
      if (!log.isLevelEnabled(level)) return;
      log[level](fields === undefined ? {} : loggableFields(fields), typeof message === 'string' ? message : String(message));
    } catch (error) {
      failures.record(error);
      return;
    }
    // the destination works again: lines lost before are reported even if nothing fails after
    if (failures.unreported > 0) failures.report();
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (namespace) => adapt(log.child({ namespace }), failures),
  };
}

/**
 * Counts log lines that could not be written (a destination that throws, a serializer bug) and says so
 * in a line of its own that carries none of the lost line's data: the first failure at once, later ones
 * at most once a minute with their count, at the next failure or the next line written after that minute
 * (so a count is not left unsaid when the destination recovers). A report that cannot be written itself
 * keeps its count for the next one; it never recurses into the adapted logger.
 */
class WriteFailures {
  private count = 0;
  /** Lost lines not yet reported. */
  unreported = 0;
  private reportedAt: number | undefined;
  /** The class of the latest failure (no data of the lost line). */
  private cause = 'unknown';

  constructor(private readonly log: pino.Logger) {}

  record(error: unknown): void {
    this.count++;
    this.unreported++;
    this.cause = errorName(error);
    this.report();
  }

  report(): void {
    const now = Date.now();
    if (this.reportedAt !== undefined && now - this.reportedAt < FAILURE_REPORT_INTERVAL_MS) return;
    // set before writing: while the destination fails, one attempt a minute, not one per line
    this.reportedAt = now;
    try {
      this.log.error({ lostLines: this.unreported, lostLinesTotal: this.count, cause: this.cause }, 'log lines could not be written and were dropped');
      this.unreported = 0;
    } catch {
      // the destination itself fails: the count waits for the next report
    }
  }
}

function errorName(error: unknown): string {
  try {
    return error instanceof Error ? error.name : typeof error;
  } catch {
    return 'unknown';
  }
}

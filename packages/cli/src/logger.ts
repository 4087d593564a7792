import pino from 'pino';
import type { Logger } from '@sluice/core';

export interface LoggerOptions {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** pretty: one readable line per event (the default on a terminal); json: one JSON object per line. */
  readonly format: 'json' | 'pretty';
}

// Field names that may carry secrets wherever they appear; pino replaces their values.
const REDACTED_PATHS = ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'secret', '*.secret'];

/** The CLI's logger: pino on stderr, so stdout stays free for command output. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = pino.destination({ dest: 2, sync: true });
  const base = pino(
    { level: options.level, base: null, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    options.format === 'pretty'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require('pino-pretty') as (o: object) => NodeJS.WritableStream)({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'namespace', messageFormat: '{if namespace}[{namespace}] {end}{msg}' })
      : destination,
  );
  return adapt(base);
}

function adapt(log: pino.Logger): Logger {
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
    child: (namespace) => adapt(log.child({ namespace })),
  };
}

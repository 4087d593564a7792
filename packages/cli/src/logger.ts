import pino from 'pino';
import type { Logger } from '@sluice/core';

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

// Field names that may carry secrets, at any depth up to four levels; pino replaces their values.
const SECRET_FIELDS = ['password', 'passphrase', 'token', 'accessToken', 'authorization', 'secret', 'privateKey', 'apiKey'];
export const REDACTED_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]);
const CENSOR = '[redacted]';
/** Secrets shorter than this are not scrubbed from text (a 1-3 character value would mangle every line). */
const MIN_SCRUBBED_LENGTH = 4;

/** The CLI's logger: pino, field-based redaction plus a scrub of known secret values from every line. */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets;
  const base = pino(
    {
      level: options.level,
      base: null,
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      ...(secrets === undefined ? {} : { hooks: { streamWrite: (line: string) => scrub(line, secrets) } }),
    },
    destinationFor(options),
  );
  return adapt(base);
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

/** Replaces every known secret in a serialized line, raw or JSON-escaped. */
export function scrub(line: string, secrets: ReadonlySet<string>): string {
  let out = line;
  for (const secret of secrets) {
    if (secret.length < MIN_SCRUBBED_LENGTH) continue;
    if (out.includes(secret)) out = out.split(secret).join(CENSOR);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(CENSOR);
  }
  return out;
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

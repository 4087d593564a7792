/**
 * Structured logger. Libraries log through it and never print. Adapt pino, winston or the host's own
 * logger; `fields` carry context (ids, counts, reasons) and must never carry secrets.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry `namespace` (e.g. 'kafka/upstash'). */
  child(namespace: string): Logger;
}
export const Logger = Symbol.for('@sluice/core/Logger');

const noop = (): void => {};

/** Discards everything; the default when the host gives no logger. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

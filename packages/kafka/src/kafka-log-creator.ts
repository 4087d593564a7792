import type { Logger } from '@sluice/core';
import { logLevel, type logCreator } from 'kafkajs';

const SECRET_FIELDS = new Set(['password', 'sasl', 'ssl', 'oauthBearerProvider', 'key', 'cert', 'ca', 'passphrase']);

/**
 * kafkajs logs each request and response at DEBUG with the decoded answer as `data`. For the SASL
 * APIs that answer is the server's side of the SCRAM exchange (salt, iteration count, nonces, server
 * signature): with the client's messages it allows an offline guessing attack on the password, so it
 * is never passed on.
 */
const SASL_EXCHANGE = /^(Request|Response) Sasl/;

/**
 * Routes kafkajs's own log lines into our Logger, never to the console.
 * kafkajs logs every failed attempt it is about to retry at ERROR; those are transient, and the final
 * outcome reaches the caller as an error, so they go out as `warn`. kafkajs INFO (connects, joins) is
 * `debug` for us: an operator's log should carry Sluice's own account of the connector's state.
 * A log line never throws back into kafkajs: an exception there would fail the connection or the SASL
 * exchange being logged, and be reported as that failure.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    try {
      if (level !== logLevel.ERROR && level !== logLevel.WARN && level !== logLevel.INFO && level !== logLevel.DEBUG) return;
      const { message, timestamp: _timestamp, logger: _name, ...rest } = log;
      const fields: Record<string, unknown> = { kafkajs: namespace };
      const saslExchange = SASL_EXCHANGE.test(message);
      for (const name of Object.keys(rest)) {
        if (SECRET_FIELDS.has(name)) continue;
        if (saslExchange && (name === 'data' || name === 'payload')) continue;
        const value = (rest as Record<string, unknown>)[name];
        // raw protocol bytes (KAFKAJS_DEBUG_PROTOCOL_BUFFERS=1) mean nothing in a log line and may hold anything
        fields[name] = Buffer.isBuffer(value) ? `[binary, ${value.length} bytes]` : value;
      }
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(String(message), fields);
      else logger.debug(String(message), fields);
    } catch {
      // The host's logger failed: dropping one of kafkajs's lines is better than failing its request.
    }
  };
}

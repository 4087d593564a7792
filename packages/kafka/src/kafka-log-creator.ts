import type { Logger } from '@sluice/core';
import { logLevel, type logCreator } from 'kafkajs';

const SECRET_FIELDS = new Set(['password', 'sasl', 'ssl', 'oauthBearerProvider', 'key', 'cert', 'ca', 'passphrase']);

/**
 * Routes kafkajs's own log lines into our Logger, never to the console.
 * kafkajs logs every failed attempt it is about to retry at ERROR; those are transient, and the final
 * outcome reaches the caller as an error, so they go out as `warn`. kafkajs INFO (connects, joins) is
 * `debug` for us: an operator's log should carry Sluice's own account of the connector's state.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, timestamp: _timestamp, logger: _name, ...rest } = log;
    const fields: Record<string, unknown> = { kafkajs: namespace };
    for (const [name, value] of Object.entries(rest)) {
      if (!SECRET_FIELDS.has(name)) fields[name] = value;
    }
    switch (level) {
      case logLevel.ERROR:
      case logLevel.WARN:
        logger.warn(message, fields);
        break;
      case logLevel.INFO:
      case logLevel.DEBUG:
        logger.debug(message, fields);
        break;
      default:
        break;
    }
  };
}

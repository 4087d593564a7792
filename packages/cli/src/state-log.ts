import type { ConnectorStatus, Integration, Logger } from '@sluice/core';

/**
 * Logs one line per connector state change (connecting, connected, disconnected with its reason,
 * stopped), for every source and connector that reports a status. The statuses are sampled (every
 * `intervalMs`), not pushed, so nothing is added to the message path; a flap shorter than the interval
 * may go unseen here (the MQTT source also logs its own connection losses).
 */
export function logConnectorStates(app: Pick<Integration, 'status'>, logger: Logger, intervalMs = 1000): { check(): void; stop(): void } {
  const last = new Map<string, string>();
  const check = (): void => {
    for (const [id, status] of Object.entries(app.status())) {
      const key = `${status.state}\u0000${status.reason ?? ''}`;
      if (last.get(id) === key) continue;
      const first = !last.has(id);
      last.set(id, key);
      log(logger, id, status, first);
    }
  };
  check();
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}

function log(logger: Logger, id: string, status: ConnectorStatus, first: boolean): void {
  const fields = { connector: id, ...(status.reason === undefined ? {} : { reason: status.reason }) };
  switch (status.state) {
    case 'connected':
      logger.info('connector connected', fields);
      break;
    case 'disconnected':
      logger.warn('connector disconnected', fields);
      break;
    case 'connecting':
      logger.info(first ? 'connector connecting' : 'connector reconnecting', fields);
      break;
    case 'buffering':
      logger.warn('connector buffering', fields);
      break;
    case 'stopped':
      logger.info('connector stopped', fields);
      break;
  }
}

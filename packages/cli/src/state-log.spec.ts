import { describe, expect, it } from '@jest/globals';
import type { ConnectorStatus, Logger } from '@sluice/core';
import { logConnectorStates } from './state-log';

describe(logConnectorStates.name, () => {
  it('logs one line per state change, with the reason, and nothing while the state holds', () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: (m, f) => lines.push(`info ${m} ${JSON.stringify(f)}`),
      warn: (m, f) => lines.push(`warn ${m} ${JSON.stringify(f)}`),
      error: (m, f) => lines.push(`error ${m} ${JSON.stringify(f)}`),
      child: () => logger,
    };
    let status: Record<string, ConnectorStatus> = { plant: { state: 'connecting' }, kafka: { state: 'connected' } };
    const watcher = logConnectorStates({ status: () => status }, logger, 60_000);
    watcher.check();
    status = { plant: { state: 'connected' }, kafka: { state: 'disconnected', reason: 'broker 127.0.0.1:19092 refused the connection' } };
    watcher.check();
    watcher.check();
    status = { plant: { state: 'connected' }, kafka: { state: 'connecting' } };
    watcher.check();
    watcher.stop();
    expect(lines).toEqual([
      'info connector connecting {"connector":"plant"}',
      'info connector connected {"connector":"kafka"}',
      'info connector connected {"connector":"plant"}',
      'warn connector disconnected {"connector":"kafka","reason":"broker 127.0.0.1:19092 refused the connection"}',
      'info connector reconnecting {"connector":"kafka"}',
    ]);
  });
});

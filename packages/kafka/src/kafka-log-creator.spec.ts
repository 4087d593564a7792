import { describe, expect, it } from '@jest/globals';
import type { Logger } from '@sluice/core';
import { logLevel } from 'kafkajs';
import { kafkaLogCreator } from './kafka-log-creator';

describe(kafkaLogCreator.name, () => {
  it('routes kafkajs lines into our logger, ERROR/WARN as warn and INFO/DEBUG as debug, without secrets', () => {
    const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
    const logger: Logger = {
      debug: (message, fields) => lines.push(['debug', message, fields]),
      info: (message, fields) => lines.push(['info', message, fields]),
      warn: (message, fields) => lines.push(['warn', message, fields]),
      error: (message, fields) => lines.push(['error', message, fields]),
      child: () => logger,
    };
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    const entry = (message: string): { message: string; timestamp: string; logger: string; broker: string; sasl: unknown } =>
      ({ message, timestamp: 'now', logger: 'kafkajs', broker: 'b:9092', sasl: { password: 'secret' } });
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: entry('closed') });
    log({ namespace: 'Producer', level: logLevel.INFO, label: 'INFO', log: entry('started') });
    expect(lines).toEqual([
      ['warn', 'closed', { kafkajs: 'Connection', broker: 'b:9092' }],
      ['debug', 'started', { kafkajs: 'Producer', broker: 'b:9092' }],
    ]);
  });
});

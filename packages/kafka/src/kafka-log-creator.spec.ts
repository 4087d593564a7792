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

  it('never passes on the SASL exchange kafkajs logs at DEBUG (server nonce, salt, signature), nor raw protocol bytes', () => {
    const lines: Array<Record<string, unknown> | undefined> = [];
    const logger: Logger = { debug: (_m, fields) => lines.push(fields), info: () => {}, warn: () => {}, error: () => {}, child: () => logger };
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    const authBytes = Buffer.from('r=clientnonceservernonce,s=c2FsdA==,i=4096');
    log({ namespace: 'Connection', level: logLevel.DEBUG, label: 'DEBUG',
      log: { message: 'Response SaslAuthenticate(key: 36, version: 1)', timestamp: 'now', logger: 'kafkajs', broker: 'b:9093', correlationId: 2, data: { errorCode: 0, authBytes } } });
    log({ namespace: 'Connection', level: logLevel.DEBUG, label: 'DEBUG',
      log: { message: 'Response Metadata(key: 3, version: 6)', timestamp: 'now', logger: 'kafkajs', broker: 'b:9093', payload: Buffer.from('raw bytes') } });
    expect(lines).toEqual([
      { kafkajs: 'Connection', broker: 'b:9093', correlationId: 2 },
      { kafkajs: 'Connection', broker: 'b:9093', payload: '[binary, 9 bytes]' },
    ]);
  });

  it('a logger that throws never throws into kafkajs (it would fail the SASL exchange being logged)', () => {
    const throwing = (): void => {
      throw new TypeError('Method get TypedArray.prototype.buffer called on incompatible receiver');
    };
    const logger: Logger = { debug: throwing, info: throwing, warn: throwing, error: throwing, child: () => logger };
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    for (const level of [logLevel.ERROR, logLevel.WARN, logLevel.INFO, logLevel.DEBUG]) {
      expect(() => log({ namespace: 'SaslAuthenticator-SCRAM-SHA-256', level, label: 'DEBUG', log: { message: 'Exchanging first client message', timestamp: 'now', logger: 'kafkajs' } })).not.toThrow();
    }
  });
});

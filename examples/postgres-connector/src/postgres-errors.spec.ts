import { describe, expect, it } from '@jest/globals';
import { classifyPostgresError, postgresWriteError } from './postgres-errors';

/** The shape of a pg server error: what matters here is its SQLSTATE in `code`. */
const serverError = (code: string, message = `failed with ${code}`): Error => Object.assign(new Error(message), { code });

describe(classifyPostgresError.name, () => {
  describe('errors that fail every record alike until an operator acts (failover, migration, grants)', () => {
    it.each([
      ['25006', 'read-only transaction'],
      ['42P01', 'undefined table'],
      ['42703', 'undefined column'],
      ['42501', 'insufficient privilege'],
      ['XX000', 'internal error'],
      ['XX001', 'internal error'],
    ])('%s is retriable (%s): the message stays with the broker', (code, meaning) => {
      expect(classifyPostgresError(serverError(code))).toEqual({ retriable: true, code, meaning: expect.stringContaining(meaning) });
    });
  });

  describe('errors of the connection or the server', () => {
    it.each(['08006', '53300', '57P01', '57014', '58030', '40001', '40P01', '28P01', '3D000', '55P03'])('%s is retriable', (code) => {
      expect(classifyPostgresError(serverError(code)).retriable).toBe(true);
    });

    it.each(['ECONNREFUSED', 'ECONNRESET', undefined])('a socket error without SQLSTATE (%s) is retriable', (code) => {
      const error = code === undefined ? new Error('Connection terminated unexpectedly') : serverError(code);
      expect(classifyPostgresError(error)).toMatchObject({ retriable: true, meaning: expect.stringContaining('connection failure') });
    });
  });

  describe('errors of the row itself', () => {
    it.each([
      ['22P02', 'data exception'],
      ['22001', 'data exception'],
      ['23505', 'integrity constraint'],
      ['23514', 'integrity constraint'],
      ['23502', 'integrity constraint'],
      ['P0001', 'PL/pgSQL'],
    ])('%s is final (%s): retrying the same record cannot help', (code, meaning) => {
      expect(classifyPostgresError(serverError(code))).toEqual({ retriable: false, code, meaning: expect.stringContaining(meaning) });
    });

    it('keeps the rest of classes 42 and 25 final (42601 syntax error, 25P02 aborted transaction)', () => {
      expect(classifyPostgresError(serverError('42601')).retriable).toBe(false);
      expect(classifyPostgresError(serverError('25P02')).retriable).toBe(false);
    });
  });
});

describe(postgresWriteError.name, () => {
  it('names the SQLSTATE, keeps the classification and cuts the password out of the message', () => {
    const error = postgresWriteError({ connectorId: 'warehouse', actionId: 'r:warehouse' },
      serverError('42P01', 'relation "t" does not exist (s3cret)'), 's3cret');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('SQLSTATE 42P01');
    expect(error.message).not.toContain('s3cret');
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it, jest } from '@jest/globals';
import { createLogger, scrub } from './logger';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { stream, lines };
}

describe(createLogger.name, () => {
  it('never writes a password, whether in a secret field at any depth or inside a message text', () => {
    const { stream, lines } = capture();
    const logger = createLogger({ level: 'debug', format: 'json', secrets: new Set(['hunter2-kafka', 'tok"en\\x']), destination: stream });
    logger.info('connecting', { password: 'hunter2-kafka' });
    logger.info('connecting', { connector: { authentication: { mechanism: 'plain', password: 'other-secret' } } });
    logger.warn('connection refused', { error: 'SASL failed for user u with password hunter2-kafka' });
    logger.child('http').error('request', { headers: { authorization: 'Bearer abc' }, token: 'xyz', detail: 'tok"en\\x' });
    const text = lines.join('\n');
    expect(lines).toHaveLength(4);
    for (const secret of ['hunter2-kafka', 'other-secret', 'Bearer abc', 'xyz', 'tok\\"en\\\\x']) expect(text).not.toContain(secret);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: 'connecting', password: '[redacted]' });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ connector: { authentication: { mechanism: 'plain', password: '[redacted]' } } });
    expect(JSON.parse(lines[2] as string)).toMatchObject({ error: 'SASL failed for user u with password [redacted]' });
    expect(JSON.parse(lines[3] as string)).toMatchObject({ namespace: 'http', token: '[redacted]', detail: '[redacted]' });
  });

  it('scrubs secrets from pretty output too', () => {
    const { stream, lines } = capture();
    createLogger({ level: 'info', format: 'pretty', secrets: new Set(['hunter2-kafka']), destination: stream }).info('auth hunter2-kafka failed', {});
    expect(lines.join('\n')).toContain('auth [redacted] failed');
  });
});

describe('a log call never throws', () => {
  /** Values pino's wildcard redaction (`*.*.*.password`) threw on, or that JSON cannot hold. */
  function hostileFields(): Record<string, unknown> {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const getter = Object.defineProperty({ visible: 1 }, 'boom', { enumerable: true, get: () => { throw new Error('getter secret-ish'); } });
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } });
    return {
      data: { authBytes: Buffer.from('n=u,r=nonce'), b: Buffer.from('x'), view: new Uint8Array([1, 2, 3]) },
      deeper: { a: { b: { c: Buffer.from('y'), password: 'p' } } },
      cyclic,
      getter,
      proxy,
      big: 10n,
      error: Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }),
      list: [new Float64Array(2), { token: 't0k3n-value' }],
    };
  }

  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    it(`at level ${level}: Buffers, typed arrays, cycles, throwing getters and proxies two levels down are written safely`, () => {
      const { stream, lines } = capture();
      const logger = createLogger({ level, format: 'json', secrets: new Set(['hunter2-kafka']), destination: stream });
      expect(() => logger.error('Response SaslAuthenticate(key: 36, version: 1)', hostileFields())).not.toThrow();
      expect(() => logger.child('kafka').debug('Request SaslAuthenticate', hostileFields())).not.toThrow();
      const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
      expect(line).toMatchObject({
        data: { authBytes: '[redacted]', b: '[binary, 1 bytes]', view: '[binary, 3 bytes]' },
        deeper: { a: { b: { c: '[binary, 1 bytes]', password: '[redacted]' } } },
        cyclic: { name: 'loop', self: '[circular]' },
        getter: { visible: 1, boom: '[unreadable]' },
        proxy: '[unreadable]',
        big: '10',
        error: { type: 'Error', message: 'connection closed', code: 'ECONNRESET' },
        list: ['[binary, 16 bytes]', { token: '[redacted]' }],
      });
      expect(lines).toHaveLength(level === 'debug' ? 2 : 1);
    });
  }

  it('a destination that throws loses the line, not the caller; the next line says how many were lost, without their data', () => {
    const written: string[] = [];
    let failNext = true;
    const destination = {
      write(line: string): boolean {
        if (failNext) {
          failNext = false;
          throw new Error('EPIPE');
        }
        written.push(line);
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    const logger = createLogger({ level: 'info', format: 'json', destination });
    expect(() => logger.info('first line', { detail: 'lost-detail' })).not.toThrow();
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0] as string)).toMatchObject({ msg: 'log lines could not be written and were dropped', lostLines: 1, cause: 'Error' });
    expect(written[0]).not.toContain('lost-detail');
    logger.info('second line', {});
    expect(JSON.parse(written[1] as string)).toMatchObject({ msg: 'second line' });
  });

  it('lines lost while the destination was down are reported once it works again, even with no failure after', () => {
    const written: string[] = [];
    let down = true;
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const destination = {
        write(line: string): boolean {
          if (down) throw new Error('EPIPE');
          written.push(line);
          return true;
        },
      } as unknown as NodeJS.WritableStream;
      const logger = createLogger({ level: 'info', format: 'json', destination });
      logger.info('lost 1', {});
      now += 1_000;
      logger.info('lost 2', {});
      down = false;
      now += 120_000;
      logger.info('back', {});
      logger.info('again', {});
      expect(written.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
        expect.objectContaining({ msg: 'back' }),
        expect.objectContaining({ msg: 'log lines could not be written and were dropped', lostLines: 2, lostLinesTotal: 2 }),
        expect.objectContaining({ msg: 'again' }),
      ]);
    } finally {
      clock.mockRestore();
    }
  });

  it('keeps data-named keys such as __proto__ as plain keys', () => {
    const { stream, lines } = capture();
    createLogger({ level: 'info', format: 'json', destination: stream }).info('m', JSON.parse('{"headers":{"__proto__":"x","toString":"y"}}') as Record<string, unknown>);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ headers: { toString: 'y' } });
    expect(lines[0]).toContain('"__proto__":"x"');
  });
});

describe(scrub.name, () => {
  it('leaves very short values alone, so a one-letter secret cannot mangle every line', () => {
    expect(scrub('{"msg":"a b c"}', new Set(['a']))).toBe('{"msg":"a b c"}');
  });
});

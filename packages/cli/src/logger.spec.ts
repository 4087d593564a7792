import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
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

describe(scrub.name, () => {
  it('leaves very short values alone, so a one-letter secret cannot mangle every line', () => {
    expect(scrub('{"msg":"a b c"}', new Set(['a']))).toBe('{"msg":"a b c"}');
  });
});

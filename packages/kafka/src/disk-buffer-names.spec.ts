import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DiskBuffer } from './disk-buffer';
import { recordProblem } from './record-renderer';

// Header names are device data (MQTT 5 user property names): whatever they are, a record read back from the
// disk log has the headers it was written with (issue 10 item 1).
describe('DiskBuffer: header names chosen by devices', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-disk-names-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads back headers named $b (its own Buffer marker), __proto__ and toString as they were', async () => {
    const headers = Object.create(null) as Record<string, string | Buffer>;
    headers['$b'] = 'device-chosen';
    headers['__proto__'] = 'p';
    headers['toString'] = Buffer.from([0xff, 0x00]);
    const first = new DiskBuffer(dir, 1024 * 1024);
    first.open();
    await first.append('t', 100, { key: null, value: Buffer.from([0x80]), headers }).written;
    await first.close();

    const [stored] = new DiskBuffer(dir, 1024 * 1024).open();
    const read = stored?.message.headers as Record<string, unknown>;
    expect(Buffer.isBuffer(read)).toBe(false);
    expect(Object.keys(read)).toEqual(['$b', '__proto__', 'toString']);
    expect(read['$b']).toBe('device-chosen');
    expect(read['__proto__']).toBe('p');
    expect(Buffer.isBuffer(read['toString']) && (read['toString'] as Buffer).equals(Buffer.from([0xff, 0x00]))).toBe(true);
    expect(recordProblem(stored?.message ?? { value: null })).toBeUndefined();
  });

  it('reads back binary header values whatever the header is named (headers, key, value, m), and lists of them', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const headers = Object.create(null) as Record<string, string | Buffer | Array<string | Buffer>>;
    for (const name of ['headers', 'key', 'value', 'm', 'b']) headers[name] = bytes;
    headers['list'] = ['x', bytes];
    const first = new DiskBuffer(dir, 1024 * 1024);
    first.open();
    await first.append('t', 100, { key: bytes, value: bytes, headers }).written;
    await first.close();

    const [stored] = new DiskBuffer(dir, 1024 * 1024).open();
    const message = stored?.message ?? { value: null };
    const read = message.headers as Record<string, unknown>;
    expect(Buffer.isBuffer(message.key) && message.key.equals(bytes)).toBe(true);
    expect(Buffer.isBuffer(message.value) && message.value.equals(bytes)).toBe(true);
    for (const name of ['headers', 'key', 'value', 'm', 'b']) expect([name, Buffer.isBuffer(read[name]) && (read[name] as Buffer).equals(bytes)]).toEqual([name, true]);
    expect(read['list']).toEqual(['x', bytes]);
    expect(recordProblem(message)).toBeUndefined();
  });

  it('reads back a log written before binary header values existed (frames as earlier versions wrote them)', () => {
    const frame = Buffer.from(JSON.stringify({ s: 0, t: 't', b: 120, m: {
      key: { $b: Buffer.from([0, 1, 0xff]).toString('base64') }, value: 'v', timestamp: '1', headers: { h: 'x', l: ['1', '2'] } } }));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(frame.length);
    writeFileSync(path.join(dir, '0000000000000000.seg'), Buffer.concat([length, frame]));
    const [stored] = new DiskBuffer(dir, 1024 * 1024).open();
    expect(stored).toEqual({ seq: 0, topic: 't', bytes: 120, message: { key: Buffer.from([0, 1, 0xff]), value: 'v', timestamp: '1', headers: { h: 'x', l: ['1', '2'] } } });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
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
});

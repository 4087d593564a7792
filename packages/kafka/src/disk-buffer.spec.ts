import { mkdtempSync, readdirSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DiskBuffer } from './disk-buffer';

describe(DiskBuffer.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-disk-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const message = (i: number) => ({ key: `k${i}`, value: Buffer.from(`v${i}`), headers: { h: Buffer.from([0, 255]), list: ['a', 'b'] }, timestamp: '1700000000000' });

  it('gives back, after a reopen, exactly the records not acknowledged, buffers included', async () => {
    const first = new DiskBuffer(dir, 1024 * 1024);
    expect(first.open()).toEqual([]);
    const appended = [0, 1, 2, 3].map((i) => first.append(`t${i}`, 100 + i, message(i)));
    await Promise.all(appended.map((a) => a.written));
    first.ack(appended[0]?.seq as number);
    first.ack(appended[2]?.seq as number);
    await first.close();

    const second = new DiskBuffer(dir, 1024 * 1024);
    const left = second.open();
    expect(left.map((r) => [r.seq, r.topic, r.bytes])).toEqual([[1, 't1', 101], [2, 't2', 102], [3, 't3', 103]]);
    expect(left[0]?.message).toEqual(message(1));
    // new records continue the numbering
    const next = second.append('t', 1, message(9));
    expect(next.seq).toBe(4);
    await next.written;
    await second.close();
  });

  it('deletes segments whose records were all acknowledged, and rolls segments at segmentBytes', async () => {
    const buffer = new DiskBuffer(dir, 200);
    buffer.open();
    const seqs: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const appended = buffer.append('t', 1, message(i));
      seqs.push(appended.seq);
      await appended.written; // one write per record, so each segment holds what fits under 200 bytes
    }
    expect(readdirSync(dir).filter((name) => name.endsWith('.seg')).length).toBeGreaterThan(1);
    for (const seq of seqs) buffer.ack(seq);
    await buffer.close();
    expect(readdirSync(dir).filter((name) => name.endsWith('.seg'))).toEqual([]);
    const reopened = new DiskBuffer(dir, 200);
    expect(reopened.open()).toEqual([]);
    await reopened.close();
  });

  it('ignores a torn last frame (a crash in the middle of a write)', async () => {
    const buffer = new DiskBuffer(dir, 1024 * 1024);
    buffer.open();
    await Promise.all([0, 1].map((i) => buffer.append('t', 1, message(i)).written));
    await buffer.close();
    const [segment] = readdirSync(dir).filter((name) => name.endsWith('.seg'));
    const file = path.join(dir, segment as string);
    truncateSync(file, statSync(file).size - 3);
    const reopened = new DiskBuffer(dir, 1024 * 1024);
    expect(reopened.open().map((r) => r.seq)).toEqual([0]);
    await reopened.close();
  });

  it('writes appends of one turn together and resolves them once on disk', async () => {
    const buffer = new DiskBuffer(dir, 1024 * 1024);
    buffer.open();
    const appended = Array.from({ length: 50 }, (_, i) => buffer.append('t', 1, message(i)));
    await Promise.all(appended.map((a) => a.written));
    expect(readdirSync(dir).filter((name) => name.endsWith('.seg'))).toHaveLength(1);
    expect(buffer.committed()).toBe(0);
    for (const a of appended) buffer.ack(a.seq);
    expect(buffer.committed()).toBe(50);
    await buffer.close();
  });
});

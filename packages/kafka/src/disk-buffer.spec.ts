import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DiskBuffer, type FramePlace, FrameReader } from './disk-buffer';

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

  describe('readNext (the hybrid buffer reading records back)', () => {
    it('reads what was written, in order and across segments, and waits at the end for more', async () => {
      const buffer = new DiskBuffer(dir, 200); // a few records per segment
      buffer.open();
      expect(buffer.readNext()).toBeUndefined();
      const first = Array.from({ length: 6 }, (_, i) => buffer.append(`t${i}`, 10, message(i)));
      expect(buffer.readNext()).toBeUndefined(); // not on disk yet
      await Promise.all(first.map((a) => a.written));
      const second = Array.from({ length: 6 }, (_, i) => buffer.append(`t${6 + i}`, 10, message(6 + i)));
      await Promise.all(second.map((a) => a.written));
      expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(1);
      const read = [];
      for (let record = buffer.readNext(); record !== undefined; record = buffer.readNext()) read.push(record);
      expect(read.map((r) => [r.seq, r.topic])).toEqual(Array.from({ length: 12 }, (_, i) => [i, `t${i}`]));
      expect(read[3]?.message).toEqual(message(3));
      const more = buffer.append('t12', 10, message(12));
      await more.written;
      expect(buffer.readNext()?.seq).toBe(12);
      await buffer.close();
    });

    it('after a reopen, starts at the oldest record not acknowledged and goes on into new segments', async () => {
      const first = new DiskBuffer(dir, 1024);
      first.open();
      const appended = [0, 1, 2].map((i) => first.append('t', 10, message(i)));
      await Promise.all(appended.map((a) => a.written));
      first.ack(0);
      await first.close();

      const second = new DiskBuffer(dir, 1024);
      expect(second.open().map((r) => r.seq)).toEqual([1, 2]);
      await second.append('t', 10, message(3)).written;
      expect([second.readNext()?.seq, second.readNext()?.seq, second.readNext()?.seq, second.readNext()]).toEqual([1, 2, 3, undefined]);
      await second.close();
    });

    it('goes on after the segment it read was deleted once acknowledged', async () => {
      const buffer = new DiskBuffer(dir, 100);
      buffer.open();
      for (const i of [0, 1]) await buffer.append('t', 10, message(i)).written;
      expect([buffer.readNext()?.seq, buffer.readNext()?.seq]).toEqual([0, 1]);
      buffer.ack(0);
      buffer.ack(1);
      for (const i of [2, 3]) await buffer.append('t', 10, message(i)).written; // the write drops acknowledged segments
      expect(existsSync(path.join(dir, '0000000000000000.seg'))).toBe(false);
      expect([buffer.readNext()?.seq, buffer.readNext()?.seq, buffer.readNext()]).toEqual([2, 3, undefined]);
      await buffer.close();
    });
  });

  it('deletes on open a segment a crash left without a whole frame, so the next write (same name) is not deleted as acknowledged', async () => {
    const first = new DiskBuffer(dir, 1024);
    first.open();
    for (let i = 0; i < 3; i += 1) await first.append('t', 10, message(i)).written;
    await first.close();
    // the crash came right after the next segment was created (named after its first record, 3), before a whole frame
    writeFileSync(path.join(dir, '0000000000000003.seg'), Buffer.from([0, 0, 0, 200, 123]));
    const second = new DiskBuffer(dir, 1024);
    expect(second.open().map((r) => r.seq)).toEqual([0, 1, 2]);
    const place: FramePlace = { segment: undefined, offset: 0, length: 0 };
    await second.append('t', 10, message(3), place).written;
    expect(existsSync(place.segment?.file as string)).toBe(true);
    expect(place.offset).toBe(0); // the torn bytes are gone with the old file
    const reader = new FrameReader(dir);
    expect(reader.read(place).seq).toBe(3);
    reader.close();
    await second.close();
    const third = new DiskBuffer(dir, 1024);
    expect(third.open().map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    await third.close();
  });

  it('resolves appends whose frames are on disk even when the committed file cannot be written (a stale number is harmless)', async () => {
    const buffer = new DiskBuffer(dir, 1024);
    buffer.open();
    const first = buffer.append('t', 10, message(0));
    await first.written;
    buffer.ack(first.seq); // the next write would record 1
    rmSync(path.join(dir, 'committed'));
    mkdirSync(path.join(dir, 'committed')); // cannot be written now (as with ENOSPC or EIO)
    await expect(buffer.append('t', 10, message(1)).written).resolves.toBeUndefined();
    rmSync(path.join(dir, 'committed'), { recursive: true });
    await buffer.close();
    expect(new DiskBuffer(dir, 1024).open().map((r) => r.seq)).toEqual([1]);
  });

  describe('FramePlace and FrameReader (a hybrid buffer reading one topic\'s parked records back)', () => {
    it('tells each appended frame where it lies once written, and reads those records alone, across segments', async () => {
      const buffer = new DiskBuffer(dir, 300); // a few records per segment
      buffer.open();
      const places: FramePlace[] = [];
      for (let i = 0; i < 12; i += 1) {
        // every third record is asked for its place, as a parked topic's are among the others
        if (i % 3 !== 0) {
          await buffer.append(`other${i}`, 10, message(i)).written;
          continue;
        }
        const place: FramePlace = { segment: undefined, offset: 0, length: 0 };
        places.push(place);
        const { written } = buffer.append('parked', 10, message(i), place);
        expect(place.segment).toBeUndefined(); // not written yet
        await written;
        expect(place.segment).toBeDefined();
      }
      expect(new Set(places.map((place) => place.segment?.file)).size).toBeGreaterThan(1);
      const reader = new FrameReader(dir);
      const read = places.map((place) => reader.read(place));
      reader.close();
      expect(read.map((r) => [r.seq, r.topic])).toEqual([[0, 'parked'], [3, 'parked'], [6, 'parked'], [9, 'parked']]);
      expect(read[1]?.message).toEqual(message(3));
      await buffer.close();
    });

    it('reads ahead for a topic whose frames lie close together, and frame by frame for one whose frames are far apart', async () => {
      const buffer = new DiskBuffer(dir, 64 * 1024 * 1024);
      buffer.open();
      const dense: FramePlace[] = [];
      const sparse: FramePlace[] = [];
      // 6,000 frames of ~150 bytes: every other one 'dense', one in 500 'sparse' (a templated topic's many topics)
      for (let i = 0; i < 6000; i += 1) {
        const place: FramePlace = { segment: undefined, offset: 0, length: 0 };
        const topic = i % 500 === 1 ? 'sparse' : i % 2 === 0 ? 'dense' : 'other';
        if (topic === 'dense') dense.push(place);
        if (topic === 'sparse') sparse.push(place);
        buffer.append(topic, 10, message(i), place);
      }
      await buffer.append('t', 10, message(6000)).written;
      const bytesOf = (places: FramePlace[]): number => places.reduce((sum, place) => sum + place.length, 0);
      const read = (places: FramePlace[]): FrameReader => {
        const reader = new FrameReader(dir);
        expect(places.map((place) => reader.read(place).topic)).toEqual(places.map(() => places === dense ? 'dense' : 'sparse'));
        reader.close();
        return reader;
      };
      const denseReader = read(dense);
      // chunks of 256 KB, half of each its own: about twice its bytes (not a read per frame)
      expect(denseReader.bytesRead).toBeLessThan(2.5 * bytesOf(dense));
      const sparseReader = read(sparse);
      // after the first chunk (of which 3 frames were its own), its frames alone: not the ~900 KB a chunk each would read
      expect(sparseReader.bytesRead).toBeLessThan(256 * 1024 + bytesOf(sparse));
      expect(sparseReader.bytesRead).toBeGreaterThanOrEqual(bytesOf(sparse));
      await buffer.close();
    });

    it('says which file and offset it could not read', async () => {
      const buffer = new DiskBuffer(dir, 1024);
      buffer.open();
      const place: FramePlace = { segment: undefined, offset: 0, length: 0 };
      await buffer.append('parked', 10, message(0), place).written;
      const reader = new FrameReader(dir);
      expect(() => reader.read({ ...place, length: place.length - 5 })).toThrow(/unreadable record in .*0000000000000000\.seg at offset 0/);
      reader.close();
      await buffer.close();
    });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DiskBuffer } from './disk-buffer';
import { HybridBuffer } from './hybrid-buffer';
import type { RecordBatcher } from './record-batcher';

describe(HybridBuffer.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-hybrid-unit-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('parks a long backlog of a blocked topic 512 records per turn, so acknowledgements and intake keep theirs', async () => {
    const count = 2000;
    const earlier = new DiskBuffer(dir, 1024 * 1024);
    earlier.open();
    let last = Promise.resolve();
    for (let i = 0; i < count; i += 1) last = earlier.append('gone', 20, { key: null, value: `v${i}` }).written;
    await last;
    await earlier.close();

    const disk = new DiskBuffer(dir, 1024 * 1024);
    const leftover = disk.open();
    // the topic stays blocked: nothing goes to the batcher, everything is parked
    const batcher = { blocked: () => true, awaitsPartitions: () => false, hasRoomFor: () => true, handOver: () => undefined } as unknown as RecordBatcher;
    const hybrid = new HybridBuffer(batcher, disk, {
      where: { connectorId: 'c', actionId: 'a' }, diskLimit: 1e12, overflow: 'backpressure', droppedLater: () => undefined,
      lost: () => undefined, restore: (stored) => stored.message, maxBatchAge: Number.POSITIVE_INFINITY,
    }, leftover);
    hybrid.schedulePump();
    await Promise.resolve(); // the pump's microtask
    expect(disk.spill.records).toBe(count - 512);
    for (let i = 0; i < 10 && disk.spill.records > 0; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(disk.spill.records).toBe(0);
    expect(hybrid.queued()).toBe(count); // all parked, none lost
    hybrid.close();
    await disk.close();
  });
});

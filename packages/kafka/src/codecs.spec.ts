import { describe, expect, it } from '@jest/globals';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { ensureCodec } from './codecs';

describe(ensureCodec.name, () => {
  it.each([['snappy', CompressionTypes.Snappy], ['lz4', CompressionTypes.LZ4]] as const)('registers %s so that it round-trips', async (name, type) => {
    ensureCodec(name);
    const codec = CompressionCodecs[type]();
    const input = Buffer.from(Array.from({ length: 3000 }, (_, i) => `record ${i} ${i % 7 === 0 ? Math.random() : 'same text'}\n`).join(''));
    const compressed: Buffer = await codec.compress({ buffer: input });
    expect(compressed.length).toBeLessThan(input.length);
    expect((await codec.decompress(compressed)).equals(input)).toBe(true);
  });

  it('writes LZ4 frames with independent 64 KB blocks, as Kafka requires', async () => {
    ensureCodec('lz4');
    const compressed: Buffer = await CompressionCodecs[CompressionTypes.LZ4]().compress({ buffer: Buffer.alloc(200_000, 7) });
    expect(compressed.readUInt32LE(0)).toBe(0x184d2204);
    expect(compressed[4]).toBe(0x60);
    expect(compressed[5]).toBe(0x40);
  });
});

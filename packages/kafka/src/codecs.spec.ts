import { describe, expect, it } from '@jest/globals';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { ensureCodec } from './codecs';

describe(ensureCodec.name, () => {
  it.each([['snappy', CompressionTypes.Snappy], ['lz4', CompressionTypes.LZ4], ['zstd', CompressionTypes.ZSTD]] as const)('registers %s so that it round-trips', async (name, type) => {
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

  it('reads zstd frames without a content size, as streaming encoders such as the Java producer write them', async () => {
    ensureCodec('zstd');
    const codec = CompressionCodecs[CompressionTypes.ZSTD]();
    // `echo "hello zstd" | zstd --no-content-size`
    const small = Buffer.from('28b52ffd045859000068656c6c6f207a7374640a6c57f951', 'hex');
    expect((await codec.decompress(small)).toString()).toBe('hello zstd\n');
    // 2,000,000 × "a" through `zstd --no-content-size`: larger than the 1 MB a size-less frame may hold
    // when decoded by the WebAssembly build, which is why decoding uses another library
    const large = Buffer.from('28b52ffd04585400001061610100fbff39c002020010610200106102001061020010610200106102001061020010610200106102001061020010610200106102001061020010610200106103240461c721ed07', 'hex');
    const decoded: Buffer = await codec.decompress(large);
    expect(decoded.length).toBe(2_000_000);
    expect(decoded.every((byte) => byte === 0x61)).toBe(true);
  });
});

import { CompressionCodecs, CompressionTypes } from 'kafkajs';

/** Compression codecs an action can ask for, and the kafkajs type of each. */
export const COMPRESSION = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;
export type CompressionName = keyof typeof COMPRESSION;

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/**
 * kafkajs keeps codecs in a process-wide table and ships only GZIP. Registering here, when an action
 * first asks for a codec, means applications that never use snappy or lz4 never load their libraries
 * (lz4js allocates a 5 MB block buffer on load). Registering is idempotent and also lets kafkajs
 * consumers in the same process read such records.
 */
export function ensureCodec(name: CompressionName): void {
  if (name === 'snappy' && !available(CompressionTypes.Snappy)) {
    // kafkajs-snappy (snappyjs, pure JS): raw snappy out, raw or xerial-framed snappy in, as Kafka accepts
    CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as () => Codec;
  }
  if (name === 'lz4' && !available(CompressionTypes.LZ4)) {
    CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  }
  if (name === 'zstd' && !available(CompressionTypes.ZSTD)) {
    CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
  }
}

/** kafkajs's table holds factories that throw "not implemented"; a codec the host registered is kept. */
function available(type: CompressionTypes.Snappy | CompressionTypes.LZ4 | CompressionTypes.ZSTD): boolean {
  try {
    return CompressionCodecs[type]() !== undefined;
  } catch {
    return false;
  }
}

interface Lz4js {
  compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  compressBound(n: number): number;
  decompress(src: Uint8Array): Uint8Array;
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK = 64 * 1024;
/** FLG: version 01, block independence (Kafka refuses dependent blocks), no checksums. */
const LZ4_FLG = 0x60;
/** BD: 64 KB maximum block size, Kafka's own default. */
const LZ4_BD = 0x40;

/**
 * LZ4 frame format (what Kafka reads since KIP-57), pure JS. lz4js's own frame encoder marks blocks as
 * dependent, which the Java broker refuses ("Dependent block stream is unsupported"), so the frame is
 * written here from lz4js's block compressor with a fresh hash table per block.
 */
function lz4Codec(): Codec {
  const lz4 = require('lz4js') as Lz4js;
  const xxh32 = (require('lz4js/xxh32') as { hash(seed: number, src: Uint8Array, index: number, length: number): number }).hash;
  return {
    async compress(encoder) {
      const src = encoder.buffer;
      const blocks = Math.max(1, Math.ceil(src.length / LZ4_BLOCK));
      const out = Buffer.alloc(7 + blocks * (4 + lz4.compressBound(LZ4_BLOCK)) + 4);
      out.writeUInt32LE(LZ4_MAGIC, 0);
      out[4] = LZ4_FLG;
      out[5] = LZ4_BD;
      out[6] = (xxh32(0, out, 4, 2) >>> 8) & 0xff;
      let at = 7;
      const hashTable = new Uint32Array(1 << 16);
      const scratch = new Uint8Array(lz4.compressBound(LZ4_BLOCK));
      for (let from = 0; from < src.length; from += LZ4_BLOCK) {
        const length = Math.min(LZ4_BLOCK, src.length - from);
        hashTable.fill(0);
        const size = lz4.compressBlock(src, scratch, from, length, hashTable);
        if (size === 0 || size >= length) {
          out.writeUInt32LE((0x80000000 | length) >>> 0, at); // stored uncompressed
          src.copy(out, at + 4, from, from + length);
          at += 4 + length;
        } else {
          out.writeUInt32LE(size, at);
          out.set(scratch.subarray(0, size), at + 4);
          at += 4 + size;
        }
      }
      out.writeUInt32LE(0, at); // end mark
      return out.subarray(0, at + 4);
    },
    async decompress(buffer) {
      const result = lz4.decompress(buffer);
      return Buffer.from(result.buffer, result.byteOffset, result.byteLength);
    },
  };
}

/** Kafka's own default level for zstd (the Java producer's compression.zstd.level). */
const ZSTD_LEVEL = 3;

interface ZstdWasm {
  init(): Promise<void>;
  compress(input: Uint8Array, level: number): Uint8Array;
}

let zstdReady: Promise<ZstdWasm> | undefined;

/**
 * Zstandard, without native code: Node 20's zlib has no zstd (it came in Node 22.15). Compression runs
 * the reference C library built to WebAssembly (@bokuweb/zstd-wasm, one frame with its content size);
 * decompression uses fzstd (pure JS), which also reads the streamed frames without a content size that
 * the Java producer writes, whatever their size (the WASM build's decompressor caps those at 1 MB).
 */
function zstdCodec(): Codec {
  const fzstd = require('fzstd') as { decompress(input: Uint8Array): Uint8Array };
  return {
    async compress(encoder) {
      const zstd = await loadZstd();
      const out = zstd.compress(encoder.buffer, ZSTD_LEVEL);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    },
    async decompress(buffer) {
      const out = fzstd.decompress(buffer);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    },
  };
}

/** Loads and instantiates the WebAssembly module once per process (it reads a 250 KB file). */
function loadZstd(): Promise<ZstdWasm> {
  zstdReady ??= (async () => {
    const zstd = require('@bokuweb/zstd-wasm') as ZstdWasm;
    await zstd.init();
    return zstd;
  })();
  return zstdReady;
}

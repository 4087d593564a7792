import { MAX_INTEGER_BITS, SqlFloat, boundedIntOf, intOf, type SqlValue } from '../values';
import { badArg, bytes, bytesValue, fnError, integer, option, type FunctionDef } from './args';

/**
 * Bit operations (RULE-SQL.md §8.8). Erlang integers are unbounded: BigInt inside, and results in the
 * canonical form of values.ts (a number when safe, else a bigint), so 64-bit masks and counters are exact.
 */

function big(name: string, position: number, v: SqlValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return badArg(name, position, 'an integer', v);
}

/**
 * a << n, for either sign of n. A shift past MAX_INTEGER_BITS of a non-zero value is refused before
 * BigInt builds an integer of up to 2^30 bits (128 MB).
 */
function shiftLeft(name: string, a: bigint, n: bigint): bigint {
  if (n < 0n) return a >> -n;
  if (a !== 0n && n > BigInt(MAX_INTEGER_BITS)) {
    throw fnError(name, `shifting by ${n} bits gives an integer of more than ${MAX_INTEGER_BITS} bits, the limit`);
  }
  return a << n;
}

function bitwise(name: string, op: (a: bigint, b: bigint) => bigint): FunctionDef {
  return [name, 2, 2, (args) => boundedIntOf(op(big(name, 1, args[0]), big(name, 2, args[1])), `function ${name}()`)];
}

/**
 * Past this many bits an integer is assembled from hex text in one step: shifting a BigInt copies it,
 * so building one bit or byte at a time is quadratic (subbits of a 128 KB payload took a second).
 */
const SHIFT_LOOP_BITS = 64;

/** Reads `count` bits starting at bit `from` (0-based, MSB first) as an unsigned big-endian BigInt. */
function readBits(buf: Buffer, from: number, count: number): bigint {
  if (count > SHIFT_LOOP_BITS) return bigFromBytes(bitsToBuffer(buf, from, count));
  let out = 0n;
  let i = from;
  const end = from + count;
  // Whole bytes at a time when aligned, bit by bit otherwise.
  while (i < end) {
    if (i % 8 === 0 && end - i >= 8) {
      out = (out << 8n) | BigInt(buf[i >> 3] as number);
      i += 8;
    } else {
      const bit = ((buf[i >> 3] as number) >> (7 - (i % 8))) & 1;
      out = (out << 1n) | BigInt(bit);
      i++;
    }
  }
  return out;
}

/** Erlang's little-endian integer of n bits: the first 8 bits are the least significant byte, a partial last chunk the most significant. */
function readLittle(buf: Buffer, from: number, count: number): bigint {
  if (count > SHIFT_LOOP_BITS) {
    // Chunk k (8 bits, the last one maybe fewer) is byte k from the least significant end.
    const chunks = Math.ceil(count / 8);
    const be = Buffer.alloc(chunks);
    for (let k = 0; k < chunks; k++) {
      const at = from + k * 8;
      be[chunks - 1 - k] = Number(readBits(buf, at, Math.min(8, from + count - at)));
    }
    return bigFromBytes(be);
  }
  let out = 0n;
  let shift = 0n;
  let i = from;
  const end = from + count;
  while (i < end) {
    const chunk = Math.min(8, end - i);
    out |= readBits(buf, i, chunk) << shift;
    shift += BigInt(chunk);
    i += chunk;
  }
  return out;
}

/** An unsigned big-endian integer of any size, in time linear in its length. */
function bigFromBytes(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

/**
 * The bits as whole bytes, right-aligned: a partial byte gets leading zero bits, the way EMQX's
 * bin2hexstr pads a bitstring (`subbits(0x9F4E58, 1, 6, 'bits')` then bin2hexstr gives '27').
 */
function bitsToBuffer(buf: Buffer, from: number, count: number): Buffer {
  const size = Math.ceil(count / 8);
  if (from % 8 === 0 && count % 8 === 0) return Buffer.from(buf.subarray(from / 8, from / 8 + size));
  const out = Buffer.alloc(size);
  const shift = size * 8 - count;
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const bit = ((buf[i >> 3] as number) >> (7 - (i % 8))) & 1;
    const o = k + shift;
    if (bit === 1) out[o >> 3] = (out[o >> 3] as number) | (1 << (7 - (o % 8)));
  }
  return out;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function readFloat(buf: Buffer, from: number, count: number, little: boolean): number | undefined {
  if (count !== 16 && count !== 32 && count !== 64) return undefined;
  const raw = bitsToBuffer(buf, from, count);
  if (little) raw.reverse();
  const x = count === 16 ? halfToNumber(raw.readUInt16BE(0)) : count === 32 ? raw.readFloatBE(0) : raw.readDoubleBE(0);
  // Erlang cannot hold NaN or infinities: the match fails.
  return Number.isFinite(x) ? x : undefined;
}

function subbits(args: readonly SqlValue[]): SqlValue {
  const buf = bytes('subbits', 1, args[0]);
  let start = 1;
  let len: number;
  if (args.length === 2) len = integer('subbits', 2, args[1]);
  else {
    start = integer('subbits', 2, args[1]);
    len = integer('subbits', 3, args[2]);
  }
  const type = args.length >= 4 ? option('subbits', 4, args[3], ['integer', 'float', 'bits'] as const) : 'integer';
  const signed = args.length >= 5 ? option('subbits', 5, args[4], ['unsigned', 'signed'] as const) === 'signed' : false;
  const little = args.length >= 6 ? option('subbits', 6, args[5], ['big', 'little'] as const) === 'little' : false;
  const total = buf.length * 8;
  const begin = start - 1;
  if (begin < 0 || begin >= total) return undefined;
  const rest = total - begin;
  // EMQX matches Len bits first and falls back to all the remaining bits when that match fails.
  const fits = len >= 0 && len <= rest;
  if (type === 'float') {
    const f = (fits ? readFloat(buf, begin, len, little) : undefined) ?? readFloat(buf, begin, rest, little);
    if (f === undefined) throw fnError('subbits', `cannot read a float of ${len} bits at bit ${start}`);
    return Number.isInteger(f) ? makeFloatValue(f) : f;
  }
  const n = fits ? len : rest;
  if (type === 'bits') {
    // Whole bytes are an ordinary binary; JS has no bitstrings, so a partial byte is padded in front.
    const out = bitsToBuffer(buf, begin, n);
    return n % 8 === 0 ? bytesValue(out) : out;
  }
  if (n === 0) return 0;
  let value = little ? readLittle(buf, begin, n) : readBits(buf, begin, n);
  if (signed && value >> BigInt(n - 1) === 1n) value -= 1n << BigInt(n);
  // Reading is linear in the bits; the result is bounded like any integer (its decimal text is not linear).
  return boundedIntOf(value, 'function subbits()');
}


function makeFloatValue(f: number): SqlFloat {
  return new SqlFloat(f);
}

/** erlang:iolist_size: binaries, and lists of bytes and binaries. */
function iolistSize(v: SqlValue): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Buffer.isBuffer(v)) return v.length;
  if (Array.isArray(v)) {
    let n = 0;
    for (const e of v) {
      if (typeof e === 'number' && Number.isInteger(e) && e >= 0 && e <= 255) n++;
      else n += iolistSize(e);
    }
    return n;
  }
  return badArg('bytesize', 1, 'a string, binary or list of bytes', v);
}

export const BIT_FUNCTIONS: readonly FunctionDef[] = [
  ['bitnot', 1, 1, (args) => intOf(~big('bitnot', 1, args[0]))],
  bitwise('bitand', (a, b) => a & b),
  bitwise('bitor', (a, b) => a | b),
  bitwise('bitxor', (a, b) => a ^ b),
  // bsl with a negative count shifts right and vice versa, as in Erlang.
  bitwise('bitsl', (a, n) => shiftLeft('bitsl', a, n)),
  bitwise('bitsr', (a, n) => shiftLeft('bitsr', a, -n)),
  ['bitsize', 1, 1, (args) => bytes('bitsize', 1, args[0]).length * 8],
  ['bytesize', 1, 1, (args) => iolistSize(args[0])],
  ['subbits', 2, 6, subbits],
];

'use strict';
// Hostile payloads for the rule-SQL fuzz (see sql-fuzz.js): random bytes, deep and big JSON, JSON with
// prototype-named keys, bad UTF-8, huge numbers, ReDoS strings and compression bombs. Bombs are built
// at run time from independent compressed blocks repeated, so a 500 MB bomb costs half a megabyte and
// no time to build, and every payload is a pure function of the random stream (replayable by seed).
const zlib = require('node:zlib');

const MIB = 1 << 20;

/** Catastrophic (backtracking) patterns, invalid patterns and engine-specific syntax. */
const REGEX_PATTERNS = [
  '^(a+)+$', '(a|a)+$', '(a|aa)+$', '(a*)*b', '(.*a){20}', '^(a?){30}a{30}$', '(\\w+\\s?)+$', '^(([a-z])+.)+[A-Z]([a-z])+$',
  '(x+x+)+y', '(a|a?)+b', '((a+)+)+!', '(?:a+){2,}$', '^(a|a?)+$', '.*.*.*.*.*.*=', '(\\d+)*\\D',
  '(', '[', 'a{2,1}', '\\', '*', '(?<', '\\1(a)', '(?<=a+)b', '\\p{L}+', '(?i)A', '\\Ga', '(*FAIL)', '(?R)',
  'a{1000000}', '(a{1000}){1000}', '[\\s\\S]*x', '',
];

/** Replacement strings for regex_replace: missing groups, whole-match markers, JS-only syntax. */
const REPLACEMENTS = ['[\\2]', '\\0\\1\\9', '&&&&', '$1$&$`', '\\g{1}', '\\', '&'.repeat(1000), ''];

/** Integers and floats at and beyond the edges of int32, safe integers, doubles and V8 string limits. */
const HUGE_NUMBERS = [
  '0', '-1', '1', '2147483647', '2147483648', '-2147483649', '4294967296', '9007199254740993', '536870888',
  '1073741824', '100000000', '1e308', '1e400', '-1e400', '1.7976931348623157e308', '5e-324', '-0',
  '123456789012345678901234567890', '1' + '0'.repeat(400), '0.1e-400', '3.5',
];

/** Byte sequences that are not UTF-8: stray continuation bytes, overlong forms, encoded surrogates, truncation. */
const BAD_UTF8 = [
  [0xff], [0xfe], [0x80], [0xc3, 0x28], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
  [0xf0, 0x9f, 0x98], [0xe2, 0x82], [0x00],
];

/** Compression bombs: `fill` repeated to `size` bytes, in the container that `kind` names. */
function bomb(kind, size, fill) {
  const count = Math.max(1, Math.round(size / MIB));
  const { block, sum, weighted } = bombBlock(kind, fill);
  // gzip: gunzip reads concatenated gzip members as one stream. Raw deflate: full-flushed blocks are
  // independent and byte-aligned, and an empty final block (03 00) ends the stream.
  if (kind === 'gzip') return Buffer.concat(Array(count).fill(block));
  const raw = Buffer.concat([...Array(count).fill(block), Buffer.from([0x03, 0x00])]);
  if (kind === 'deflate-raw') return raw;
  // zlib container: header, raw deflate, Adler-32 of the whole output (checked by the inflater).
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(adler32Repeated(sum, weighted, MIB, count));
  return Buffer.concat([Buffer.from([0x78, 0xda]), raw, trailer]);
}

const blocks = new Map();
/** The compressed 1 MiB block of `fill` (and its byte sums for Adler-32), built once per process. */
function bombBlock(kind, fill) {
  const key = `${kind}:${fill}`;
  let entry = blocks.get(key);
  if (entry === undefined) {
    const chunk = Buffer.alloc(MIB, fill);
    const block =
      kind === 'gzip' ? zlib.gzipSync(chunk, { level: 9 }) : zlib.deflateRawSync(chunk, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
    let sum = 0n; // sum of the bytes
    let weighted = 0n; // sum of offset * byte
    if (kind === 'zlib') {
      let s = 0;
      let w = 0n;
      for (let j = 0; j < chunk.length; j++) {
        s += chunk[j];
        if (chunk[j] !== 0) w += BigInt(j * chunk[j]);
      }
      sum = BigInt(s);
      weighted = w;
    }
    entry = { block, sum, weighted };
    blocks.set(key, entry);
  }
  return entry;
}

/** Adler-32 of a chunk (length L, byte sum S, offset-weighted sum J) repeated `count` times, in closed form. */
function adler32Repeated(sum, weighted, length, count) {
  const c = BigInt(count);
  const L = BigInt(length);
  const N = c * L;
  // a = 1 + total of bytes; b = N + sum over bytes of (N - offset) * byte (offsets from 0).
  const a = (1n + c * sum) % 65521n;
  const b = (N + c * (N * sum - weighted) - (L * sum * c * (c - 1n)) / 2n) % 65521n;
  return Number((b << 16n) | a) >>> 0;
}

/** The function that undoes each bomb kind in rule SQL. */
const BOMB_FUNCTIONS = { gzip: 'gunzip', 'deflate-raw': 'unzip', zlib: 'zip_uncompress' };

/** A string for a ReDoS pattern: n times 'a', then a character that makes the match fail. */
const redosString = (n) => 'a'.repeat(n) + '!';

function deepJson(g, depth) {
  const open = g.pick(['[', '{"a":', '[{"a":']);
  const close = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
  return open.repeat(depth) + g.pick(['1', '"x"', 'null', '[]', '{}']) + close.repeat(depth);
}

function bigJson(g, n) {
  switch (g.int(4)) {
    case 0:
      return `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
    case 1:
      return `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    case 2:
      return JSON.stringify({ s: 'x'.repeat(n * 8), x: Array.from({ length: Math.min(n, 5000) }, (_, i) => ({ v: i, name: `n${i}` })) });
    default:
      return JSON.stringify({ x: Array(n).fill('a,b,c'), n: g.pick(HUGE_NUMBERS) });
  }
}

/** JSON text with prototype-named keys at every level, duplicates, and escapes of lone surrogates. */
function prototypeJson(g) {
  const inner = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"toString":"x","valueOf":1,"hasOwnProperty":[]}';
  return g.pick([
    `{"__proto__":{"polluted":"yes"},"x":[${inner},${inner}],"a":1}`,
    `{"constructor":{"prototype":{"polluted":"yes"}},"x":[1,2],"s":"\\ud800"}`,
    `{"x":[${inner}],"__proto__":[],"toString":"not a function","a":{"__proto__":null}}`,
    `{"a":1,"a":2,"__proto__":1,"__proto__":{"b":2},"x":["__proto__","constructor"]}`,
    `[${inner},"__proto__",{"x":{"__proto__":{"__proto__":{}}}}]`,
  ]);
}

/**
 * The "record" most generated rules read: payload.s (a string to match), payload.p (a pattern),
 * payload.n (a huge number), payload.x (a list to FOREACH over), payload.z (a base64 bomb), payload.r
 * (a replacement), payload.d (deep JSON), plus prototype-named keys.
 */
function hostileRecord(g, scale) {
  const record = {
    s: g.pick([redosString(g.size(30, 200, scale.string)), 'a,b,,c', '\u0000\ud800x', 'é'.repeat(g.size(1, 100, scale.string)), '~s~p~n', '']),
    p: g.pick(REGEX_PATTERNS),
    n: JSON.parse(g.pick(['536870888', '1073741824', '2147483648', '100000000', '-1', '4294967296', '1e308', '3.5'])),
    x: g.pick([[1, 2, 3], [{ a: 1 }, { a: 2 }], Array(g.size(3, 1000, scale.list)).fill(0), [], ['__proto__', 'constructor']]),
    r: g.pick(REPLACEMENTS),
    a: [1, 2, 3],
    b: { c: { d: 1 } },
  };
  if (g.chance(0.3)) record.z = bomb(g.pick(['gzip', 'deflate-raw', 'zlib']), g.pick([MIB, 16 * MIB]), g.pick([0, 'a,'])).toString('base64');
  let text = JSON.stringify(record);
  if (g.chance(0.3)) text = text.slice(0, -1) + `,"d":${deepJson(g, g.size(10, 1000, scale.depth))}}`;
  if (g.chance(0.3)) text = text.slice(0, -1) + ',"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
  return text;
}

/**
 * One hostile payload: { bytes: Buffer, desc: how it was made (for reports) }. `scale` bounds the
 * sizes (the CI run uses smaller ones than a long local run).
 */
function hostilePayload(g, scale) {
  const kind = g.pick(['record', 'record', 'record', 'bytes', 'deep', 'big', 'proto', 'bomb', 'redos', 'utf8', 'number', 'empty']);
  switch (kind) {
    case 'record':
      return text(hostileRecord(g, scale), 'record');
    case 'bytes':
      return { bytes: g.bytes(g.size(1, 4096, scale.bytes)), desc: 'random bytes' };
    case 'deep': {
      const depth = g.size(100, 10000, scale.depth);
      return text(deepJson(g, depth), `JSON nested ${depth} deep`);
    }
    case 'big': {
      const n = g.size(100, 20000, scale.list);
      return text(bigJson(g, n), `big JSON (${n} items)`);
    }
    case 'proto':
      return text(prototypeJson(g), 'JSON with __proto__/constructor keys');
    case 'bomb': {
      const bombKind = g.pick(['gzip', 'deflate-raw', 'zlib']);
      const size = g.pick([16, 64, scale.bombMib]) * MIB;
      const fill = g.pick([0, 'a,', '[', 'a']);
      return { bytes: bomb(bombKind, size, fill), desc: `${bombKind} bomb of ${size / MIB} MiB of ${JSON.stringify(fill)}`, bomb: bombKind };
    }
    case 'redos':
      return text(redosString(g.size(30, 1024, scale.string)), "'a' * n + '!'");
    case 'utf8': {
      const parts = [];
      for (let i = g.int(20) + 1; i > 0; i--) parts.push(g.chance(0.5) ? Buffer.from(g.pick(['{"s":"', 'a', '"}', 'é'])) : Buffer.from(g.pick(BAD_UTF8)));
      return { bytes: Buffer.concat(parts), desc: 'bad UTF-8' };
    }
    case 'number':
      return text(g.chance(0.5) ? g.pick(HUGE_NUMBERS) : `{"n":${g.pick(HUGE_NUMBERS)},"x":[${g.pick(HUGE_NUMBERS)}]}`, 'huge number');
    default:
      return { bytes: Buffer.alloc(0), desc: 'empty' };
  }
}

function text(s, desc) {
  return { bytes: Buffer.from(s, 'utf8'), desc };
}

module.exports = { BOMB_FUNCTIONS, BAD_UTF8, HUGE_NUMBERS, MIB, REGEX_PATTERNS, REPLACEMENTS, bomb, deepJson, hostilePayload, hostileRecord, redosString, text };

import { RuleEvaluationError } from '@sluice/core';
import { DEFAULT_LIMITS } from './limits';

/**
 * The values rules compute with, and how they map onto JavaScript.
 *
 * EMQX (Erlang) keeps integers and floats apart: `4/2` is `2.0`, `str(2.0)` is `'2.0'`, `is_float(2.0)`
 * is true. A JavaScript number cannot tell `2` from `2.0`, so:
 *   - an integer is a JS number for which Number.isInteger() is true, or a JS bigint (below);
 *   - a float is a JS number that is not an integer (27.5), or, when its value happens to be
 *     integral, an SqlFloat wrapping it (2.0). Only integral floats are boxed, so the common case
 *     (27.5 from a JSON payload) stays a plain number on the hot path.
 *
 * Erlang integers are unbounded (nanosecond timestamps, 64-bit counters): an integer outside the safe
 * range of a double (|n| > 2^53 - 1) is a JS `bigint`, and only then. Every producer of integers (the
 * JSON decoder, integer literals, arithmetic, bit and conversion functions) normalises with intOf(), so
 * a result back in the safe range is a plain number again and the hot paths never meet a bigint unless a
 * payload or rule holds a long integer. Mixed integer/float arithmetic gives a float, as in Erlang
 * (`bigint + 0.5` is a double). Integers are bounded to MAX_INTEGER_BITS bits so a rule cannot grow one
 * without limit. An integral number beyond 2^53 that is not a bigint (some functions, such as
 * now_timestamp('nanosecond'), still compute in doubles) is an integer too, with the double's exact value.
 *
 * Other kinds: `undefined` is EMQX's missing value, `null` is JSON null (a different value), strings are
 * JS strings (UTF-8 text), binary data that is not text (zip, hexstr2bin results) is a Buffer, lists
 * are arrays and maps are plain objects.
 */
export type SqlValue = undefined | null | boolean | number | bigint | SqlFloat | string | Buffer | SqlValue[] | SqlMap;
export interface SqlMap {
  [key: string]: SqlValue;
}

/** A float whose value is integral (2.0). valueOf/toJSON make it behave as a number for outside code. */
export class SqlFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
  toString(): string {
    return formatFloat(this.value);
  }
}

/** Makes a float of any JS number: boxes integral values so they stay floats. */
export function makeFloat(n: number): number | SqlFloat {
  return Number.isInteger(n) ? new SqlFloat(n) : n;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/**
 * The largest integers rules compute with, in bits (about 19,700 decimal digits). Erlang has no such
 * bound, but a rule squaring a value field after field would otherwise double its size each time; no
 * timestamp or counter comes near it.
 */
export const MAX_INTEGER_BITS = 65536;
const INTEGER_LIMIT = 1n << BigInt(MAX_INTEGER_BITS);

/**
 * The longest integer text read exactly (JSON literals, numeric strings), in digits: about
 * MAX_INTEGER_BITS bits. BigInt's decimal parsing is superlinear, so one huge literal in a payload must
 * not stall the loop (20,000 digits parse in about 1 ms).
 */
export const MAX_INTEGER_DIGITS = 20000;

/** The canonical form of an integer: a number when it is safe, else the bigint itself. */
export function intOf(n: bigint): number | bigint {
  return n <= MAX_SAFE && n >= MIN_SAFE ? Number(n) : n;
}

/**
 * intOf for a result that may have grown (products, shifts): refuses one past MAX_INTEGER_BITS with a
 * RuleEvaluationError naming `where`.
 */
export function boundedIntOf(n: bigint, where: string): number | bigint {
  if (n <= MAX_SAFE && n >= MIN_SAFE) return Number(n);
  if (n >= INTEGER_LIMIT || n <= -INTEGER_LIMIT) {
    throw new RuleEvaluationError(`${where}: the integer result would have more than ${MAX_INTEGER_BITS} bits, the limit`);
  }
  return n;
}

/** An integer value as a bigint (callers check isInteger first; integral doubles convert exactly). */
export function bigOf(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

export function isInteger(v: unknown): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

export function isFloat(v: unknown): v is number | SqlFloat {
  return (typeof v === 'number' && !Number.isInteger(v)) || v instanceof SqlFloat;
}

export function isNumber(v: unknown): v is number | bigint | SqlFloat {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof SqlFloat;
}

/**
 * The JS number of an integer or float value (callers check isNumber first). A bigint becomes the
 * nearest double (Infinity past the double range): for float arithmetic, as Erlang converts.
 */
export function numberOf(v: number | bigint | SqlFloat): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v.value;
}

export function isMap(v: unknown): v is SqlMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof SqlFloat) && !Buffer.isBuffer(v);
}

/**
 * EMQX's float text, Erlang's `float_to_binary(F, [{decimals, 10}, compact])`: fixed notation (never an
 * exponent), at most 10 decimals, trailing zeros dropped but one kept (`2.0`, `3.1415926536`,
 * `0.300000004`, `1.0e-11` prints `0.0`).
 */
export function formatFloat(n: number): string {
  // Fast path (per message in str(), templates, +): below 2^18 a double's ulp is under 1e-10, so when
  // the shortest round-trip text has at most 10 decimals, rounding the exact value to 10 decimals
  // gives that same text. Everything else takes the exact route.
  if (n < 262144 && n > -262144) {
    const s = String(n);
    const dot = s.indexOf('.');
    if (dot === -1) {
      if (!s.includes('e')) return Object.is(n, -0) ? '-0.0' : `${s}.0`;
    } else if (s.length - dot <= 11 && !s.includes('e')) {
      return s;
    }
  }
  return formatFixed(n, 10);
}

/**
 * `float_to_binary(F, [{decimals, D}, compact])`: the exact decimal value of F rounded to D decimals,
 * trailing zeros removed but one digit kept after the point. toFixed is exact up to 1e21; beyond that the
 * double is an integer whose exact digits BigInt gives.
 */
export function formatFixed(n: number, decimals: number): string {
  if (!Number.isFinite(n)) return String(n);
  let text: string;
  if (n >= 1e21 || n <= -1e21) {
    text = `${BigInt(n).toString()}.0`;
  } else {
    text = n.toFixed(decimals);
    if (Object.is(n, -0)) text = `-${text}`;
    if (decimals === 0) return text;
    let end = text.length;
    while (text.charCodeAt(end - 1) === 48 /* 0 */) end--;
    if (text.charCodeAt(end - 1) === 46 /* . */) end++;
    if (end !== text.length) text = text.slice(0, end);
  }
  return text;
}

/** Kind names used in error messages ("expected an integer, got string"). */
export function typeName(v: SqlValue): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'float';
    case 'bigint':
      return 'integer';
    case 'string':
      return 'string';
    default:
      if (v instanceof SqlFloat) return 'float';
      if (Array.isArray(v)) return 'array';
      if (Buffer.isBuffer(v)) return 'binary';
      return 'map';
  }
}

/** A string or a Buffer: what Erlang calls a binary (is_str is true for both). */
export function isText(v: unknown): v is string | Buffer {
  return typeof v === 'string' || Buffer.isBuffer(v);
}

/** Integer text in decimal; beyond 1e21 String() would switch to exponent form, Erlang never does. */
export function formatInteger(n: number): string {
  // Per message (templates, str()): an integer past the Smi range is a double, and String() of a double
  // takes V8's general shortest-digits path, ~3x slower than two Smi-sized halves for the 13-digit
  // millisecond and 16-digit microsecond timestamps that payloads carry.
  if (n >= 1e9 && n <= Number.MAX_SAFE_INTEGER) return formatLargeSafeInteger(n);
  return n < 1e21 && n > -1e21 ? String(n) : BigInt(n).toString();
}

function formatLargeSafeInteger(n: number): string {
  let high = Math.floor(n / 1e9);
  let low = n - high * 1e9; // exact below 2^53
  if (low < 0) {
    // n / 1e9 just below an integer can round up to it
    high--;
    low += 1e9;
  }
  const text = String(low);
  return `${high}${NINE_ZEROS.slice(text.length)}${text}`;
}

const NINE_ZEROS = '000000000';

/**
 * EMQX's `str()` (emqx_utils_conv:bin): strings unchanged, integers in decimal, floats via formatFloat,
 * atoms (booleans, null, undefined) by name, maps as JSON, lists as JSON unless they are a printable
 * Latin-1 character list (Erlang's charlist rule: `[104, 105]` is `'hi'`, `[]` is `''`), Buffers as the
 * UTF-8 text of their bytes.
 */
export function toText(v: SqlValue): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isInteger(v) ? formatInteger(v) : formatFloat(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    default:
      if (v === null) return 'null';
      if (v instanceof SqlFloat) return formatFloat(v.value);
      if (Buffer.isBuffer(v)) return v.toString('utf8');
      if (Array.isArray(v) && isPrintableList(v)) return charListText(v as number[]);
      return encodeJsonValue(v);
  }
}

/**
 * toText with the JSON text of a map or list bounded by `maxSize` (the engine's maxStringSize) rather
 * than the default limit; `where` names the operator or function in the error. Other kinds are short,
 * or as long as a value the rule already holds.
 */
export function toTextWithin(v: SqlValue, maxSize: number, where: string): string {
  if (typeof v !== 'object' || v === null || v instanceof SqlFloat || Buffer.isBuffer(v)) return toText(v);
  if (Array.isArray(v) && isPrintableList(v)) return charListText(v as number[]);
  return encodeJsonValue(v, maxSize, where);
}

/** The text of a printable character list, in slices: one spread call of a long list overflows the stack. */
function charListText(codes: readonly number[]): string {
  const SLICE = 8192;
  if (codes.length <= SLICE) return String.fromCharCode(...codes);
  let out = '';
  for (let i = 0; i < codes.length; i += SLICE) out += String.fromCharCode(...codes.slice(i, i + SLICE));
  return out;
}

/**
 * JSON text of a value with jiffy's rules (EMQX's encoder): undefined (an atom) becomes the string
 * "undefined", null stays null, floats keep a fractional part (`2.0`), Buffers are written as their
 * UTF-8 text. json.ts exports it as encodeJson; it lives here because toText needs it for maps and lists.
 *
 * The text may not pass `maxSize` characters (the engine's maxStringSize; the default limit when the
 * caller has no engine at hand): a list that holds one big string many times (aliased fields, FOREACH
 * outputs) is small in memory but its text is not, so the encoder keeps a running budget and stops as
 * soon as the text would pass it, before building it (RuleEvaluationError naming `where`).
 */
export function encodeJsonValue(v: SqlValue, maxSize: number = DEFAULT_LIMITS.maxStringSize, where = 'JSON encoding'): string {
  const text = encodeWithin(v, maxSize);
  if (text === undefined) {
    throw new RuleEvaluationError(
      `${where}: the JSON text of the ${typeName(v)} would be longer than ${maxSize} characters, the limit ` +
        "(maxStringSize; raise it in the rule engine's limits if this is expected)",
    );
  }
  return text;
}

/**
 * The JSON text of `v` if it fits in `budget` characters, else undefined (no exception: callers unwind
 * with one comparison per item). Each nested value gets the room left, so the whole text never passes
 * the budget and the work stops within one item of it.
 */
function encodeWithin(v: SqlValue, budget: number): string | undefined {
  let text: string;
  switch (typeof v) {
    case 'string':
      // Checked before JSON.stringify: the quoted text is at least 2 longer, escapes only add.
      if (v.length + 2 > budget) return undefined;
      text = JSON.stringify(v);
      break;
    case 'number':
      text = Number.isInteger(v) ? formatInteger(v) : jsonFloat(v);
      break;
    case 'bigint':
      // Exact digits as a JSON number (jiffy writes bignums the same way); JSON.stringify would throw.
      text = v.toString();
      break;
    case 'boolean':
      text = v ? 'true' : 'false';
      break;
    case 'undefined':
      text = '"undefined"';
      break;
    default:
      if (v === null) text = 'null';
      else if (v instanceof SqlFloat) text = jsonFloat(v.value);
      else if (Buffer.isBuffer(v)) {
        // UTF-8 decoding gives at most one UTF-16 unit per byte, so a short buffer cannot pass the budget.
        text = JSON.stringify(v.toString('utf8'));
      } else if (Array.isArray(v)) return encodeList(v, budget);
      else return encodeMap(v, budget);
  }
  return text.length > budget ? undefined : text;
}

function encodeList(list: readonly SqlValue[], budget: number): string | undefined {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += ',';
    // room for this item: what is left after the text so far and the closing bracket
    const item = encodeWithin(list[i], budget - out.length - 1);
    if (item === undefined) return undefined;
    out += item;
  }
  return out.length + 1 > budget ? undefined : `${out}]`;
}

function encodeMap(m: SqlMap, budget: number): string | undefined {
  let out = '{';
  let first = true;
  for (const key in m) {
    if (!Object.prototype.hasOwnProperty.call(m, key)) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:`;
    const value = encodeWithin(m[key], budget - out.length - 1);
    if (value === undefined) return undefined;
    out += value;
  }
  return out.length + 1 > budget ? undefined : `${out}}`;
}

/** Shortest round-trip digits as jiffy prints them: always a fraction or an exponent (`2.0`, `1.0e21`). */
function jsonFloat(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`${n} cannot be written as JSON`);
  const text = String(n);
  if (text.includes('e')) {
    const [mantissa = '', exponent = ''] = text.split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${exponent.replace('+', '')}`;
  }
  return text.includes('.') ? text : `${text}.0`;
}

/**
 * io_lib:printable_list/1 with the default Latin-1 printable range: every element an integer in
 * 32..126 or 160..255, or one of \n \r \t \v \b \f \e. The empty list is printable.
 */
export function isPrintableList(list: readonly SqlValue[]): boolean {
  for (const c of list) {
    if (typeof c !== 'number' || !Number.isInteger(c)) return false;
    if ((c >= 32 && c <= 126) || (c >= 160 && c <= 255)) continue;
    if (c === 10 || c === 13 || c === 9 || c === 11 || c === 8 || c === 12 || c === 27) continue;
    return false;
  }
  return true;
}

/** A short rendering of a value for error messages: `'abc' (string)`, `2.0 (float)`; long text is cut. */
export function describeValue(v: SqlValue): string {
  const kind = typeName(v);
  if (v === undefined || v === null || typeof v === 'boolean') return kind;
  let text = typeof v === 'string' ? `'${v}'` : Buffer.isBuffer(v) ? `<<${v.length} bytes>>` : shortText(v);
  if (text.length > 40) text = `${text.slice(0, 37)}...`;
  return `${text} (${kind})`;
}

/** toText for an error message: a list or map whose text would be long is not encoded whole. */
function shortText(v: SqlValue): string {
  if (typeof v !== 'object' || v === null || v instanceof SqlFloat) return toText(v);
  if (Array.isArray(v) && isPrintableList(v)) return charListText((v as number[]).slice(0, 41));
  return encodeWithin(v, 41) ?? (Array.isArray(v) ? '[...]' : '{...}');
}

/**
 * Compares two strings by their UTF-8 bytes (Erlang binaries compare byte-wise), without encoding them:
 * UTF-8 byte order is code-point order, which differs from UTF-16 unit order only between surrogates
 * and U+E000..U+FFFF.
 */
export function compareStrings(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
      cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
    }
    return ca < cb ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

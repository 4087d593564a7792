import { isUtf8 } from 'node:buffer';
import { parseErlangNumber } from '../operators';
import { SqlFloat, formatFixed, intOf, isMap, makeFloat, toText, toTextWithin, type SqlValue } from '../values';
import { badArg, bytes, bytesValue, fnError, integer, text, type FunctionDef } from './args';
import { checkStringSize } from '../limits';
import { toMap } from './maps';
import { limitsOf } from './state';
import type { FunctionContext } from './types';

/** Type tests and conversions (RULE-SQL.md §8.3). */

function predicate(name: string, test: (v: SqlValue) => boolean): FunctionDef {
  return [name, 1, 1, (args) => test(args[0])];
}

const isFloatValue = (v: SqlValue): boolean => (typeof v === 'number' && !Number.isInteger(v)) || v instanceof SqlFloat;

/**
 * emqx_utils_conv:int/1. Exact past 2^53: a bigint is kept, and a float beyond it floors to the exact
 * integer its double holds (`int(1.0e20)` is 100000000000000000000).
 */
export function toInt(name: string, v: SqlValue): number | bigint {
  if (typeof v === 'number') return Number.isInteger(v) ? v : floorToInt(v);
  if (typeof v === 'bigint') return v;
  if (v instanceof SqlFloat) return floorToInt(v.value);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const n = parseErlangNumber(typeof v === 'string' ? v : v.toString('utf8'));
    if (n !== undefined) return typeof n === 'number' || typeof n === 'bigint' ? toInt(name, n) : floorToInt(n.value);
  }
  return badArg(name, 1, 'a number, a boolean or a numeric string', v);
}

/** The integer below a finite double, in the canonical form (a bigint beyond 2^53). */
function floorToInt(x: number): number | bigint {
  const n = Math.floor(x);
  return Number.isSafeInteger(n) ? n : intOf(BigInt(n));
}

/**
 * emqx_utils_conv:float/1, as a JS number (the caller boxes it). An integer beyond the double range
 * cannot be a float: Erlang raises badarg, and so does this.
 */
export function toFloatNumber(name: string, v: SqlValue): number {
  if (typeof v === 'number') return v;
  if (v instanceof SqlFloat) return v.value;
  if (typeof v === 'bigint') return finiteOf(name, v, Number(v));
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const n = parseErlangNumber(typeof v === 'string' ? v : v.toString('utf8'));
    if (n !== undefined) return typeof n === 'number' ? n : typeof n === 'bigint' ? finiteOf(name, v, Number(n)) : n.value;
  }
  return badArg(name, 1, 'a number or a numeric string', v);
}

function finiteOf(name: string, v: SqlValue, n: number): number {
  return Number.isFinite(n) ? n : badArg(name, 1, 'a number within the float range', v);
}

function toBool(v: SqlValue): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  if (typeof v === 'number' || v instanceof SqlFloat) {
    // A bigint is never 0 or 1 (values.ts keeps small integers as numbers): it falls through to badArg.
    const n = typeof v === 'number' ? v : v.value;
    if (n === 1) return true;
    if (n === 0) return false;
  }
  if (Buffer.isBuffer(v)) return toBool(v.toString('utf8'));
  return badArg('bool', 1, "true, false, 'true', 'false', 1 or 0", v);
}

function hexOf(name: string, buf: Buffer, prefix: string, ctx: FunctionContext): string {
  checkStringSize(name, prefix.length + buf.length * 2, limitsOf(ctx));
  return prefix + buf.toString('hex').toUpperCase();
}

const HEX = /^[0-9a-fA-F]*$/;

function hexToBytes(name: string, args: readonly SqlValue[]): SqlValue {
  let hex = text(name, 1, args[0]);
  if (args.length === 2) {
    const prefix = text(name, 2, args[1]);
    if (!hex.startsWith(prefix)) throw fnError(name, `the hex string does not start with the prefix '${prefix}'`);
    hex = hex.slice(prefix.length);
  }
  if (!HEX.test(hex)) throw fnError(name, 'argument 1 is not a hex string');
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return bytesValue(Buffer.from(hex, 'hex'));
}

function strUtf8(v: SqlValue, maxSize: number): SqlValue {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) {
    if (!isUtf8(v)) throw fnError('str_utf8', 'argument 1 is not valid UTF-8');
    return v.toString('utf8');
  }
  if (Array.isArray(v) && isCodePointList(v)) {
    // unicode:characters_to_binary/1 on a list of code points.
    let out = '';
    for (const c of v) out += String.fromCodePoint(c);
    return out;
  }
  // Any other value, a list of maps or strings included, is written as str() writes it (EMQX 5.x:
  // str_utf8([#{a => 1}, #{<<"你好👋"/utf8>> => 1}]) is the JSON text).
  return toTextWithin(v, maxSize, 'function str_utf8()');
}

function isCodePointList(v: readonly SqlValue[]): v is number[] {
  for (const c of v) {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

function isEmpty(v: SqlValue): boolean {
  if (v === '' || (Buffer.isBuffer(v) && v.length === 0)) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isMap(v)) return Object.keys(v).length === 0;
  return Object.keys(toMap('is_empty', 1, v)).length === 0;
}

export const CONVERSION_FUNCTIONS: readonly FunctionDef[] = [
  predicate('is_null', (v) => v === undefined),
  predicate('is_not_null', (v) => v !== undefined),
  predicate('is_null_var', (v) => v === undefined || v === null),
  predicate('is_not_null_var', (v) => v !== undefined && v !== null),
  predicate('is_str', (v) => typeof v === 'string' || Buffer.isBuffer(v)),
  predicate('is_bool', (v) => typeof v === 'boolean'),
  predicate('is_int', (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint'),
  predicate('is_float', isFloatValue),
  predicate('is_num', (v) => typeof v === 'number' || typeof v === 'bigint' || v instanceof SqlFloat),
  predicate('is_map', (v) => isMap(v)),
  predicate('is_array', (v) => Array.isArray(v)),
  ['is_empty', 1, 1, (args) => isEmpty(args[0])],
  // A map or list is written as JSON, bounded by the engine's maxStringSize while it is encoded.
  ['str', 1, 1, (args, ctx) => toTextWithin(args[0], limitsOf(ctx).maxStringSize, 'function str()')],
  ['str_utf8', 1, 1, (args, ctx) => strUtf8(args[0], limitsOf(ctx).maxStringSize)],
  [
    'str_utf16_le',
    1,
    1,
    (args, ctx) => {
      const s = toText(args[0]);
      checkStringSize('str_utf16_le', s.length * 2, limitsOf(ctx));
      return Buffer.from(s, 'utf16le');
    },
  ],
  ['int', 1, 1, (args) => toInt('int', args[0])],
  [
    'float',
    1,
    2,
    (args) => {
      const n = toFloatNumber('float', args[0]);
      if (args.length === 1) return makeFloat(n);
      const decimals = integer('float', 2, args[1]);
      if (decimals <= 0) return badArg('float', 2, 'a positive integer', args[1]);
      // float_to_list(F, [{decimals, D}]) then list_to_float: round to D decimals.
      return makeFloat(Number(n.toFixed(Math.min(decimals, 100))));
    },
  ],
  [
    'float2str',
    2,
    2,
    (args) => {
      const f = args[0];
      const decimals = integer('float2str', 2, args[1]);
      if (decimals < 0 || decimals > 253) return badArg('float2str', 2, 'an integer in 0..253', args[1]);
      if (!isFloatValue(f)) return badArg('float2str', 1, 'a float', f);
      const n = typeof f === 'number' ? f : (f as SqlFloat).value;
      return formatFixed(n, Math.min(decimals, 100));
    },
  ],
  ['bool', 1, 1, (args) => toBool(args[0])],
  ['map', 1, 1, (args) => toMap('map', 1, args[0])],
  [
    'bin2hexstr',
    1,
    2,
    (args, ctx) => hexOf('bin2hexstr', bytes('bin2hexstr', 1, args[0]), args.length === 2 ? text('bin2hexstr', 2, args[1]) : '', ctx),
  ],
  ['sqlserver_bin2hexstr', 1, 1, (args, ctx) => hexOf('sqlserver_bin2hexstr', bytes('sqlserver_bin2hexstr', 1, args[0]), '0x', ctx)],
  ['hexstr2bin', 1, 2, (args) => hexToBytes('hexstr2bin', args)],
];

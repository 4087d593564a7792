import { intOf, type SqlValue } from '../values';
import { badArg, fnError, integer, option, text, type FunctionDef } from './args';
import { stateOf, type LocalOffset } from './state';

/**
 * Date and time functions (RULE-SQL.md §8.9). Epoch values are integers in a unit; 'nanosecond' epochs
 * exceed 2^53, so they lose their last digits as JS numbers (BigInt is used inside).
 * "Local" means the offset of this process's time zone at the instant concerned (TZ of the process).
 */

type Unit = 'second' | 'millisecond' | 'microsecond' | 'nanosecond';
const UNITS: readonly Unit[] = ['second', 'millisecond', 'microsecond', 'nanosecond'];
const PER_SECOND: Readonly<Record<Unit, bigint>> = {
  second: 1n,
  millisecond: 1000n,
  microsecond: 1_000_000n,
  nanosecond: 1_000_000_000n,
};
const FRACTION_DIGITS: Readonly<Record<Unit, number>> = { second: 0, millisecond: 3, microsecond: 6, nanosecond: 9 };

function unit(name: string, position: number, v: SqlValue): Unit {
  return option(name, position, v, UNITS);
}

// Wall clock with sub-millisecond digits: the milliseconds are Date.now()'s own (anchoring hrtime once would
// drift from the wall clock as the system clock is adjusted), the digits below come from hrtime.
function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

function nowIn(u: Unit): bigint {
  return floorDiv(nowNs() * PER_SECOND[u], 1_000_000_000n);
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}


const OFFSET_TEXT = /^([+-])(\d{2}):?(\d{2})(?::(\d{2}))?$/;

/** emqx_utils_calendar:offset_second/1. */
export function offsetSeconds(name: string, local: LocalOffset, v: SqlValue, atEpochSeconds?: number): number {
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const s = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
  if (s === 'Z' || s === 'z') return 0;
  if (s === 'local') return local(Math.floor(atEpochSeconds ?? Date.now() / 1000));
  const m = s === undefined ? null : OFFSET_TEXT.exec(s);
  if (m === null) return badArg(name, 2, "a time offset ('Z', '+08:00', '-0330', 'local' or seconds)", v);
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  const seconds = Number(m[4] ?? 0);
  if (hours > 23 || minutes > 59 || seconds > 59) return badArg(name, 2, 'a valid time offset', v);
  const total = hours * 3600 + minutes * 60 + seconds;
  return m[1] === '-' ? -total : total;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function utcFields(epochSeconds: number): Fields {
  const d = new Date(epochSeconds * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

function offsetText(seconds: number, style: 'z' | ':z' | '::z'): string {
  const sign = seconds < 0 ? '-' : '+';
  const a = Math.abs(seconds);
  const hh = pad(Math.floor(a / 3600), 2);
  const mm = pad(Math.floor((a % 3600) / 60), 2);
  const ss = pad(a % 60, 2);
  if (style === 'z') return `${sign}${hh}${mm}`;
  if (style === ':z') return `${sign}${hh}:${mm}`;
  return `${sign}${hh}:${mm}:${ss}`;
}

/** Splits an epoch in a unit into whole seconds and the nanoseconds past them. */
function split(epoch: bigint, u: Unit): { seconds: number; nanos: bigint } {
  const per = PER_SECOND[u];
  const seconds = floorDiv(epoch, per);
  const rest = epoch - seconds * per;
  return { seconds: Number(seconds), nanos: (rest * 1_000_000_000n) / per };
}

/** RFC 3339 text of an epoch at an offset, with as many fraction digits as the unit has. */
function rfc3339(epoch: bigint, u: Unit, local: LocalOffset): string {
  const { seconds, nanos } = split(epoch, u);
  const off = local(seconds);
  const f = utcFields(seconds + off);
  const digits = FRACTION_DIGITS[u];
  const fraction = digits === 0 ? '' : `.${nanos.toString().padStart(9, '0').slice(0, digits)}`;
  return `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}${fraction}${offsetText(off, ':z')}`;
}

// Offsets read from an input text never say 'local'.
const noLocal: LocalOffset = () => 0;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function rfc3339ToEpoch(name: string, s: string, u: Unit): bigint {
  const m = RFC3339.exec(s);
  if (m === null) throw fnError(name, `${JSON.stringify(s)} is not an RFC 3339 date-time`);
  const fields: Fields = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
  };
  let seconds = BigInt(fieldsToEpoch(name, fields));
  if (m[8] === undefined) {
    const off = (Number(m[10]) * 3600 + Number(m[11]) * 60) * (m[9] === '-' ? -1 : 1);
    seconds -= BigInt(off);
  }
  const fraction = m[7] ?? '';
  const nanos = BigInt((fraction + '000000000').slice(0, 9));
  return seconds * PER_SECOND[u] + (nanos * PER_SECOND[u]) / 1_000_000_000n;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function fieldsToEpoch(name: string, f: Fields): number {
  if (
    f.month < 1 ||
    f.month > 12 ||
    f.day < 1 ||
    f.day > daysInMonth(f.year, f.month) ||
    f.hour > 23 ||
    f.minute > 59 ||
    f.second > 59
  ) {
    throw fnError(name, 'invalid date or time');
  }
  const d = new Date(0);
  d.setUTCFullYear(f.year, f.month - 1, f.day);
  d.setUTCHours(f.hour, f.minute, f.second, 0);
  return d.getTime() / 1000;
}

/** The directives of format_date / date_to_unix_ts, longest first. */
const DIRECTIVES = ['%::z', '%:z', '%6N', '%3N', '%Y', '%m', '%d', '%H', '%M', '%S', '%N', '%z'] as const;
type Directive = (typeof DIRECTIVES)[number];
type FormatPart = Directive | { readonly literal: string };

const formatCache = new Map<string, FormatPart[]>();

function parseFormat(fmt: string): FormatPart[] {
  let parts = formatCache.get(fmt);
  if (parts !== undefined) return parts;
  parts = [];
  let i = 0;
  while (i < fmt.length) {
    const d = fmt[i] === '%' ? DIRECTIVES.find((x) => fmt.startsWith(x, i)) : undefined;
    if (d !== undefined) {
      parts.push(d);
      i += d.length;
    } else {
      const ch = String.fromCodePoint(fmt.codePointAt(i) as number);
      parts.push({ literal: ch });
      i += ch.length;
    }
  }
  if (formatCache.size > 256) formatCache.clear();
  formatCache.set(fmt, parts);
  return parts;
}

function formatDate(name: string, local: LocalOffset, u: Unit, offsetArg: SqlValue, fmt: string, epoch: bigint): string {
  const { seconds, nanos } = split(epoch, u);
  const offset = offsetSeconds(name, local, offsetArg, seconds);
  const f = utcFields(seconds + offset);
  let out = '';
  for (const part of parseFormat(fmt)) {
    if (typeof part !== 'string') {
      out += part.literal;
      continue;
    }
    switch (part) {
      case '%Y':
        out += pad(f.year, 4);
        break;
      case '%m':
        out += pad(f.month, 2);
        break;
      case '%d':
        out += pad(f.day, 2);
        break;
      case '%H':
        out += pad(f.hour, 2);
        break;
      case '%M':
        out += pad(f.minute, 2);
        break;
      case '%S':
        out += pad(f.second, 2);
        break;
      case '%N':
        out += nanos.toString().padStart(9, '0');
        break;
      case '%6N':
        out += nanos.toString().padStart(9, '0').slice(0, 6);
        break;
      case '%3N':
        out += nanos.toString().padStart(9, '0').slice(0, 3);
        break;
      case '%z':
        out += offsetText(offset, 'z');
        break;
      case '%:z':
        out += offsetText(offset, ':z');
        break;
      default:
        out += offsetText(offset, '::z');
    }
  }
  return out;
}

const WIDTH: Readonly<Record<Directive, number>> = {
  '%Y': 4,
  '%m': 2,
  '%d': 2,
  '%H': 2,
  '%M': 2,
  '%S': 2,
  '%N': 9,
  '%6N': 6,
  '%3N': 3,
  '%z': 5,
  '%:z': 6,
  '%::z': 9,
};

/**
 * Parses S with the format: each directive reads a fixed width, each literal character skips one input
 * character without comparing it, and parsing stops silently at the end of the input. Without an
 * offset in the input the time is UTC.
 */
function parseDate(name: string, u: Unit, fmt: string, s: string): bigint {
  return parseDateWithOffset(name, u, fmt, s).epoch;
}

/** parseDate, also saying whether the input carried its own offset (%z, %:z or %::z). */
function parseDateWithOffset(name: string, u: Unit, fmt: string, s: string): { epoch: bigint; hasOffset: boolean } {
  const values = new Map<Directive, string>();
  let pos = 0;
  for (const part of parseFormat(fmt)) {
    if (pos >= s.length) break;
    if (typeof part !== 'string') {
      pos += part.literal.length;
      continue;
    }
    values.set(part, s.slice(pos, pos + WIDTH[part]));
    pos += WIDTH[part];
  }
  const num = (d: Directive, label: string): number => {
    const t = values.get(d);
    if (t === undefined || !/^\d+$/.test(t)) throw fnError(name, `the input has no valid ${label} for ${d}`);
    return Number(t);
  };
  const fields: Fields = {
    year: num('%Y', 'year'),
    month: num('%m', 'month'),
    day: num('%d', 'day'),
    hour: num('%H', 'hour'),
    minute: num('%M', 'minute'),
    second: num('%S', 'second'),
  };
  let seconds = BigInt(fieldsToEpoch(name, fields));
  let hasOffset = false;
  for (const d of ['%z', '%:z', '%::z'] as const) {
    const t = values.get(d);
    if (t !== undefined) {
      seconds -= BigInt(offsetSeconds(name, noLocal, t));
      hasOffset = true;
    }
  }
  let nanos = 0n;
  const fraction = values.get('%N') ?? values.get('%6N') ?? values.get('%3N');
  if (fraction !== undefined) {
    if (!/^\d+$/.test(fraction)) throw fnError(name, 'the input has no valid fraction of a second');
    nanos = BigInt((fraction + '000000000').slice(0, 9));
  }
  return { epoch: seconds * PER_SECOND[u] + (nanos * PER_SECOND[u]) / 1_000_000_000n, hasOffset };
}

/** An epoch in any unit, exact: nanosecond epochs are beyond 2^53 (bigints, values.ts). */
function epochArg(name: string, position: number, v: SqlValue): bigint {
  return typeof v === 'bigint' ? v : BigInt(integer(name, position, v));
}

/** An epoch result in the canonical integer form: a nanosecond epoch stays exact as a bigint. */
function toNumber(n: bigint): number | bigint {
  return intOf(n);
}

export const DATETIME_FUNCTIONS: readonly FunctionDef[] = [
  [
    'now_timestamp',
    0,
    1,
    (args) => toNumber(nowIn(args.length === 1 ? unit('now_timestamp', 1, args[0]) : 'second')),
  ],
  [
    'now_rfc3339',
    0,
    1,
    (args, ctx) => {
      const u = args.length === 1 ? unit('now_rfc3339', 1, args[0]) : 'second';
      return rfc3339(nowIn(u), u, stateOf(ctx).localOffset);
    },
  ],
  [
    'unix_ts_to_rfc3339',
    1,
    2,
    (args, ctx) => {
      const u = args.length === 2 ? unit('unix_ts_to_rfc3339', 2, args[1]) : 'second';
      return rfc3339(epochArg('unix_ts_to_rfc3339', 1, args[0]), u, stateOf(ctx).localOffset);
    },
  ],
  [
    'rfc3339_to_unix_ts',
    1,
    2,
    (args) => {
      const u = args.length === 2 ? unit('rfc3339_to_unix_ts', 2, args[1]) : 'second';
      return toNumber(rfc3339ToEpoch('rfc3339_to_unix_ts', text('rfc3339_to_unix_ts', 1, args[0]), u));
    },
  ],
  [
    'format_date',
    3,
    4,
    (args, ctx) => {
      const u = unit('format_date', 1, args[0]);
      const fmt = text('format_date', 3, args[2]);
      const epoch = args.length === 4 ? epochArg('format_date', 4, args[3]) : nowIn(u);
      return formatDate('format_date', stateOf(ctx).localOffset, u, args[1], fmt, epoch);
    },
  ],
  [
    'date_to_unix_ts',
    3,
    4,
    (args, ctx) => {
      const u = unit('date_to_unix_ts', 1, args[0]);
      if (args.length === 3) {
        return toNumber(parseDate('date_to_unix_ts', u, text('date_to_unix_ts', 2, args[1]), text('date_to_unix_ts', 3, args[2])));
      }
      const { epoch, hasOffset } = parseDateWithOffset('date_to_unix_ts', u, text('date_to_unix_ts', 3, args[2]), text('date_to_unix_ts', 4, args[3]));
      // An offset written in the date wins over the argument (EMQX: format_date's output with %z, read
      // back with the same arguments, gives the epoch it was made from).
      if (hasOffset) return toNumber(epoch);
      const offset = BigInt(offsetSeconds('date_to_unix_ts', stateOf(ctx).localOffset, args[1], Number(epoch / PER_SECOND[u])));
      return toNumber(epoch - offset * PER_SECOND[u]);
    },
  ],
  ['timezone_to_offset_seconds', 1, 1, (args, ctx) => offsetSeconds('timezone_to_offset_seconds', stateOf(ctx).localOffset, args[0])],
  ['timezone_to_second', 1, 1, (args, ctx) => offsetSeconds('timezone_to_second', stateOf(ctx).localOffset, args[0])],
  [
    'mongo_date',
    0,
    2,
    // EMQX returns a MongoDB date tuple for its MongoDB action; its SQL tester shows this string form,
    // which is what a JSON-producing action can carry.
    (args) => {
      let ms: bigint;
      if (args.length === 0) ms = nowIn('millisecond');
      else if (args.length === 1) ms = epochArg('mongo_date', 1, args[0]);
      else {
        const u = unit('mongo_date', 2, args[1]);
        ms = floorDiv(epochArg('mongo_date', 1, args[0]) * 1000n, PER_SECOND[u]);
      }
      // A JS Date spans ±8.64e15 ms (about 275,000 years); toISOString throws a RangeError past it.
      if (ms > 8_640_000_000_000_000n || ms < -8_640_000_000_000_000n) throw fnError('mongo_date', `the time ${ms} ms is out of the range of dates`);
      const iso = new Date(Number(ms)).toISOString();
      return `ISODate(${iso})`;
    },
  ],
];



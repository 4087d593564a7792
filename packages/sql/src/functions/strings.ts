import { encodeJson } from '../json';
import { SqlFloat, compareStrings, formatFixed, isMap, toText, type SqlMap, type SqlValue } from '../values';
import { badArg, fnError, integer, list, option, text, type FunctionDef } from './args';
import { toMap } from './maps';
import { regexExtract, regexMatch, regexReplace } from './regex';
import { sprintf } from './sprintf';
import { graphemeCount, graphemes, trimUnits } from './text-units';
import { unescape } from './unescape';

/** String functions (RULE-SQL.md §8.4): UTF-8 aware, positions and lengths count grapheme clusters. */

type SplitMode = 'notrim' | 'leading' | 'trailing' | 'leading_notrim' | 'trailing_notrim';
const SPLIT_MODES: readonly SplitMode[] = ['notrim', 'leading', 'trailing', 'leading_notrim', 'trailing_notrim'];

function split(args: readonly SqlValue[]): SqlValue {
  const s = text('split', 1, args[0]);
  const sep = text('split', 2, args[1]);
  const mode: SplitMode | 'all' = args.length === 3 ? option('split', 3, args[2], SPLIT_MODES) : 'all';
  let parts: string[];
  if (sep === '') {
    parts = [s];
  } else if (mode === 'all' || mode === 'notrim') {
    parts = s.split(sep);
  } else {
    const at = mode.startsWith('leading') ? s.indexOf(sep) : s.lastIndexOf(sep);
    parts = at === -1 ? [s] : [s.slice(0, at), s.slice(at + sep.length)];
  }
  return mode.endsWith('notrim') ? parts : parts.filter((p) => p !== '');
}

/** string:lexemes/2: split on any of the separator characters; CRLF is one unit, a separator only if listed as such. */
function tokens(args: readonly SqlValue[]): SqlValue {
  const s = text('tokens', 1, args[0]);
  const seps = new Set(Array.from(text('tokens', 2, args[1])));
  if (args.length === 3) {
    option('tokens', 3, args[2], ['nocrlf']);
    seps.add('\r').add('\n').add('\r\n');
  }
  const out: string[] = [];
  let current = '';
  const units = Array.from(s);
  for (let i = 0; i < units.length; i++) {
    let unit = units[i] as string;
    if (unit === '\r' && units[i + 1] === '\n') {
      unit = '\r\n';
      i++;
    }
    if (seps.has(unit)) {
      if (current !== '') out.push(current);
      current = '';
    } else current += unit;
  }
  if (current !== '') out.push(current);
  return out;
}

type PadMode = 'trailing' | 'leading' | 'both';

function pad(args: readonly SqlValue[]): SqlValue {
  const s = text('pad', 1, args[0]);
  const len = integer('pad', 2, args[1]);
  const mode: PadMode = args.length >= 3 ? option('pad', 3, args[2], ['trailing', 'leading', 'both'] as const) : 'trailing';
  // A multi-character pad string counts as one unit (string:pad/4 takes one grapheme cluster).
  const unit = args.length === 4 ? text('pad', 4, args[3]) : ' ';
  const missing = len - graphemeCount(s);
  if (missing <= 0) return s;
  switch (mode) {
    case 'trailing':
      return s + unit.repeat(missing);
    case 'leading':
      return unit.repeat(missing) + s;
    default: {
      const left = Math.floor(missing / 2);
      return unit.repeat(left) + s + unit.repeat(missing - left);
    }
  }
}

function replace(args: readonly SqlValue[]): SqlValue {
  const s = text('replace', 1, args[0]);
  const old = text('replace', 2, args[1]);
  const rep = text('replace', 3, args[2]);
  const where = args.length === 4 ? option('replace', 4, args[3], ['all', 'leading', 'trailing'] as const) : 'all';
  if (old === '') return s;
  if (where === 'all') return s.split(old).join(rep);
  const at = where === 'leading' ? s.indexOf(old) : s.lastIndexOf(old);
  return at === -1 ? s : s.slice(0, at) + rep + s.slice(at + old.length);
}

function find(args: readonly SqlValue[]): SqlValue {
  const s = text('find', 1, args[0]);
  const sub = text('find', 2, args[1]);
  const where = args.length === 3 ? option('find', 3, args[2], ['leading', 'trailing'] as const) : 'leading';
  if (sub === '') return s;
  const at = where === 'leading' ? s.indexOf(sub) : s.lastIndexOf(sub);
  return at === -1 ? '' : s.slice(at);
}

function substr(args: readonly SqlValue[]): SqlValue {
  const s = text('substr', 1, args[0]);
  const start = integer('substr', 2, args[1]);
  if (start < 0) return badArg('substr', 2, 'a non-negative integer', args[1]);
  let len = Infinity;
  if (args.length === 3) {
    len = integer('substr', 3, args[2]);
    if (len < 0) return badArg('substr', 3, 'a non-negative integer', args[2]);
  }
  if (/^[\x00-\x7f]*$/.test(s) && !s.includes('\r\n')) return s.substr(start, len);
  const units = graphemes(s);
  return units.slice(start, len === Infinity ? undefined : start + len).join('');
}

/**
 * emqx_placeholder:quote_sql: numbers bare, undefined as NULL, everything else quoted with ' doubled
 * (and \ escaped): strings, atoms such as true/null by name, lists and maps as JSON.
 */
function sqlLiteral(v: SqlValue): string {
  if (v === undefined) return 'NULL';
  if (typeof v === 'number' || v instanceof SqlFloat) return toText(v);
  const s = Array.isArray(v) || isMap(v) ? encodeJson(v) : toText(v);
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Redis HSET arguments: string keys, values that are strings, integers, floats (6 decimals) or booleans. */
function redisHsetArgs(args: readonly SqlValue[]): SqlValue {
  // Anything that is not a map (or a JSON object string) gives no arguments, as in EMQX.
  let m: SqlMap;
  if (isMap(args[0])) m = args[0];
  else {
    try {
      m = toMap('map_to_redis_hset_args', 1, args[0]);
    } catch {
      return [];
    }
  }
  const out: string[] = [];
  for (const key of Object.keys(m).sort(compareStrings)) {
    const v = m[key];
    let field: string | undefined;
    if (typeof v === 'string') field = v;
    else if (Buffer.isBuffer(v)) field = v.toString('utf8');
    else if (typeof v === 'number') field = Number.isInteger(v) ? toText(v) : formatFixed(v, 6);
    else if (v instanceof SqlFloat) field = formatFixed(v.value, 6);
    else if (typeof v === 'boolean') field = String(v);
    if (field !== undefined) out.push(key, field);
  }
  return out;
}

function ascii(args: readonly SqlValue[]): SqlValue {
  const s = args[0];
  if (typeof s === 'string' && s.length > 0 && s.charCodeAt(0) < 128) return s.charCodeAt(0);
  const b = Buffer.isBuffer(s) ? s : typeof s === 'string' ? Buffer.from(s, 'utf8') : badArg('ascii', 1, 'a string', s);
  if (b.length === 0) throw fnError('ascii', 'argument 1 is an empty string');
  return b[0] as number;
}

export const STRING_FUNCTIONS: readonly FunctionDef[] = [
  ['lower', 1, 1, (args) => text('lower', 1, args[0]).toLowerCase()],
  ['upper', 1, 1, (args) => text('upper', 1, args[0]).toUpperCase()],
  ['trim', 1, 1, (args) => trimUnits(text('trim', 1, args[0]), true, true)],
  ['ltrim', 1, 1, (args) => trimUnits(text('ltrim', 1, args[0]), true, false)],
  [
    'rtrim',
    1,
    2,
    (args) => {
      const s = text('rtrim', 1, args[0]);
      if (args.length === 1) return trimUnits(s, false, true);
      return trimUnits(s, false, true, new Set(graphemes(text('rtrim', 2, args[1]))));
    },
  ],
  ['reverse', 1, 1, (args) => graphemes(text('reverse', 1, args[0])).reverse().join('')],
  ['strlen', 1, 1, (args) => graphemeCount(text('strlen', 1, args[0]))],
  ['substr', 2, 3, substr],
  [
    'rm_prefix',
    2,
    2,
    (args) => {
      const s = text('rm_prefix', 1, args[0]);
      const prefix = text('rm_prefix', 2, args[1]);
      return s.startsWith(prefix) ? s.slice(prefix.length) : s;
    },
  ],
  [
    'concat',
    1,
    2,
    (args) => {
      if (args.length === 2) return toText(args[0]) + toText(args[1]);
      return list('concat', 1, args[0]).map(toText).join('');
    },
  ],
  ['split', 2, 3, split],
  ['tokens', 2, 3, tokens],
  ['pad', 2, 4, pad],
  ['replace', 3, 4, replace],
  ['regex_match', 2, 2, (args) => regexMatch(text('regex_match', 1, args[0]), text('regex_match', 2, args[1]))],
  [
    'regex_replace',
    3,
    3,
    (args) =>
      regexReplace(text('regex_replace', 1, args[0]), text('regex_replace', 2, args[1]), text('regex_replace', 3, args[2])),
  ],
  ['regex_extract', 2, 2, (args) => regexExtract(text('regex_extract', 1, args[0]), text('regex_extract', 2, args[1]))],
  ['ascii', 1, 1, ascii],
  ['find', 2, 3, find],
  [
    'join_to_string',
    1,
    2,
    (args) => {
      if (args.length === 1) return list('join_to_string', 1, args[0]).map(toText).join(', ');
      const sep = text('join_to_string', 1, args[0]);
      return list('join_to_string', 2, args[1]).map(toText).join(sep);
    },
  ],
  [
    'join_to_sql_values_string',
    1,
    1,
    (args) => list('join_to_sql_values_string', 1, args[0]).map(sqlLiteral).join(', '),
  ],
  ['map_to_redis_hset_args', 1, 1, redisHsetArgs],
  ['sprintf', 1, Infinity, (args) => sprintf('sprintf', text('sprintf', 1, args[0]), args.slice(1))],
  [
    'sprintf_s',
    2,
    2,
    (args) => sprintf('sprintf_s', text('sprintf_s', 1, args[0]), list('sprintf_s', 2, args[1])),
  ],
  ['unescape', 1, 1, (args) => unescape(text('unescape', 1, args[0]))],
];

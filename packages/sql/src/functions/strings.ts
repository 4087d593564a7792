import { encodeJson } from '../json';
import { SqlFloat, compareStrings, formatFixed, isMap, toText, type SqlMap, type SqlValue } from '../values';
import { checkListLength, checkStringSize, type EvaluationLimits } from '../limits';
import { badArg, fnError, integer, list, option, text, type FunctionDef, type Specializer } from './args';
import { toMap } from './maps';
import { type Pattern, type Replacement, literalPattern, parseReplacement, patternOf, regexExtract, regexMatch, regexReplace } from './regex';
import { sprintf } from './sprintf';
import { graphemeCount, graphemes, trimUnits } from './text-units';
import { limitsOf } from './state';
import type { FunctionContext, SqlFunction } from './types';
import { unescape } from './unescape';

/** String functions (RULE-SQL.md §8.4): UTF-8 aware, positions and lengths count grapheme clusters. */

type SplitMode = 'notrim' | 'leading' | 'trailing' | 'leading_notrim' | 'trailing_notrim';
const SPLIT_MODES: readonly SplitMode[] = ['notrim', 'leading', 'trailing', 'leading_notrim', 'trailing_notrim'];

function split(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const s = text('split', 1, args[0]);
  const sep = text('split', 2, args[1]);
  const mode: SplitMode | 'all' = args.length === 3 ? option('split', 3, args[2], SPLIT_MODES) : 'all';
  if (sep === '') return mode.endsWith('notrim') || s !== '' ? [s] : [];
  if (mode === 'all' || mode === 'notrim') return splitAll(s, sep, mode === 'notrim', limitsOf(ctx));
  const at = mode.startsWith('leading') ? s.indexOf(sep) : s.lastIndexOf(sep);
  const parts = at === -1 ? [s] : [s.slice(0, at), s.slice(at + sep.length)];
  return mode.endsWith('notrim') ? parts : parts.filter((p) => p !== '');
}

/**
 * Every part between separators (empty ones only when `keepEmpty`), refused as soon as there are more
 * than maxListLength: the over-long list is never built (a split of a decompressed payload into
 * millions of items once took V8 down).
 */
function splitAll(s: string, sep: string, keepEmpty: boolean, limits: EvaluationLimits): string[] {
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const at = s.indexOf(sep, from);
    const part = at === -1 ? s.slice(from) : s.slice(from, at);
    if (keepEmpty || part !== '') {
      out.push(part);
      if (out.length > limits.maxListLength) checkListLength('split', out.length, limits);
    }
    if (at === -1) return out;
    from = at + sep.length;
  }
}

/** string:lexemes/2: split on any of the separator characters; CRLF is one unit, a separator only if listed as such. */
function tokens(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const s = text('tokens', 1, args[0]);
  const seps = new Set(Array.from(text('tokens', 2, args[1])));
  if (args.length === 3) {
    option('tokens', 3, args[2], ['nocrlf']);
    seps.add('\r').add('\n').add('\r\n');
  }
  const limits = limitsOf(ctx);
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
      if (current !== '') {
        out.push(current);
        if (out.length > limits.maxListLength) checkListLength('tokens', out.length, limits);
      }
      current = '';
    } else current += unit;
  }
  if (current !== '') out.push(current);
  checkListLength('tokens', out.length, limits);
  return out;
}

type PadMode = 'trailing' | 'leading' | 'both';

function pad(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const s = text('pad', 1, args[0]);
  const len = integer('pad', 2, args[1]);
  const mode: PadMode = args.length >= 3 ? option('pad', 3, args[2], ['trailing', 'leading', 'both'] as const) : 'trailing';
  // A multi-character pad string counts as one unit (string:pad/4 takes one grapheme cluster).
  const unit = args.length === 4 ? text('pad', 4, args[3]) : ' ';
  if (len <= 0) return s;
  // Checked before counting or repeating anything: the width comes from data (pad(s, 1e9) is 23 bytes).
  checkStringSize('pad', len * unit.length, limitsOf(ctx));
  const missing = len - graphemeCount(s);
  if (missing <= 0) return s;
  checkStringSize('pad', s.length + missing * unit.length, limitsOf(ctx));
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

function replace(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const s = text('replace', 1, args[0]);
  const old = text('replace', 2, args[1]);
  const rep = text('replace', 3, args[2]);
  const where = args.length === 4 ? option('replace', 4, args[3], ['all', 'leading', 'trailing'] as const) : 'all';
  if (old === '') return s;
  if (where === 'all') {
    const parts = s.split(old);
    checkStringSize('replace', s.length + (parts.length - 1) * (rep.length - old.length), limitsOf(ctx));
    return parts.join(rep);
  }
  const at = where === 'leading' ? s.indexOf(old) : s.lastIndexOf(old);
  if (at === -1) return s;
  checkStringSize('replace', s.length - old.length + rep.length, limitsOf(ctx));
  return s.slice(0, at) + rep + s.slice(at + old.length);
}

/** Texts joined with a separator, refused before joining when the result would pass maxStringSize. */
function joinTexts(name: string, texts: readonly string[], sep: string, ctx: FunctionContext): string {
  let size = texts.length > 0 ? (texts.length - 1) * sep.length : 0;
  for (const t of texts) size += t.length;
  checkStringSize(name, size, limitsOf(ctx));
  return texts.join(sep);
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

/** The pattern argument of a regex_* call whose pattern comes from data (compiled and cached). */
function pattern(name: string, v: SqlValue): Pattern {
  return patternOf(name, undefined, text(name, 2, v));
}

const specializeMatch: Specializer = (syntax) => {
  const re = literalPattern('regex_match', syntax[1]);
  return re === undefined ? undefined : (args) => regexMatch(text('regex_match', 1, args[0]), re);
};

const specializeExtract: Specializer = (syntax) => {
  const re = literalPattern('regex_extract', syntax[1]);
  return re === undefined ? undefined : (args) => regexExtract(text('regex_extract', 1, args[0]), re);
};

/** regex_replace with its pattern and/or replacement fixed by the call site (undefined: read per call). */
function regexReplaceFn(re: Pattern | undefined, replacement: Replacement | undefined): SqlFunction {
  return (args, ctx) =>
    regexReplace(
      text('regex_replace', 1, args[0]),
      re ?? patternOf('regex_replace', undefined, text('regex_replace', 2, args[1])),
      replacement ?? parseReplacement(text('regex_replace', 3, args[2])),
      limitsOf(ctx),
    );
}

const specializeReplace: Specializer = (syntax) => {
  const re = literalPattern('regex_replace', syntax[1]);
  const rep = syntax[2];
  const replacement = rep?.type === 'const' && typeof rep.value === 'string' ? parseReplacement(rep.value) : undefined;
  return re === undefined && replacement === undefined ? undefined : regexReplaceFn(re, replacement);
};

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
    (args, ctx) => {
      if (args.length === 1) return joinTexts('concat', list('concat', 1, args[0]).map(toText), '', ctx);
      const a = toText(args[0]);
      const b = toText(args[1]);
      // Nested concats double their input at each level: each result is checked.
      checkStringSize('concat', a.length + b.length, limitsOf(ctx));
      return a + b;
    },
  ],
  ['split', 2, 3, split],
  ['tokens', 2, 3, tokens],
  ['pad', 2, 4, pad],
  ['replace', 3, 4, replace],
  ['regex_match', 2, 2, (args) => regexMatch(text('regex_match', 1, args[0]), pattern('regex_match', args[1])), specializeMatch],
  ['regex_replace', 3, 3, regexReplaceFn(undefined, undefined), specializeReplace],
  ['regex_extract', 2, 2, (args) => regexExtract(text('regex_extract', 1, args[0]), pattern('regex_extract', args[1])), specializeExtract],
  ['ascii', 1, 1, ascii],
  ['find', 2, 3, find],
  [
    'join_to_string',
    1,
    2,
    (args, ctx) => {
      if (args.length === 1) return joinTexts('join_to_string', list('join_to_string', 1, args[0]).map(toText), ', ', ctx);
      const sep = text('join_to_string', 1, args[0]);
      return joinTexts('join_to_string', list('join_to_string', 2, args[1]).map(toText), sep, ctx);
    },
  ],
  [
    'join_to_sql_values_string',
    1,
    1,
    (args, ctx) => joinTexts('join_to_sql_values_string', list('join_to_sql_values_string', 1, args[0]).map(sqlLiteral), ', ', ctx),
  ],
  ['map_to_redis_hset_args', 1, 1, redisHsetArgs],
  ['sprintf', 1, Infinity, (args, ctx) => sprintf('sprintf', text('sprintf', 1, args[0]), args.slice(1), limitsOf(ctx))],
  [
    'sprintf_s',
    2,
    2,
    (args, ctx) => sprintf('sprintf_s', text('sprintf_s', 1, args[0]), list('sprintf_s', 2, args[1]), limitsOf(ctx)),
  ],
  ['unescape', 1, 1, (args) => unescape(text('unescape', 1, args[0]))],
];

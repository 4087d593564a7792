import { RE2JS } from 're2js';
import type { Expr } from '../ast';
import { LiteralSyntaxError, checkStringSize, type EvaluationLimits } from '../limits';
import { fnError } from './args';

/**
 * regex_* run PCRE in EMQX (Erlang `re`, with a match limit against runaway backtracking). Here they run
 * RE2 (the re2js port): matching takes time linear in the input whatever the pattern, so no message
 * (nor a pattern taken from one) can stall the event loop. RE2 has no backreferences, lookaround,
 * possessive quantifiers, atomic groups, `\K`, recursion or conditionals: a pattern using them is an
 * error (docs/sql-functions.md, "Regular expressions"). PCRE's `\Z` (end, or before a final newline)
 * is translated, since RE2 only knows `\z`. Matching is by Unicode code point, where Erlang's `re`
 * without the unicode option matches bytes: results differ only for `.`/classes meeting non-ASCII text.
 *
 * Measured (packages/sql/bench, docs/sql-functions.md): 0.2-1 µs per match on ordinary patterns, and
 * below 1 ms on the catastrophic ones (`^(a+)+$`, `(a|a)+$`, `(.*a){20}$`) against 1 KiB of input.
 */

/** A compiled pattern; compiled once per rule for a literal pattern, else found in the bounded cache. */
export type Pattern = RE2JS;

/** The message of a pattern RE2 refuses, or undefined when it compiles. */
function tryCompile(pattern: string): Pattern | string {
  try {
    return RE2JS.compile(translate(pattern));
  } catch (error) {
    return `invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}` +
      ' (patterns use RE2 syntax: no backreferences, lookahead/lookbehind, possessive quantifiers or atomic groups)';
  }
}

/** PCRE spellings RE2 lacks, rewritten: `\Z` (end of input, or before a final newline). `\\` is skipped. */
function translate(pattern: string): string {
  if (!pattern.includes('\\Z')) return pattern;
  return pattern.replace(/\\\\|\\Z/g, (m) => (m === '\\Z' ? '(?:\\n?\\z)' : m));
}

/*
 * Patterns that come from data (`regex_match(payload.s, payload.p)`) are compiled per distinct pattern
 * and kept in a small LRU: a rule usually sees a handful of patterns, and a device sending a new one
 * per message only costs compilations (each linear in the pattern), never unbounded memory.
 */
const cache = new Map<string, Pattern>();
const CACHE_LIMIT = 256;

function dynamicPattern(name: string, pattern: string): Pattern {
  let re = cache.get(pattern);
  if (re !== undefined) {
    // Most recently used last: Map keeps insertion order.
    cache.delete(pattern);
    cache.set(pattern, re);
    return re;
  }
  const compiled = tryCompile(pattern);
  if (typeof compiled === 'string') throw fnError(name, compiled);
  re = compiled;
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, re);
  return re;
}

/** How many dynamic patterns are cached (for tests of the bound). */
export function cachedPatternCount(): number {
  return cache.size;
}

/**
 * The pattern of a call site when the SQL gives it as a string literal: compiled once, at compile time,
 * where a pattern RE2 refuses is a syntax error of the rule. Undefined when the pattern comes from data.
 */
export function literalPattern(name: string, arg: Expr | undefined): Pattern | undefined {
  if (arg?.type !== 'const' || typeof arg.value !== 'string') return undefined;
  const compiled = tryCompile(arg.value);
  if (typeof compiled === 'string') throw new LiteralSyntaxError(`${name}(): ${compiled}`, arg.value);
  return compiled;
}

/** The compiled pattern of one call: the site's literal one, else the cached one for this text. */
export function patternOf(name: string, literal: Pattern | undefined, pattern: string): Pattern {
  return literal ?? dynamicPattern(name, pattern);
}

/** re:run(S, RE): true when the pattern matches anywhere in S. */
export function regexMatch(s: string, re: Pattern): boolean {
  return re.test(s);
}

/** Capture groups of the first match (groups that did not take part are ''), [] when nothing matches. */
export function regexExtract(s: string, re: Pattern): string[] {
  const m = re.matcher(s);
  if (!m.find()) return [];
  const out: string[] = [];
  const count = m.groupCount();
  for (let i = 1; i <= count; i++) out.push(m.group(i) ?? '');
  return out;
}

/** A parsed replacement: literal text, and group numbers (0 is the whole match). */
export type Replacement = readonly (string | number)[];

/**
 * re:replace(S, RE, Rep, [global]): every match replaced; in Rep `&` (or `\0`) inserts the match, `\N`,
 * `\gN`, `\g{N}` insert group N, `\&` and `\\` are a literal `&` and `\`. A group the pattern does not
 * have, or one that did not take part in the match, inserts nothing (as Erlang's re does). The result
 * is built from a list of pieces joined once (linear), and may not pass maxStringSize.
 */
export function regexReplace(s: string, re: Pattern, replacement: Replacement, limits: EvaluationLimits): string {
  const m = re.matcher(s);
  const pieces: string[] = [];
  let size = 0;
  let last = 0;
  const count = m.groupCount();
  while (m.find()) {
    const start = m.start();
    const head = s.slice(last, start);
    pieces.push(head);
    size += head.length;
    for (const part of replacement) {
      const piece = typeof part === 'string' ? part : part <= count ? (m.group(part) ?? '') : '';
      pieces.push(piece);
      size += piece.length;
    }
    if (size > limits.maxStringSize) checkStringSize('regex_replace', size, limits);
    last = m.end();
  }
  if (last === 0 && pieces.length === 0) return s;
  const tail = s.slice(last);
  checkStringSize('regex_replace', size + tail.length, limits);
  pieces.push(tail);
  return pieces.join('');
}

const GROUP_REF = /g\{(\d+)\}|g(\d+)|(\d+)/y;

/** Parses a replacement once (per call site when it is a literal), in one pass. */
export function parseReplacement(rep: string): Replacement {
  const parts: (string | number)[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') parts.push(literal);
    literal = '';
  };
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i] as string;
    if (c === '&') {
      flush();
      parts.push(0);
    } else if (c === '\\' && i + 1 < rep.length) {
      GROUP_REF.lastIndex = i + 1;
      const group = GROUP_REF.exec(rep);
      if (group !== null) {
        flush();
        // A group number too large to exist is a group the pattern does not have: it inserts nothing.
        parts.push(Math.min(Number(group[1] ?? group[2] ?? group[3]), Number.MAX_SAFE_INTEGER));
        i += group[0].length;
      } else {
        literal += rep[i + 1] as string;
        i++;
      }
    } else literal += c;
  }
  flush();
  return parts;
}

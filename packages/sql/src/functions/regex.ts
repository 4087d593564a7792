import { fnError } from './args';

/**
 * regex_* run PCRE in EMQX (Erlang `re`); here JavaScript RegExp. A few PCRE spellings are translated:
 * leading inline options `(?i)` `(?m)` `(?s)` `(?x)`-less combinations become flags, `\A` becomes `^`,
 * `\z`/`\Z` become `$`, `(?P<name>` becomes `(?<name>`. PCRE-only constructs (possessive quantifiers,
 * atomic groups, `\K`, recursion, conditionals) are not available and raise as an invalid pattern.
 * Matching is by UTF-16 code units, where Erlang's `re` without the unicode option matches bytes:
 * the results differ only for `.`/character classes meeting non-ASCII text.
 */

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 256;

function compile(name: string, pattern: string, global: boolean): RegExp {
  const key = (global ? 'g' : '-') + pattern;
  let re = cache.get(key);
  if (re !== undefined) return re;
  let flags = global ? 'g' : '';
  let source = pattern;
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline !== null) {
    for (const f of inline[1] as string) if (!flags.includes(f)) flags += f;
    source = source.slice(inline[0].length);
  }
  source = source.replace(/\\\\|\\A|\\[zZ]|\(\?P</g, (m) => {
    switch (m) {
      case '\\A':
        return '^';
      case '\\z':
      case '\\Z':
        return '$';
      case '(?P<':
        return '(?<';
      default:
        return m;
    }
  });
  try {
    re = new RegExp(source, flags);
  } catch (error) {
    throw fnError(name, `invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, re);
  return re;
}

/** re:run(S, RE): true when the pattern matches anywhere in S. */
export function regexMatch(s: string, pattern: string): boolean {
  return compile('regex_match', pattern, false).test(s);
}

/** Capture groups of the first match (groups that did not take part are ''), [] when nothing matches. */
export function regexExtract(s: string, pattern: string): string[] {
  const m = compile('regex_extract', pattern, false).exec(s);
  if (m === null) return [];
  const out: string[] = [];
  for (let i = 1; i < m.length; i++) out.push(m[i] ?? '');
  return out;
}

/**
 * re:replace(S, RE, Rep, [global]): every match replaced; in Rep `&` (or `\0`) inserts the match, `\N`,
 * `\gN`, `\g{N}` insert group N, `\&` and `\\` are a literal `&` and `\`.
 */
export function regexReplace(s: string, pattern: string, replacement: string): string {
  const re = compile('regex_replace', pattern, true);
  const parts = parseReplacement(replacement);
  re.lastIndex = 0;
  return s.replace(re, (...match: unknown[]) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') out += part;
      else {
        const group = match[part];
        out += typeof group === 'string' ? group : '';
      }
    }
    return out;
  });
}

function parseReplacement(rep: string): (string | number)[] {
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
      const rest = rep.slice(i + 1);
      const group = /^(?:g\{(\d+)\}|g(\d+)|(\d+))/.exec(rest);
      if (group !== null) {
        flush();
        parts.push(Number(group[1] ?? group[2] ?? group[3]));
        i += group[0].length;
      } else {
        literal += rest[0];
        i++;
      }
    } else literal += c;
  }
  flush();
  return parts;
}

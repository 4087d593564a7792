import { fnError } from './args';

const SIMPLE: Readonly<Record<string, string>> = {
  '\\': '\\',
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
  "'": "'",
  '"': '"',
  '?': '?',
  a: '\x07',
};

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * unescape(S): C-style escapes (`\n \t \r \b \f \v \' \" \\ \? \a`) and `\x` followed by any number of
 * hex digits (greedy, any code point). Any other escape raises, as EMQX reserves them; a backslash at the
 * very end stays as it is.
 */
export function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c !== '\\' || i === s.length - 1) {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1] as string;
    const simple = SIMPLE[next];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    if (next === 'x' && isHex(s.charCodeAt(i + 2))) {
      let j = i + 2;
      while (j < s.length && isHex(s.charCodeAt(j))) j++;
      const code = parseInt(s.slice(i + 2, j), 16);
      if (!(code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
        throw fnError('unescape', `\\x${s.slice(i + 2, j)} is not a Unicode code point`);
      }
      out += String.fromCodePoint(code);
      i = j;
      continue;
    }
    throw fnError('unescape', `unrecognized escape sequence \\${next}`);
  }
  return out;
}

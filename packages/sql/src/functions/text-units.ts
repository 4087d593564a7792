/**
 * Erlang's `string` module works on grapheme clusters (`string:length("e\u0301") = 1`, CRLF is one
 * cluster). Intl.Segmenter gives the same clusters; ASCII text (the common case) skips it.
 */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const ASCII = /^[\x00-\x7f]*$/;

export function graphemes(s: string): string[] {
  if (ASCII.test(s)) {
    if (!s.includes('\r\n')) return s.split('');
    const out: string[] = [];
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) === 13 && s.charCodeAt(i + 1) === 10) {
        out.push('\r\n');
        i++;
      } else out.push(s[i] as string);
    }
    return out;
  }
  const out: string[] = [];
  for (const { segment } of segmenter.segment(s)) out.push(segment);
  return out;
}

export function graphemeCount(s: string): number {
  if (ASCII.test(s)) {
    let crlf = 0;
    for (let i = s.indexOf('\r\n'); i !== -1; i = s.indexOf('\r\n', i + 2)) crlf++;
    return s.length - crlf;
  }
  let n = 0;
  for (const _ of segmenter.segment(s)) n++;
  return n;
}

/** Erlang's whitespace for string:trim/1 (unicode_util:whitespace/0); CRLF is one unit. */
const WHITESPACE = new Set(['\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u200e', '\u200f', '\u2028', '\u2029', '\r\n']);

export function trimUnits(s: string, leading: boolean, trailing: boolean, set: ReadonlySet<string> = WHITESPACE): string {
  const units = graphemes(s);
  let start = 0;
  let end = units.length;
  if (leading) while (start < end && set.has(units[start] as string)) start++;
  if (trailing) while (end > start && set.has(units[end - 1] as string)) end--;
  return start === 0 && end === units.length ? s : units.slice(start, end).join('');
}

import { randomBytes } from 'node:crypto';

/**
 * JSON.parse and JSON.stringify for JSON that may hold integers beyond 2^53 (a rule's nanosecond
 * timestamp rendered into a headers or user-properties map): JSON.parse rounds them, JSON.stringify
 * throws on the `bigint`s rule outputs carry for them. Both take the plain JSON route unless such an
 * integer is there, so ordinary texts and values cost one extra scan at most.
 */

/**
 * A string no JSON text of ours holds: an integer literal is carried through JSON.parse/JSON.stringify as
 * a string starting with it. Random per process, so a payload cannot forge one.
 */
const MARK = `\u0000int:${randomBytes(12).toString('hex')}:`;
/** The marker as JSON.stringify writes it inside a string literal (`\u0000` is escaped). */
const MARK_IN_JSON = JSON.stringify(MARK).slice(1, -1);
const MARKED_IN_JSON = new RegExp(`"${MARK_IN_JSON.replace(/\\/g, '\\\\')}(-?[0-9]+)"`, 'g');

/**
 * JSON.parse, except that an integer literal beyond 2^53 becomes an exact `bigint` (others stay numbers).
 * Throws SyntaxError as JSON.parse does.
 */
export function parseJsonExact(text: string): unknown {
  if (!hasLongDigitRun(text)) return JSON.parse(text);
  return JSON.parse(markLongIntegers(text), (_key, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith(MARK)) return value;
    const n = BigInt(value.slice(MARK.length));
    return n <= MAX_SAFE && n >= -MAX_SAFE ? Number(n) : n;
  });
}

/**
 * JSON.stringify (without indentation), except that a `bigint` is written as its exact digits, a JSON
 * number, where JSON.stringify throws.
 */
export function stringifyJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
  }
  const marked = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${MARK}${v.toString()}` : v)) as string | undefined;
  return marked?.replace(MARKED_IN_JSON, '$1');
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A run of 16 digits (an integer that may pass 2^53), probing every 16th character only. */
function hasLongDigitRun(s: string): boolean {
  for (let i = 15; i < s.length; i += 16) {
    if (!isDigit(s.charCodeAt(i))) continue;
    let first = i - 1;
    while (first >= 0 && isDigit(s.charCodeAt(first))) first--;
    let end = i + 1;
    while (end < s.length && isDigit(s.charCodeAt(end))) end++;
    if (end - first - 1 >= 16) return true;
  }
  return false;
}

/**
 * The text with every integer literal of 16+ digits outside strings written as a marked string literal.
 * Digits that are part of a fraction or an exponent stay: those are floats, which JSON.parse reads as well
 * as anyone. Invalid JSON stays invalid.
 */
function markLongIntegers(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = endOfString(text, i);
      continue;
    }
    if (!isDigit(c)) continue;
    const start = i > 0 && text.charCodeAt(i - 1) === 0x2d /* - */ ? i - 1 : i;
    let end = i;
    while (end < text.length && isDigit(text.charCodeAt(end))) end++;
    const next = text.charCodeAt(end);
    const previous = text.charCodeAt(start - 1);
    const isInteger = next !== 0x2e /* . */ && next !== 0x65 /* e */ && next !== 0x45 /* E */ &&
      previous !== 0x2e && previous !== 0x65 && previous !== 0x45 && previous !== 0x2b /* + */;
    // A leading 0 is invalid JSON: left for JSON.parse to refuse.
    if (end - i >= 16 && isInteger && c !== 0x30 /* 0 */) {
      out += `${text.slice(copied, start)}"${MARK_IN_JSON}${text.slice(start, end)}"`;
      copied = end;
    }
    i = end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** The index of the quote closing the string opened at `open` (the text's end when there is none). */
function endOfString(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22) return i;
  }
  return text.length;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

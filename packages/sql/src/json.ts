import { MAX_INTEGER_DIGITS, SqlFloat, encodeJsonValue, intOf, type SqlMap, type SqlValue } from './values';

export { MAX_INTEGER_DIGITS };

/**
 * JSON text of a value with jiffy's rules (see encodeJsonValue): `undefined` → `"undefined"`, `2.0` stays
 * `2.0`. Text longer than `maxSize` (default: DEFAULT_LIMITS.maxStringSize) is refused while encoding,
 * with a RuleEvaluationError naming `where`.
 */
export const encodeJson: (v: SqlValue, maxSize?: number, where?: string) => string = encodeJsonValue;

/**
 * Does the text hold a number literal whose double value may be integral although it is written as a
 * float? An exponent after a digit (`1e3`, `1.5e3`), a fraction ending in 0 (`2.0`, `2.50`), or 16+
 * significant digits around a point (then one side has 8+ digits), which can round to an integer.
 * Text inside strings may trigger it too; that only costs the slower parse.
 * It runs on every decoded payload, so it jumps between candidate characters with indexOf (which also
 * flattens a concatenated string once). Measured on a 25-character payload: ~42 ns flat and ~80 ns
 * concatenated, against ~46 ns and ~150 ns with a `/[0-9][eE]/` test first, and ~300 ns for the
 * JSON.parse itself. A single combined regex was slower still (backtracking on digit runs).
 */
export function mayHoldIntegralFloat(s: string): boolean {
  if (hasExponent(s, 'e') || hasExponent(s, 'E')) return true;
  const n = s.length;
  for (let i = s.indexOf('.'); i !== -1; i = s.indexOf('.', i + 1)) {
    if (!isDigit(s.charCodeAt(i - 1))) continue;
    let j = i + 1;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
    if (j === i + 1) continue;
    if (s.charCodeAt(j - 1) === 0x30 /* 0 */ || j - i > 8) return true;
    let k = i - 2;
    while (k >= 0 && isDigit(s.charCodeAt(k))) k--;
    if (i - 1 - k >= 8) return true;
  }
  return false;
}

/**
 * Does the text hold an integer literal that may be beyond 2^53 (17 or more digits, or 16 led by a 9),
 * which JSON.parse would round? Runs on every decoded payload, so it does not look at every character: any run of 16
 * digits covers one index i with i % 16 === 15, so only those indexes are tested and a digit there is
 * widened to its run. A run touching a quote or a letter is inside a string (ids sent as text, the
 * common way to carry 64-bit values through JSON) and does not count; other digit runs inside strings
 * may still trigger it, which only costs the slower parse. Measured on the bench payloads: ~13 ns for
 * 31 characters, ~80 ns for 191 (JSON.parse of them: ~0.3 and ~2.4 µs); a `/[0-9]{16}/` test took ~250 ns.
 */
export function mayHoldLongInteger(s: string): boolean {
  // Kept small (the probe only) so that it inlines; the widening is the rare case.
  for (let i = 15; i < s.length; i += 16) {
    const c = s.charCodeAt(i);
    if (c <= 0x39 && c >= 0x30 && isLongLiteralAt(s, i)) return true;
  }
  return false;
}

/** Is the digit at `i` inside a run of 16+ digits that can be a number literal (not inside a string)? */
function isLongLiteralAt(s: string, i: number): boolean {
  let first = i - 1;
  while (first >= 0 && isDigit(s.charCodeAt(first))) first--;
  let end = i + 1;
  while (end < s.length && isDigit(s.charCodeAt(end))) end++;
  const digits = end - first - 1;
  if (digits < 16) return false;
  // 16 digits led by 1-8 are below 9·10^15 < 2^53, which JSON.parse reads exactly: timestamps in
  // microseconds since the epoch are such numbers, and the exact route cost several times JSON.parse.
  if (digits === 16) {
    const lead = s.charCodeAt(first + 1);
    if (lead >= 0x31 && lead <= 0x38) return false;
  }
  let before = s.charCodeAt(first);
  if (before === 0x2d /* - */) before = s.charCodeAt(first - 1);
  return mayEndNumber(before) && mayEndNumber(s.charCodeAt(end));
}

/**
 * A character that may stand next to a number literal (or NaN: the text's start or end): not a quote,
 * letter or `_`. `.`, `e` and `E` after the digits still count: the literal may go on as a float, which
 * the exact route reads as well.
 */
function mayEndNumber(c: number): boolean {
  if (Number.isNaN(c)) return true;
  if (c === 0x2e /* . */ || c === 0x65 /* e */ || c === 0x45 /* E */) return true;
  return !(c === 0x22 /* " */ || c === 0x5f /* _ */ || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
}

/** An `e` (or `E`) right after a digit: the exponent of a number literal, or text that looks like one. */
function hasExponent(s: string, letter: 'e' | 'E'): boolean {
  for (let i = s.indexOf(letter); i !== -1; i = s.indexOf(letter, i + 1)) {
    if (isDigit(s.charCodeAt(i - 1))) return true;
  }
  return false;
}

/**
 * Parses JSON as EMQX does: objects → plain objects, arrays, numbers keep their integer/float kind
 * (`2.0` → SqlFloat(2), `1e3` → float) and integers their exact value (a bigint beyond 2^53, see
 * values.ts), `null` → null. Throws SyntaxError on invalid JSON.
 * Hot path (every `payload.x` rule): JSON.parse does the work unless the text may hold a float with an
 * integral value, which JSON.parse would turn into an integer, or an integer of 16 or more digits,
 * which JSON.parse would round.
 */
export function decodeJson(text: string): SqlValue {
  if (text.length > 2 * MAX_JSON_DEPTH) checkJsonDepth(text);
  if (!mayHoldIntegralFloat(text) && !mayHoldLongInteger(text)) return JSON.parse(text) as SqlValue;
  return decodeJsonExact(text);
}

/**
 * Deepest nesting of arrays and objects decodeJson accepts. JSON.parse takes 10,000 levels, but what it
 * returns then reaches code that recurses: JSON.stringify of an output (a connector's `${.}`, a log line)
 * overflowed the stack on a subtree `payload.a.a.…` picked from an 8,000-level payload. 512 levels is
 * far beyond real documents and far below any stack limit.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * Thrown by decodeJson for valid JSON over one of its bounds; callers treat it as "not JSON" and quote
 * the message after "is" ("the payload is JSON nested deeper than 512 levels").
 */
export class JsonLimitError extends SyntaxError {}

/** A text nested deeper than MAX_JSON_DEPTH. */
export class JsonTooDeepError extends JsonLimitError {
  constructor() {
    super(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    this.name = 'JsonTooDeepError';
  }
}

/** An integer literal longer than MAX_INTEGER_DIGITS. */
export class JsonIntegerTooLongError extends JsonLimitError {
  constructor(digits: number) {
    super(`JSON with an integer of ${digits} digits, over the limit of ${MAX_INTEGER_DIGITS}`);
    this.name = 'JsonIntegerTooLongError';
  }
}

/**
 * Throws JsonTooDeepError when `[`/`{` nest deeper than MAX_JSON_DEPTH outside strings. Each level takes
 * an opening and a closing character, so a text of at most 2 × MAX_JSON_DEPTH characters cannot, and
 * decodeJson skips the scan for it (most payloads). Otherwise one linear pass that jumps over strings.
 * Brackets of invalid JSON may be miscounted; JSON.parse refuses that text anyway.
 */
function checkJsonDepth(text: string): void {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > MAX_JSON_DEPTH) throw new JsonTooDeepError();
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    } else if (c === 0x22 /* " */) {
      i = endOfString(text, i);
    }
  }
}

/** The index of the quote that closes the string opened at `open` (the text's end when there is none). */
function endOfString(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  while (close !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(close - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return close;
    close = text.indexOf('"', close + 1);
  }
  return text.length;
}

/** The kind-preserving route alone (what decodeJson falls back to); exported so tests can pin the fast path to it. */
export function decodeJsonExact(text: string): SqlValue {
  return new KindPreservingParser(text).parseDocument();
}

const WS = new Uint8Array(128);
WS[0x20] = 1;
WS[0x09] = 1;
WS[0x0a] = 1;
WS[0x0d] = 1;

/**
 * A small recursive-descent JSON parser that boxes integral floats and reads long integers as bigints;
 * strings are delegated to JSON.parse.
 */
class KindPreservingParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseDocument(): SqlValue {
    const value = this.parseValue();
    this.skipWs();
    if (this.pos !== this.text.length) this.fail();
    return value;
  }

  private fail(): never {
    throw new SyntaxError(`Unexpected token in JSON at position ${this.pos}`);
  }

  private skipWs(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c < 128 && WS[c] === 1) this.pos++;
      else break;
    }
  }

  private parseValue(): SqlValue {
    this.skipWs();
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject();
      case 0x5b /* [ */:
        return this.parseArray();
      case 0x22 /* " */:
        return this.parseString();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.fail();
    }
  }

  private literal<T extends SqlValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail();
    this.pos += word.length;
    return value;
  }

  private parseObject(): SqlMap {
    const out: SqlMap = {};
    this.pos++;
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail();
      const key = this.parseString();
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) this.fail();
      this.pos++;
      const value = this.parseValue();
      // defineProperty-free assignment is safe: __proto__ as a JSON key must become an own property.
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
      this.skipWs();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) return out;
      if (c !== 0x2c /* , */) {
        this.pos--;
        this.fail();
      }
    }
  }

  private parseArray(): SqlValue[] {
    const out: SqlValue[] = [];
    this.pos++;
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.parseValue());
      this.skipWs();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) {
        this.pos--;
        this.fail();
      }
    }
  }

  private parseString(): string {
    const t = this.text;
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      if (i >= t.length) {
        this.pos = i;
        this.fail();
      }
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c /* \ */) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail();
      }
      i++;
    }
    this.pos = i + 1;
    // JSON.parse validates and decodes escapes exactly as the fast path would.
    return escaped ? (JSON.parse(t.slice(start, i + 1)) as string) : t.slice(start + 1, i);
  }

  private parseNumber(): number | bigint | SqlFloat {
    const t = this.text;
    const start = this.pos;
    let i = start;
    if (t.charCodeAt(i) === 0x2d) i++;
    const intStart = i;
    while (isDigit(t.charCodeAt(i))) i++;
    if (i === intStart || (t.charCodeAt(intStart) === 0x30 && i - intStart > 1)) {
      this.pos = i;
      this.fail();
    }
    let isFloat = false;
    if (t.charCodeAt(i) === 0x2e /* . */) {
      isFloat = true;
      i++;
      const fracStart = i;
      while (isDigit(t.charCodeAt(i))) i++;
      if (i === fracStart) {
        this.pos = i;
        this.fail();
      }
    }
    const e = t.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      isFloat = true;
      i++;
      const s = t.charCodeAt(i);
      if (s === 0x2b || s === 0x2d) i++;
      const expStart = i;
      while (isDigit(t.charCodeAt(i))) i++;
      if (i === expStart) {
        this.pos = i;
        this.fail();
      }
    }
    this.pos = i;
    if (!isFloat && i - intStart >= 16) {
      // 16 digits or more may pass 2^53: read exactly (intOf gives back a number when it is safe).
      if (i - intStart > MAX_INTEGER_DIGITS) throw new JsonIntegerTooLongError(i - intStart);
      return intOf(BigInt(t.slice(start, i)));
    }
    const n = Number(t.slice(start, i));
    if (isFloat && Number.isInteger(n)) return new SqlFloat(n);
    return n;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

import { isUtf8 } from 'node:buffer';

/** Deeper nesting is refused: the scanner keeps one byte per open container, in a fixed buffer. */
export const MAX_JSON_DEPTH = 512;

/** Where a text stops being JSON and why, for the error that fails the record. */
export interface JsonProblem {
  /** 0-based character offset (in the text, or in the UTF-8 text of bytes). */
  readonly at: number;
  readonly reason: string;
}

const OBJECT = 1;
const ARRAY = 2;

/**
 * Checks that a rendered key or value is one complete JSON text (RFC 8259), without building it: no
 * objects, strings or numbers are allocated, so the check costs a single pass over the characters (see
 * bench/json-check.bench.ts for the figures against JSON.parse). Not reentrant: one checker per action.
 */
export class JsonChecker {
  private readonly stack = new Uint8Array(MAX_JSON_DEPTH);
  private text = '';
  private pos = 0;

  /** undefined when `input` is valid JSON; otherwise where and why not. Bytes must be UTF-8. */
  problem(input: string | Buffer): JsonProblem | undefined {
    if (typeof input !== 'string') {
      if (!isUtf8(input)) return { at: 0, reason: 'the bytes are not UTF-8 text' };
      input = input.toString('utf8'); // binary values are rare here: the copy is the simple way
    }
    this.text = input;
    this.pos = 0;
    try {
      return this.scan();
    } finally {
      this.text = ''; // do not hold on to the record
    }
  }

  private scan(): JsonProblem | undefined {
    const text = this.text;
    const end = text.length;
    let depth = 0;
    this.skipSpace();
    for (;;) {
      // a value is expected here
      if (this.pos >= end) return this.fail(depth === 0 ? 'it is empty' : 'it ends in the middle of a value');
      const c = text.charCodeAt(this.pos);
      let closed = false;
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        if (depth === MAX_JSON_DEPTH) return this.fail(`it nests deeper than ${MAX_JSON_DEPTH} levels`);
        this.stack[depth++] = c === 0x7b ? OBJECT : ARRAY;
        this.pos++;
        this.skipSpace();
        const close = c === 0x7b ? 0x7d : 0x5d;
        if (text.charCodeAt(this.pos) === close) {
          this.pos++;
          depth--;
          closed = true;
        } else if (c === 0x7b) {
          const problem = this.memberName();
          if (problem !== undefined) return problem;
          continue;
        } else {
          continue;
        }
      }
      if (!closed) {
        const problem = this.scalar(c);
        if (problem !== undefined) return problem;
      }
      // after a value: a comma, a closing bracket, or the end
      for (;;) {
        this.skipSpace();
        if (depth === 0) return this.pos === end ? undefined : this.fail('more text follows the JSON value');
        if (this.pos >= end) return this.fail('it ends before every { or [ is closed');
        const next = text.charCodeAt(this.pos);
        const container = this.stack[depth - 1];
        if (next === 0x2c /* , */) {
          this.pos++;
          this.skipSpace();
          if (container === OBJECT) {
            const problem = this.memberName();
            if (problem !== undefined) return problem;
          }
          break;
        }
        if ((container === OBJECT && next === 0x7d) || (container === ARRAY && next === 0x5d)) {
          this.pos++;
          depth--;
          continue;
        }
        return this.fail(container === OBJECT ? 'expected , or } after a member' : 'expected , or ] after an element');
      }
    }
  }

  /** `"name" :` with the position left at the member's value. */
  private memberName(): JsonProblem | undefined {
    if (this.text.charCodeAt(this.pos) !== 0x22) return this.fail('expected a member name in double quotes');
    const problem = this.string();
    if (problem !== undefined) return problem;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) return this.fail('expected : after a member name');
    this.pos++;
    this.skipSpace();
    return undefined;
  }

  private scalar(c: number): JsonProblem | undefined {
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.word('true');
    if (c === 0x66) return this.word('false');
    if (c === 0x6e) return this.word('null');
    return this.fail('expected a value (a string, number, object, list, true, false or null)');
  }

  private string(): JsonProblem | undefined {
    const text = this.text;
    const end = text.length;
    let pos = this.pos + 1;
    while (pos < end) {
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        this.pos = pos + 1;
        return undefined;
      }
      if (c < 0x20) {
        this.pos = pos;
        return this.fail('a control character must be escaped inside a string');
      }
      if (c === 0x5c /* \ */) {
        const e = text.charCodeAt(pos + 1);
        if (e === 0x75 /* u */) {
          for (let i = pos + 2; i < pos + 6; i++) {
            if (!isHex(text.charCodeAt(i))) {
              this.pos = pos;
              return this.fail('\\u must be followed by 4 hex digits');
            }
          }
          pos += 6;
          continue;
        }
        // " \ / b f n r t
        if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          pos += 2;
          continue;
        }
        this.pos = pos;
        return this.fail('unknown escape in a string');
      }
      pos++;
    }
    return this.fail('a string is not closed');
  }

  private number(): JsonProblem | undefined {
    const text = this.text;
    let pos = this.pos;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    const first = text.charCodeAt(pos);
    if (first === 0x30) pos++;
    else if (first >= 0x31 && first <= 0x39) pos = digits(text, pos);
    else return this.failAt(pos, 'a number needs a digit after -');
    if (text.charCodeAt(pos) === 0x2e /* . */) {
      const after = digits(text, pos + 1);
      if (after === pos + 1) return this.failAt(pos + 1, 'a number needs a digit after the decimal point');
      pos = after;
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      const after = digits(text, pos);
      if (after === pos) return this.failAt(pos, 'a number needs a digit in its exponent');
      pos = after;
    }
    this.pos = pos;
    return undefined;
  }

  private word(word: 'true' | 'false' | 'null'): JsonProblem | undefined {
    if (!this.text.startsWith(word, this.pos)) return this.fail('expected a value (a string, number, object, list, true, false or null)');
    this.pos += word.length;
    return undefined;
  }

  private skipSpace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.pos = pos;
  }

  private fail(reason: string): JsonProblem {
    return { at: this.pos, reason };
  }

  private failAt(at: number, reason: string): JsonProblem {
    return { at, reason };
  }
}

function digits(text: string, pos: number): number {
  for (;;) {
    const c = text.charCodeAt(pos);
    // written so that NaN (past the end) stops the loop too
    if (!(c >= 0x30 && c <= 0x39)) return pos;
    pos++;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

import moo from 'moo';

/**
 * The tokens of EMQX's rule SQL (RULE-SQL.md §2), as rulesql's leex lexer produces them.
 *
 * moo picks the first alternative that matches, where leex picks the longest match; the rules below
 * are ordered (and the number regex shaped) so that both agree on every input:
 *   - `[1..4]` is one range token, tried before `[`;
 *   - a number is lexed greedily as EMQX's APPROXNUM and then classified: digits only → int; a float
 *     Erlang's list_to_float accepts (`1.5`, `3.14e4`) → float; anything else (`12e3`, `1.5f`) → a
 *     lexical error, as in EMQX where the parse fails. `1e5` is int `1` then name `e5`, also as in EMQX;
 *   - `div` and `mod` (lower case only) are operator tokens; `DIV` is a plain name;
 *   - keywords are case-insensitive, names are not.
 * Whitespace and `--` comments (up to and including a newline) are dropped by {@link RuleLexer}.
 */
export const KEYWORDS = [
  'SELECT', 'FROM', 'WHERE', 'AS', 'AND', 'OR', 'NOT', 'IN', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'FOREACH', 'DO', 'INCASE', 'IF', 'ELSIF',
] as const;

const keywordSet = new Set<string>(KEYWORDS);
const VALID_FLOAT = /^[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?$/;

function wordType(text: string): string {
  if (text === 'div' || text === 'mod') return text;
  const upper = text.toUpperCase();
  return keywordSet.has(upper) ? upper : 'name';
}

function numberType(text: string): string {
  if (/^[0-9]+$/.test(text)) return 'int';
  return VALID_FLOAT.test(text) ? 'float' : 'badnumber';
}

const mooLexer = moo.compile({
  ws: { match: /[ \t\r\n]+/, lineBreaks: true },
  comment: { match: /--[^\n]*\n/, lineBreaks: true },
  // Single quotes: a string literal; `''` inside is accepted but not collapsed (EMQX keeps it).
  string: { match: /'[^']*(?:''[^']*)*'/, lineBreaks: true },
  // Double quotes: a name (identifier), never a string.
  qname: { match: /"[^"]*(?:""[^"]*)*"/, lineBreaks: true },
  range: /\[[+-]?[0-9]+\.\.[+-]?[0-9]+\]/,
  number: { match: /[0-9]+\.?[0-9]+(?:[eE][+-]?[0-9]+)?[fFdD]?|[0-9]+/, type: numberType },
  word: { match: /[A-Za-z][A-Za-z0-9_$@~]*/, type: wordType },
  op: ['=~', '~=', '!=', '<>', '<=', '>=', '=', '<', '>', '+', '-', '*', '/', '(', ')', '[', ']', ',', '.'],
  error: moo.error,
});

export interface Token {
  readonly type: string;
  readonly text: string;
  /** Offset in the text given to reset(). */
  readonly offset: number;
  readonly line: number;
  readonly col: number;
  readonly value: string;
}

/** 1-based line and column of an offset in a text. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The lexer nearley drives: moo's, minus whitespace and comments, with lexical errors turned into
 * RuleSyntaxError at once (nearley would otherwise wrap them in a generic Error).
 */
export class RuleLexer {
  /** The lexical error that stopped the last parse (nearley rewraps thrown errors, losing their type). */
  lastError: LexicalError | undefined;

  reset(chunk: string, _state?: unknown): void {
    this.lastError = undefined;
    mooLexer.reset(chunk);
  }

  next(): Token | undefined {
    for (;;) {
      const token = mooLexer.next();
      if (token === undefined) return undefined;
      switch (token.type) {
        case 'ws':
        case 'comment':
          continue;
        case 'error':
          throw this.fail(new LexicalError(token.offset, `unexpected character ${JSON.stringify(token.text.charAt(0))}`));
        case 'badnumber':
          throw this.fail(new LexicalError(token.offset, `invalid number ${JSON.stringify(token.text)}`));
        default:
          return token as Token;
      }
    }
  }

  private fail(error: LexicalError): LexicalError {
    this.lastError = error;
    return error;
  }

  save(): undefined {
    return undefined;
  }

  formatError(token: Token, message = 'syntax error'): string {
    return `${message} at ${JSON.stringify(token.text)}`;
  }

  has(type: string): boolean {
    return TOKEN_TYPES.has(type);
  }
}

/**
 * A problem at an offset of the rule text: a character or number the lexer refuses, or a FROM filter the
 * grammar refuses. The parser turns it into a RuleSyntaxError with a line and column.
 */
export class LexicalError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const TOKEN_TYPES = new Set<string>([
  'string', 'qname', 'range', 'int', 'float', 'name', 'div', 'mod', ...KEYWORDS,
]);

export const lexer = new RuleLexer();

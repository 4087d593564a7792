import nearley from 'nearley';
import { IntegrationError, RuleSyntaxError } from '@sluice/core';
import type { Statement } from './ast';
import grammar from './grammar/rule.generated';
import { LexicalError, type Token, lexer, positionOf } from './grammar/lexer';
import { DEFAULT_PARSE_LIMITS, type ParseLimits, finishTree, scanNesting } from './parse-limits';

const compiledGrammar = nearley.Grammar.fromCompiled(grammar);

/**
 * Parses one rule into its syntax tree. Throws RuleSyntaxError (1-based line and column of the
 * offending token, what was found and what was expected) for anything EMQX would refuse at rule
 * creation: lexical and syntax errors, an empty rule, a missing FROM, an invalid FROM topic filter;
 * and for a rule over the limits (parse-limits.ts): too long, or nested too deeply.
 */
export function parseRule(text: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Statement {
  if (text.length > limits.maxRuleLength) {
    throw syntaxError(
      text,
      limits.maxRuleLength,
      `the rule is ${text.length} characters long, over the limit of ${limits.maxRuleLength} (maxRuleLength)`,
    );
  }
  const source = prepare(text);
  if (source.text === '') throw syntaxError(text, 0, 'empty rule: expected SELECT or FOREACH');
  const nesting = scanNesting(source.text, limits.maxDepth);
  if (nesting.problem !== undefined) throw syntaxError(text, source.originalOffset(nesting.problem.offset), nesting.problem.message);
  try {
    const statement = parse(text, source);
    if (finishTree(statement, limits.maxDepth) > limits.maxDepth) {
      throw syntaxError(
        text,
        source.originalOffset(nesting.deepestAt),
        `the rule nests expressions more than ${limits.maxDepth} levels deep (maxDepth; each operator applied to another operation, ` +
          'call, NOT and path step counts): split the expression, or use IN (...) instead of a chain of OR',
      );
    }
    return statement;
  } catch (error) {
    // Defensive: the limits keep every step linear and shallow, but no input may crash a caller.
    if (error instanceof RangeError) throw syntaxError(text, 0, `the rule is too complex to parse (${error.message})`);
    throw error;
  }
}

function parse(text: string, source: PreparedSource): Statement {

  const parser = new nearley.Parser(compiledGrammar);
  // nearley's own report walks the whole parse table; we build a shorter message from the last column.
  const internals = parser as unknown as { reportError: () => string; reportLexerError: () => string };
  internals.reportError = () => '';
  internals.reportLexerError = () => '';
  try {
    parser.feed(source.text);
  } catch (error) {
    const lexical = lexer.lastError ?? (error instanceof LexicalError ? error : undefined);
    if (lexical !== undefined) throw syntaxError(text, source.originalOffset(lexical.offset), lexical.reason);
    const token = (error as { token?: Token }).token;
    if (token === undefined) throw error;
    const expected = expectedTokens(parser, tableLength(parser) - 2);
    throw syntaxError(text, source.originalOffset(token.offset), `unexpected ${describe(token)}${expecting(expected)}`);
  }
  const results = parser.results as Statement[];
  if (results.length === 0) {
    const expected = expectedTokens(parser, tableLength(parser) - 1);
    throw syntaxError(text, source.originalOffset(source.text.length), `unexpected end of rule${expecting(expected)}`);
  }
  if (results.length > 1) {
    throw new IntegrationError('ERR_INTERNAL', `the rule grammar is ambiguous: ${results.length} parses of ${JSON.stringify(text)}`);
  }
  return results[0] as Statement;
}

interface PreparedSource {
  readonly text: string;
  /** Maps an offset in the prepared text back to the text the user wrote. */
  originalOffset(offset: number): number;
}

/**
 * EMQX's pre-processing (RULE-SQL.md §2): leading and trailing spaces, CR and LF are trimmed, and
 * every newline immediately followed by `/` is deleted (a quirk kept for compatibility).
 */
function prepare(text: string): PreparedSource {
  const loneSurrogate = LONE_SURROGATE.exec(text);
  if (loneSurrogate !== null) throw syntaxError(text, loneSurrogate.index, 'the rule is not valid UTF-8 text');
  const lead = /^[ \r\n]*/.exec(text)?.[0].length ?? 0;
  let end = text.length;
  while (end > lead && ' \r\n'.includes(text.charAt(end - 1))) end--;
  const trimmed = text.slice(lead, end);
  if (!trimmed.includes('\n/')) return { text: trimmed, originalOffset: (offset) => offset + lead };
  const removedAt: number[] = []; // offsets in the prepared text where two characters were removed
  let prepared = '';
  let from = 0;
  for (let at = trimmed.indexOf('\n/'); at !== -1; at = trimmed.indexOf('\n/', at + 2)) {
    prepared += trimmed.slice(from, at);
    removedAt.push(prepared.length);
    from = at + 2;
  }
  prepared += trimmed.slice(from);
  return {
    text: prepared,
    originalOffset: (offset) => offset + lead + 2 * removedAt.filter((at) => at <= offset).length,
  };
}

/** A UTF-16 surrogate without its pair: the one way a JS string cannot be encoded as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function syntaxError(text: string, offset: number, message: string): RuleSyntaxError {
  const { line, column } = positionOf(text, offset);
  return new RuleSyntaxError(`${message} (line ${line}, column ${column})`, line, column);
}

type Symbol = string | { type?: string; literal?: string; test?: unknown };

interface ParserInternals {
  table: { states: { rule: { symbols: Symbol[] }; dot: number }[] }[];
}

function tableLength(parser: nearley.Parser): number {
  return (parser as unknown as ParserInternals).table.length;
}

/** The terminals the parser could have accepted in a column of its table. */
function expectedTokens(parser: nearley.Parser, columnIndex: number): string[] {
  const column = (parser as unknown as ParserInternals).table[columnIndex];
  const seen = new Set<string>();
  for (const state of column?.states ?? []) {
    const symbol = state.rule.symbols[state.dot];
    if (symbol === undefined || typeof symbol === 'string') continue;
    if (symbol.literal !== undefined) seen.add(JSON.stringify(symbol.literal));
    else if (symbol.type !== undefined) seen.add(TOKEN_NAMES[symbol.type] ?? symbol.type);
  }
  return [...seen].sort();
}

const TOKEN_NAMES: Readonly<Record<string, string>> = {
  name: 'a name',
  qname: 'a "quoted name"',
  string: "a 'string'",
  int: 'an integer',
  float: 'a float',
  range: 'a range [a..b]',
  div: 'div',
  mod: 'mod',
};

function expecting(expected: readonly string[]): string {
  if (expected.length === 0) return '';
  return expected.length === 1 ? `: expected ${expected[0]}` : `: expected one of ${expected.join(', ')}`;
}

function describe(token: Token): string {
  switch (token.type) {
    case 'name':
      return `name ${token.text}`;
    case 'qname':
      return `quoted name ${token.text}`;
    case 'string':
      return `string ${token.text}`;
    case 'int':
    case 'float':
      return `number ${token.text}`;
    case 'range':
      return `range ${token.text}`;
    default:
      return /^[A-Za-z]/.test(token.text) ? `keyword ${token.text}` : `"${token.text}"`;
  }
}

import { Deferred } from './grammar/seq';

/**
 * The size and nesting limits of one rule's text (docs/sql.md, "Limits").
 *
 * A rule comes from the config file and from the HTTP API, so its text is input as hostile as a
 * payload: without limits a long field list or a deeply nested expression made the parser or the
 * compiler take seconds and gigabytes, or overflow the stack. Both are checked in linear time before
 * anything else runs; what passes them parses in well under a second (npm run bench:sql).
 */
export interface ParseLimits {
  /** Longest rule text accepted, in characters (UTF-16 code units). */
  readonly maxRuleLength: number;
  /**
   * Deepest nesting accepted. Before parsing, each open parenthesis, bracket and CASE counts one level;
   * after parsing, each level of the syntax tree does: an operator whose operand is another operation
   * (`a + b + c` is two levels), a function call, a NOT, an index ref, and each step of a path.
   */
  readonly maxDepth: number;
}

/**
 * 32 KiB of rule text: more than ten times a long hand-written rule, and the worst text of that size
 * (a list of 16,000 one-character items) parses in about 0.4 s of CPU and 40 MB
 * (bench/hostile-rules-bench.js); 64 KiB took up to 0.9 s. 500 levels: no rule written by hand nests
 * more than a few dozen; a chain of about 500 `OR`s is the longest the limit admits (an IN list has no
 * such limit). Compiling and evaluating at 500 levels uses under a third of V8's default stack
 * (nested calls overflow it past about 1,600 levels, sums past 8,000).
 */
export const DEFAULT_PARSE_LIMITS: ParseLimits = Object.freeze({ maxRuleLength: 32_768, maxDepth: 500 });

/** A limit exceeded at an offset of the text being checked. */
export interface LimitProblem {
  readonly offset: number;
  readonly message: string;
}

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** `[A-Za-z0-9_$@~]`, the characters of a name after its first letter (lexer.ts). */
const isNameChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 95 || c === 36 || c === 64 || c === 126;

/** What scanNesting found. */
export interface NestingScan {
  /** The first place where the bracket depth passes the limit, if any. */
  readonly problem: LimitProblem | undefined;
  /**
   * Where the expression is likely deepest: brackets plus the operators and path steps of the
   * expressions still open there. The syntax tree has no positions, so a tree found too deep after
   * parsing is reported at this place.
   */
  readonly deepestAt: number;
}

/** Words after which an expression starts afresh at the same bracket level (list items, clauses, CASE parts). */
const RESETS = new Set(['SELECT', 'FOREACH', 'DO', 'INCASE', 'FROM', 'WHERE', 'AS', 'WHEN', 'THEN', 'ELSE']);
/** Words that nest their operand one level deeper, as the operator characters below do. */
const OPERATOR_WORDS = new Set(['AND', 'OR', 'NOT', 'DIV', 'MOD', 'IN']);
/** `+ - * / = < > ! ~ .` */
const isOperatorChar = (c: number): boolean =>
  c === 43 || c === 45 || c === 42 || c === 47 || c === 61 || c === 60 || c === 62 || c === 33 || c === 126 || c === 46;

/**
 * Counts the nesting of parentheses, brackets and CASE ... END in one pass over the text, skipping
 * quoted strings, quoted names and comments as the lexer does, and stops at the first place where the
 * depth passes the limit. It does not check that the brackets balance: the parser does, with a better
 * message.
 */
export function scanNesting(text: string, maxDepth: number): NestingScan {
  let depth = 0;
  const chains: number[] = [0]; // operators seen in the expression open at each bracket level
  let chained = 0; // their sum over the open levels
  let deepest = -1;
  let deepestAt = 0;
  const lastNewline = text.lastIndexOf('\n'); // `--` is a comment only when a newline follows (lexer.ts)
  const open = (at: number): LimitProblem | undefined => {
    depth++;
    chains[depth] = 0;
    return depth > maxDepth ? { offset: at, message: tooDeep(maxDepth) } : undefined;
  };
  const close = (): void => {
    if (depth === 0) return;
    chained -= chains[depth] as number;
    depth--;
  };
  const reset = (): void => {
    chained -= chains[depth] as number;
    chains[depth] = 0;
  };
  const operator = (at: number): void => {
    chains[depth] = (chains[depth] as number) + 1;
    chained++;
    if (depth + chained > deepest) {
      deepest = depth + chained;
      deepestAt = at;
    }
  };
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    let problem: LimitProblem | undefined;
    if (c === 39 || c === 34) {
      // 'string' or "name": up to the next quote of the same kind (a doubled quote reads as two tokens).
      const end = text.indexOf(c === 39 ? "'" : '"', i + 1);
      if (end === -1) break; // unterminated: the lexer reports it
      i = end + 1;
    } else if (c === 45 && text.charCodeAt(i + 1) === 45 && lastNewline >= i + 2) {
      i = text.indexOf('\n', i + 2) + 1;
    } else if (c === 40 || c === 91) {
      problem = open(i);
      i++;
    } else if (c === 41 || c === 93) {
      close();
      i++;
    } else if (c === 44) {
      reset();
      i++;
    } else if (isLetter(c)) {
      let end = i + 1;
      while (end < n && isNameChar(text.charCodeAt(end))) end++;
      const word = end - i <= 7 ? text.slice(i, end).toUpperCase() : '';
      if (word === 'CASE') problem = open(i);
      else if (word === 'END') close();
      else if (RESETS.has(word)) reset();
      else if (OPERATOR_WORDS.has(word)) operator(i);
      i = end;
    } else if (isDigit(c)) {
      // A number: its letters (`1e5`) must not start a word here that the lexer would not start.
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    } else {
      if (isOperatorChar(c)) operator(i);
      i++;
    }
    if (problem !== undefined) return { problem, deepestAt };
  }
  return { problem: undefined, deepestAt };
}

const tooDeep = (maxDepth: number): string =>
  `the rule nests parentheses, brackets and CASE more than ${maxDepth} levels deep (maxDepth): flatten the expression`;

/**
 * Turns the lists the grammar built (Seq, seq.ts) into arrays, in place, and measures the depth of the
 * tree (see ParseLimits.maxDepth). Iterative, so that no input can overflow the stack here. Returns
 * the depth reached, stopping early once it passes `maxDepth`.
 */
export function finishTree(root: object, maxDepth: number): number {
  const nodes: object[] = [root];
  const depths: number[] = [1];
  let deepest = 1;
  while (nodes.length > 0) {
    const node = nodes.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    for (const key of Object.keys(node)) {
      let value = node[key];
      if (value instanceof Deferred) {
        const items = value.toArray();
        node[key] = items;
        value = items;
      }
      if (typeof value !== 'object' || value === null) continue;
      // A node's children are one level down; the items of a list are siblings, except a path's steps,
      // which are as deep as their number (writing `AS a.b.c` recurses once per step).
      const isPath = key === 'segments' || key === 'alias';
      const items = Array.isArray(value) ? value : [value];
      const childDepth = depth + (isPath ? items.length : 1);
      if (childDepth > deepest) deepest = childDepth;
      if (deepest > maxDepth) return deepest;
      for (const item of items) {
        if (typeof item === 'object' && item !== null) {
          nodes.push(item as object);
          depths.push(childDepth);
        }
      }
    }
  }
  return deepest;
}

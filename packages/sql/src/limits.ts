import { ConfigError, RuleEvaluationError, RuleSyntaxError } from '@sluice/core';
import { positionOf } from './grammar/lexer';

/**
 * Per-evaluation size limits of one rule engine (docs/sql-functions.md, "Limits").
 *
 * A message is at most what the broker accepts (1 MB by default in EMQX and Mosquitto setups, Kafka's
 * default record limit is 1 MB too), yet a few built-ins turn small inputs into huge values: pad() and
 * sprintf() widths, decompression, concat/replace nested in a rule, split() of an inflated payload into
 * millions of items. Without a bound, one 23-byte message can allocate gigabytes and take V8 down for
 * every device. Each built-in that can produce more than it was given checks its result against these
 * limits and fails the rule for that message alone (RuleEvaluationError, counted as failed.exception).
 */
export interface EvaluationLimits {
  /** Largest string (in UTF-16 code units: characters, for ASCII) or binary (bytes) a built-in may produce. */
  readonly maxStringSize: number;
  /** Most items a built-in (split, tokens, ...) or a range literal `[a..b]` may produce. */
  readonly maxListLength: number;
  /** Largest output of gunzip/unzip/zip_uncompress, in bytes (zlib stops inflating there). */
  readonly maxInflateSize: number;
}

export type EvaluationLimitsOptions = Partial<EvaluationLimits>;

const MiB = 1024 * 1024;

/**
 * Defaults: 4 MiB is four times what a default broker or Kafka topic accepts in one message, so no
 * output that could be delivered is refused, while the worst a message can make a function allocate
 * stays a few megabytes. 100,000 list items cover any realistic split of a payload (a 1 MB CSV of
 * 10-byte fields) and keep a list to a few megabytes of pointers.
 */
export const DEFAULT_LIMITS: EvaluationLimits = Object.freeze({
  maxStringSize: 4 * MiB,
  maxListLength: 100_000,
  maxInflateSize: 4 * MiB,
});

/** The largest value accepted for any limit: V8's own string limit (2^29 - 24 code units) is near it. */
const CEILING = 256 * MiB;

/** Checks and completes the limits a host passes; throws ConfigError naming the bad key. */
export function resolveLimits(options: EvaluationLimitsOptions = {}): EvaluationLimits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(options) as [string, unknown][]) {
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, key)) {
      throw new ConfigError('sql', [{ path: `limits.${key}`, message: `unknown limit (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})` }]);
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > CEILING) {
      throw new ConfigError('sql', [{ path: `limits.${key}`, message: `must be an integer from 1 to ${CEILING}` }]);
    }
    out[key] = value;
  }
  return Object.freeze(out) as unknown as EvaluationLimits;
}

/** The error of a built-in whose result would pass a limit: what, how big, which limit, how to raise it. */
export function limitError(fn: string, what: string, size: number, limit: number, key: keyof EvaluationLimits): RuleEvaluationError {
  return new RuleEvaluationError(
    `function ${fn}(): the ${what} would be ${size}, over the limit of ${limit} (${key}; raise it in the rule engine's limits if this is expected)`,
  );
}

/** Throws when a string or binary of `size` would pass maxStringSize. */
export function checkStringSize(fn: string, size: number, limits: EvaluationLimits): void {
  if (size > limits.maxStringSize) throw limitError(fn, 'result size', size, limits.maxStringSize, 'maxStringSize');
}

/** Throws when a list of `length` items would pass maxListLength. */
export function checkListLength(fn: string, length: number, limits: EvaluationLimits): void {
  if (length > limits.maxListLength) throw limitError(fn, 'list length', length, limits.maxListLength, 'maxListLength');
}

/**
 * Throws when a FOREACH collection has more than maxListLength items: each item is an output (a record
 * for every action), so a long payload list, each output holding the same big value, would multiply
 * one message into gigabytes downstream.
 */
export function checkForeachLength(length: number, limits: EvaluationLimits): void {
  if (length > limits.maxListLength) {
    throw new RuleEvaluationError(
      `FOREACH: the collection has ${length} items, over the limit of ${limits.maxListLength} outputs per message ` +
        "(maxListLength; raise it in the rule engine's limits if this is expected)",
    );
  }
}

/**
 * A literal of the rule that can never evaluate (a regular expression RE2 refuses, a range literal over
 * maxListLength), found while compiling, where the syntax tree has no positions. compileRule places it
 * (locate) at the literal in the rule's text.
 */
export class LiteralSyntaxError extends RuleSyntaxError {
  constructor(
    private readonly reason: string,
    /** The literal's text as written in the rule (a string's content), or a pattern matching it. */
    readonly literal: string | RegExp,
  ) {
    super(reason, 1, 1);
  }

  /** The same error with the line and column of the literal's first occurrence in `sql` (1:1 if not found). */
  locate(sql: string): RuleSyntaxError {
    const offset = typeof this.literal === 'string' ? sql.indexOf(this.literal) : sql.search(this.literal);
    const { line, column } = offset < 0 ? { line: 1, column: 1 } : positionOf(sql, offset);
    return new RuleSyntaxError(`${this.reason} (line ${line}, column ${column})`, line, column);
  }
}

/*
 * The limits of the engine compiling a rule right now. Compilation is synchronous, so this is set for
 * exactly one compileRule call (withCompileLimits) and read by the compiler's range literals; it saves
 * threading the engine's limits through every compile function for the one node that needs them.
 */
let compileLimits: EvaluationLimits = DEFAULT_LIMITS;

/** Runs `compile` with `limits` as the limits range literals are checked against. */
export function withCompileLimits<T>(limits: EvaluationLimits | undefined, compile: () => T): T {
  const previous = compileLimits;
  compileLimits = limits ?? DEFAULT_LIMITS;
  try {
    return compile();
  } finally {
    compileLimits = previous;
  }
}

/**
 * The limits of the rule being compiled, for a node that captures one in its closure at compile time
 * (string `+` keeps maxStringSize there, so evaluating it reads no state).
 */
export function compilingLimits(): EvaluationLimits {
  return compileLimits;
}

/**
 * A range literal `[from..to]` as a getter of a fresh list (the output may be changed downstream). Its
 * bounds are in the rule's text, so one over maxListLength is refused when the rule compiles.
 */
export function compileRange(from: number, to: number): () => number[] {
  const length = Math.max(to - from + 1, 0);
  if (length > compileLimits.maxListLength) {
    throw new LiteralSyntaxError(
      `the range [${from}..${to}] has ${length} items, over the limit of ${compileLimits.maxListLength} (maxListLength)`,
      new RegExp(`\\[[+-]?0*${Math.abs(from)}\\.\\.[+-]?0*${Math.abs(to)}\\]`),
    );
  }
  return () => {
    const list: number[] = [];
    for (let i = 0; i < length; i++) list.push(from + i);
    return list;
  };
}

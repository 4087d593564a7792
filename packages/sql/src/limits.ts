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
  /** Most outputs one FOREACH evaluation (one message) may produce. */
  readonly maxOutputs: number;
  /**
   * Most that the outputs of one FOREACH evaluation may carry together, summed over the outputs by
   * fanoutSize (characters of strings, bytes of binaries, items of lists, keys of maps).
   */
  readonly maxFanoutSize: number;
  /**
   * Wall-clock budget of one jq() call without its third argument, in milliseconds (EMQX's
   * `jq_function_default_timeout`, 10 s there). The call blocks evaluation while jq runs, so this is how
   * long one message can stall the rule engine through jq.
   */
  readonly jqTimeout: number;
  /** Largest budget a jq(Program, JSON, TimeoutMs) call is granted, in milliseconds: a larger TimeoutMs is cut to it. */
  readonly jqMaxTimeout: number;
  /** Largest memory of the jq WebAssembly instance, in bytes; a program that needs more fails (jq is restarted). */
  readonly jqMaxMemory: number;
}

export type EvaluationLimitsOptions = Partial<EvaluationLimits>;

const MiB = 1024 * 1024;

/**
 * Defaults: 4 MiB is four times what a default broker or Kafka topic accepts in one message, so no
 * output that could be delivered is refused, while the worst a message can make a function allocate
 * stays a few megabytes. 100,000 list items cover any realistic split of a payload (a 1 MB CSV of
 * 10-byte fields) and keep a list to a few megabytes of pointers.
 *
 * FOREACH multiplies: every output becomes a record of every action, and without DO each output holds
 * the columns (the whole payload), the FOREACH aliases (the collection itself, under its name) and its
 * item (EMQX semantics), so serialising n outputs of an n-item payload list is quadratic. 10,000 outputs
 * is already 10,000 records for one message; 64 MiB (16 largest strings) lets 10,000 outputs of 6 KB
 * through, or 64 outputs that each carry a 1 MB payload, and keeps what one message makes the connectors
 * render to tens of megabytes instead of gigabytes.
 *
 * jq: a typical program takes tens of microseconds on a small payload once compiled, and a program jq
 * has to compile first 1-2 ms (packages/sql/bench/jq-bench.js), so 100 ms leaves room for big payloads
 * and heavy programs while a runaway one (`repeat(1)`) holds the engine for a tenth of a second per
 * message, not EMQX's 10 s. An explicit TimeoutMs is honoured up to 1 s. 64 MiB
 * holds jq's values for a payload of several megabytes; the module's own cap is 256 MiB.
 */
export const DEFAULT_LIMITS: EvaluationLimits = Object.freeze({
  maxStringSize: 4 * MiB,
  maxListLength: 100_000,
  maxInflateSize: 4 * MiB,
  maxOutputs: 10_000,
  maxFanoutSize: 64 * MiB,
  jqTimeout: 100,
  jqMaxTimeout: 1_000,
  jqMaxMemory: 64 * MiB,
});

/** The largest value accepted for a limit: V8's own string limit (2^29 - 24 code units) is near it. */
const CEILING = 256 * MiB;

/** maxFanoutSize sums what many outputs share by reference, so it may go higher (16 GiB is still exact). */
const CEILINGS: Readonly<Record<string, number>> = {
  maxFanoutSize: 64 * 1024 * MiB,
  // a minute of blocked evaluation is already an outage; jq-wasm's module never grows past 256 MiB
  jqTimeout: 60_000,
  jqMaxTimeout: 60_000,
  jqMaxMemory: 256 * MiB,
};

/** The smallest value accepted, where 1 is not: jq's WebAssembly module starts with 16 MiB of memory. */
const FLOORS: Readonly<Record<string, number>> = { jqMaxMemory: 16 * MiB };

/** Checks and completes the limits a host passes; throws ConfigError naming the bad key. */
export function resolveLimits(options: EvaluationLimitsOptions = {}): EvaluationLimits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(options) as [string, unknown][]) {
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, key)) {
      throw new ConfigError('sql', [{ path: `limits.${key}`, message: `unknown limit (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})` }]);
    }
    if (value === undefined) continue;
    const ceiling = CEILINGS[key] ?? CEILING;
    const floor = FLOORS[key] ?? 1;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < floor || value > ceiling) {
      throw new ConfigError('sql', [{ path: `limits.${key}`, message: `must be an integer from ${floor} to ${ceiling}` }]);
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
 * Throws when a FOREACH collection has more than maxListLength items, like any other list a message
 * can make. What the items turn into is bounded apart: maxOutputs and maxFanoutSize.
 */
export function checkForeachLength(length: number, limits: EvaluationLimits): void {
  if (length > limits.maxListLength) {
    throw new RuleEvaluationError(
      `FOREACH: the collection has ${length} items, over the limit of ${limits.maxListLength} ` +
        "(maxListLength; raise it in the rule engine's limits if this is expected)",
    );
  }
}

/** The error of a FOREACH evaluation that would emit more outputs than maxOutputs. */
export function tooManyOutputs(limits: EvaluationLimits): RuleEvaluationError {
  return new RuleEvaluationError(
    `FOREACH: this message would give more than ${limits.maxOutputs} outputs (maxOutputs; raise it in the ` +
      "rule engine's limits if this is expected, or filter the items with INCASE)",
  );
}

/** The error of a FOREACH evaluation whose outputs would carry more than maxFanoutSize together. */
export function fanoutTooBig(outputs: number, size: number, limits: EvaluationLimits): RuleEvaluationError {
  return new RuleEvaluationError(
    `FOREACH: the first ${outputs} outputs of this message would carry ${size} together (columns, aliases and ` +
      `item of each, or what DO selects), over the limit of ${limits.maxFanoutSize} (maxFanoutSize; raise it ` +
      "in the rule engine's limits if this is expected, or select only what each output needs with DO)",
  );
}

/**
 * How much a value placed in an output weighs for maxFanoutSize, looking at its top level only (cheap
 * enough to run per output): a string's length, a binary's bytes, a list's items, a map's keys, 1 for
 * anything else. Nested values are not walked; what they hold was bounded where it was made (the
 * payload's size, maxStringSize, maxListLength).
 */
export function fanoutSize(value: unknown): number {
  if (typeof value === 'string') return value.length + 1;
  if (typeof value !== 'object' || value === null) return 1;
  if (Array.isArray(value) || Buffer.isBuffer(value)) return value.length + 1;
  let keys = 1;
  for (const _key in value) keys++;
  return keys;
}

/** fanoutSize summed over the top-level values of a map (an output, the columns, the FOREACH aliases). */
export function fanoutSizeOfMap(map: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const key in map) size += fanoutSize(map[key]);
  return size;
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
 * exactly one compileRule call (withCompileLimits) and read, while compiling, by the nodes that keep a
 * limit in their closure (range literals, string `+`, FOREACH); it saves threading the engine's limits
 * through every compile function for the few nodes that need them.
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

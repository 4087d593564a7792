import { fnError, type FunctionDef, type Specializer } from './args';
import { ARRAY_FUNCTIONS } from './arrays';
import { BIT_FUNCTIONS } from './bits';
import { CONTEXT_FUNCTIONS } from './context';
import { CONVERSION_FUNCTIONS } from './conversions';
import { DATETIME_FUNCTIONS } from './datetime';
import { ENCODING_FUNCTIONS } from './encoding';
import { MAP_FUNCTIONS } from './maps';
import { MATH_FUNCTIONS } from './math';
import { MISC_FUNCTIONS } from './misc';
import { SCHEMA_FUNCTIONS } from './schemas';
import { SPARKPLUG_FUNCTIONS } from './sparkplug';
import { STRING_FUNCTIONS } from './strings';
import type { SqlFunction } from './types';

export type { FunctionContext, SqlFunction } from './types';
export { createFunctionState, type FunctionState, type FunctionStateOptions } from './state';

/** A built-in as registered: its implementation, and how many arguments it accepts. */
export interface FunctionEntry {
  readonly fn: SqlFunction;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Prepares the built-in for a call site's literal arguments (see Specializer); most have none. */
  readonly specialize?: Specializer;
}

const registry = new Map<string, FunctionEntry>();
const checked = new Map<string, SqlFunction>();

function register(defs: readonly FunctionDef[]): void {
  for (const [name, minArgs, maxArgs, fn, specialize] of defs) {
    if (registry.has(name)) throw new Error(`built-in function ${name} defined twice`);
    registry.set(name, specialize === undefined ? { fn, minArgs, maxArgs } : { fn, minArgs, maxArgs, specialize });
    checked.set(name, (args, context) => {
      const error = arityError(name, args.length);
      if (error !== undefined) throw error;
      return fn(args, context);
    });
  }
}

/**
 * The error for calling a built-in with a wrong number of arguments, or undefined when the count is
 * accepted. Every function reports it the same way (EMQX: no such function clause, the rule fails). The
 * compiler checks the count once per call site, since it is known before any message arrives.
 */
export function arityError(name: string, count: number): Error | undefined {
  const entry = registry.get(name);
  if (entry === undefined || (count >= entry.minArgs && count <= entry.maxArgs)) return undefined;
  const { minArgs: min, maxArgs: max } = entry;
  const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
  return fnError(name, `takes ${expected} argument${expected === '1' ? '' : 's'}, got ${count}`);
}

register(CONTEXT_FUNCTIONS);
register(MATH_FUNCTIONS);
register(CONVERSION_FUNCTIONS);
register(STRING_FUNCTIONS);
register(MAP_FUNCTIONS);
register(ARRAY_FUNCTIONS);
register(ENCODING_FUNCTIONS);
register(BIT_FUNCTIONS);
register(DATETIME_FUNCTIONS);
register(MISC_FUNCTIONS);
register(SCHEMA_FUNCTIONS);
register(SPARKPLUG_FUNCTIONS);

/** The built-in function of that (case-sensitive) name, checking its argument count per call; undefined when there is none. */
export function lookupFunction(name: string): SqlFunction | undefined {
  return checked.get(name);
}

/** The registered built-in (no per-call argument count check), for the compiler; undefined when there is none. */
export function lookupFunctionEntry(name: string): FunctionEntry | undefined {
  return registry.get(name);
}

/** Every built-in function name, sorted (for documentation checks and error hints). */
export function functionNames(): string[] {
  return [...registry.keys()].sort();
}

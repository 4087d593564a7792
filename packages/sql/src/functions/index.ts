import { fnError, type FunctionDef } from './args';
import { ARRAY_FUNCTIONS } from './arrays';
import { BIT_FUNCTIONS } from './bits';
import { CONTEXT_FUNCTIONS } from './context';
import { CONVERSION_FUNCTIONS } from './conversions';
import { DATETIME_FUNCTIONS } from './datetime';
import { ENCODING_FUNCTIONS } from './encoding';
import { MAP_FUNCTIONS } from './maps';
import { MATH_FUNCTIONS } from './math';
import { MISC_FUNCTIONS } from './misc';
import { STRING_FUNCTIONS } from './strings';
import type { SqlFunction } from './types';

export type { FunctionContext, SqlFunction } from './types';
export { createFunctionState, type FunctionState, type FunctionStateOptions } from './state';

const registry = new Map<string, SqlFunction>();

// Each family registers its definitions; the arity check lives here so every function reports a wrong
// argument count the same way (EMQX: no such function clause, the rule fails).
function register(defs: readonly FunctionDef[]): void {
  for (const [name, min, max, fn] of defs) {
    if (registry.has(name)) throw new Error(`built-in function ${name} defined twice`);
    registry.set(name, (args, context) => {
      if (args.length < min || args.length > max) {
        const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
        throw fnError(name, `takes ${expected} argument${expected === '1' ? '' : 's'}, got ${args.length}`);
      }
      return fn(args, context);
    });
  }
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

/** The built-in function of that (case-sensitive) name, or undefined when there is none. */
export function lookupFunction(name: string): SqlFunction | undefined {
  return registry.get(name);
}

/** Every built-in function name, sorted (for documentation checks and error hints). */
export function functionNames(): string[] {
  return [...registry.keys()].sort();
}

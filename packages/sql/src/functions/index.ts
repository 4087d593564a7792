import type { SqlFunction } from './types';

export type { FunctionContext, SqlFunction } from './types';

const registry = new Map<string, SqlFunction>();

/** The built-in function of that (case-sensitive) name, or undefined when there is none. */
export function lookupFunction(name: string): SqlFunction | undefined {
  return registry.get(name);
}

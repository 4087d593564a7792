import type { SqlMap, SqlValue } from './values';

/**
 * EMQX's `metadata` column (`{"rule_id": …}`, RULE-SQL.md §1 step 3): the engine adds it to the columns of
 * every rule it applies. Here it is one frozen map per compiled rule, built once from the id compileRule is
 * given, so no message pays for it: a name read of `metadata` and `*` return the rule's own map.
 *
 * `namespace`, EMQX 6's other key, is left out: Sluice has no namespaces, so `metadata.namespace` reads as
 * undefined.
 */
export type RuleMetadata = SqlMap | undefined;

export function ruleMetadata(ruleId: string | undefined): RuleMetadata {
  return ruleId === undefined ? undefined : (Object.freeze({ rule_id: ruleId }) as SqlMap);
}

/*
 * The metadata of the rule being compiled right now. Compilation is synchronous, so this is set for exactly
 * one compileStatement call (withRuleMetadata) and read by the name lookups it compiles (as compilingLimits is).
 */
let compiling: RuleMetadata;

export function withRuleMetadata<T>(metadata: RuleMetadata, compile: () => T): T {
  const outer = compiling;
  compiling = metadata;
  try {
    return compile();
  } finally {
    compiling = outer;
  }
}

/** The metadata of the rule being compiled; undefined when it was compiled without an id. */
export function compilingMetadata(): RuleMetadata {
  return compiling;
}

/** The `metadata` column: the rule's map, or, for a rule compiled without an id, what the input holds. */
export function metadataReader(metadata: RuleMetadata, fromInput: (input: Readonly<Record<string, unknown>>) => SqlValue): (input: Readonly<Record<string, unknown>>) => SqlValue {
  return metadata === undefined ? fromInput : () => metadata;
}

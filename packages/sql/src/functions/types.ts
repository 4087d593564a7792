import type { RuleInput } from '@sluice/core';
import type { SqlValue } from '../values';
import type { FunctionState } from './state';

/** What a built-in function may read besides its arguments. */
export interface FunctionContext {
  /** The message columns (for context functions such as topic(), clientid(), payload('a.b')). */
  readonly input: RuleInput;
  /** True inside WHERE / INCASE, where EMQX's context functions return undefined (RULE-SQL.md §4.11). */
  readonly inCondition: boolean;
  /**
   * Per-engine state for kv_store_*, proc_dict_* and getenv (see createFunctionState). Optional: without
   * it those functions share one process-wide default state.
   */
  readonly state?: FunctionState;
}

/** A built-in function. Throws RuleEvaluationError (from @sluice/core) on bad arguments. */
export type SqlFunction = (args: readonly SqlValue[], context: FunctionContext) => SqlValue;

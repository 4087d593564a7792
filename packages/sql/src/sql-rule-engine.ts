import type { CompiledRule, RuleCompileOptions, RuleEngine, Template, TemplateOptions } from '@sluice/core';
import { ConfigError } from '@sluice/core';
import { createFunctionState, type FunctionState, type FunctionStateOptions } from './functions';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './parse-limits';
import { compileRule } from './rule';
import { compileTemplate } from './template';

/** Options of one engine: the built-ins' state and evaluation limits, and the limits of a rule's text. */
export interface SqlRuleEngineOptions extends FunctionStateOptions {
  /** Longest rule text and deepest nesting accepted (docs/sql.md, "Limits"); keys left out keep their defaults. */
  readonly parseLimits?: Partial<ParseLimits>;
}

/**
 * The most levels maxDepth may be raised to: compiling and evaluating nest calls per level, and V8's
 * default stack overflows past about 1,600 nested calls.
 */
const MAX_DEPTH_CEILING = 1000;
/** The longest rule text maxRuleLength may be raised to (the worst 64 KiB text parses in about 0.9 s). */
const MAX_RULE_LENGTH_CEILING = 1024 * 1024;

/** Checks and completes the parse limits a host passes; throws ConfigError naming the bad key. */
export function resolveParseLimits(options: Partial<ParseLimits> = {}): ParseLimits {
  const ceilings: Record<keyof ParseLimits, number> = { maxRuleLength: MAX_RULE_LENGTH_CEILING, maxDepth: MAX_DEPTH_CEILING };
  const out: Record<string, number> = { ...DEFAULT_PARSE_LIMITS };
  for (const [key, value] of Object.entries(options) as [string, unknown][]) {
    if (!Object.prototype.hasOwnProperty.call(ceilings, key)) {
      throw new ConfigError('sql', [{ path: `parseLimits.${key}`, message: `unknown limit (known: ${Object.keys(ceilings).join(', ')})` }]);
    }
    if (value === undefined) continue;
    const ceiling = ceilings[key as keyof ParseLimits];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > ceiling) {
      throw new ConfigError('sql', [{ path: `parseLimits.${key}`, message: `must be an integer from 1 to ${ceiling}` }]);
    }
    out[key] = value;
  }
  return Object.freeze(out) as unknown as ParseLimits;
}

/**
 * core's RuleEngine on EMQX rule SQL. Each engine keeps its own state for the stateful built-ins
 * (kv_store_*, proc_dict_*, getenv's cache), shared by the rules it compiles.
 */
export class SqlRuleEngine implements RuleEngine {
  private readonly functionState: FunctionState;
  private readonly parseLimits: ParseLimits;

  constructor(options: SqlRuleEngineOptions = {}) {
    this.functionState = createFunctionState(options);
    this.parseLimits = resolveParseLimits(options.parseLimits);
  }

  compileRule(sql: string, options: RuleCompileOptions = {}): CompiledRule {
    return compileRule(sql, { functionState: this.functionState, parseLimits: this.parseLimits, ...(options.ruleId === undefined ? {} : { ruleId: options.ruleId }) });
  }

  compileTemplate(text: string, options?: TemplateOptions): Template {
    return compileTemplate(text, options);
  }
}

import type { CompiledRule, RuleEngine, Template, TemplateOptions } from '@sluice/core';
import { createFunctionState, type FunctionState, type FunctionStateOptions } from './functions';
import { compileRule } from './rule';
import { compileTemplate } from './template';

/**
 * core's RuleEngine on EMQX rule SQL. Each engine keeps its own state for the stateful built-ins
 * (kv_store_*, proc_dict_*, getenv's cache), shared by the rules it compiles.
 */
export class SqlRuleEngine implements RuleEngine {
  private readonly functionState: FunctionState;

  constructor(options: FunctionStateOptions = {}) {
    this.functionState = createFunctionState(options);
  }

  compileRule(sql: string): CompiledRule {
    return compileRule(sql, { functionState: this.functionState });
  }

  compileTemplate(text: string, options?: TemplateOptions): Template {
    return compileTemplate(text, options);
  }
}

import type { CompiledRule } from '@sluice/core';
import { type CompileOptions, compileStatement } from './compile';
import { parseRule } from './parser';

/**
 * Parses and compiles one rule (EMQX rule SQL). Throws RuleSyntaxError (with 1-based line and column)
 * when the SQL does not parse. The result's evaluate() runs per message without re-parsing, returns
 * [] when FROM or WHERE filter the message out, and throws RuleEvaluationError when evaluation fails.
 */
export function compileRule(sql: string, options: CompileOptions = {}): CompiledRule {
  return compileStatement(parseRule(sql), options);
}

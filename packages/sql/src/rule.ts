import type { CompiledRule } from '@sluice/core';
import { type CompileOptions, compileStatement } from './compile';
import { LiteralSyntaxError, withCompileLimits } from './limits';
import { parseRule } from './parser';

/**
 * Parses and compiles one rule (EMQX rule SQL). Throws RuleSyntaxError (with 1-based line and column)
 * when the SQL does not parse, or holds a literal that can never evaluate (a regular expression RE2
 * refuses, a range literal over the list limit). The result's evaluate() runs per message without
 * re-parsing, returns [] when FROM or WHERE filter the message out, and throws RuleEvaluationError when
 * evaluation fails.
 */
export function compileRule(sql: string, options: CompileOptions = {}): CompiledRule {
  const statement = parseRule(sql);
  try {
    return withCompileLimits(options.functionState?.limits, () => compileStatement(statement, options));
  } catch (error) {
    throw error instanceof LiteralSyntaxError ? error.locate(sql) : error;
  }
}

import { type CompiledRule, RuleSyntaxError } from '@sluice/core';
import { type CompileOptions, compileStatement } from './compile';
import { withCompilingSchemas } from './functions/schemas';
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
  const statement = parseRule(sql, options.parseLimits);
  try {
    // without an engine (functionState), literal schema names are checked per message, not here
    return withCompilingSchemas(options.functionState?.schemas, () =>
      withCompileLimits(options.functionState?.limits, () => compileStatement(statement, options)),
    );
  } catch (error) {
    if (error instanceof RangeError) {
      // Defensive: maxDepth keeps compiling shallow, but a stack overflow must never reach a caller
      // (the HTTP API would answer 500): it is the rule's fault, so a RuleSyntaxError.
      throw new RuleSyntaxError(`the rule is too complex to compile (${error.message}) (line 1, column 1)`, 1, 1, { cause: error });
    }
    throw error instanceof LiteralSyntaxError ? error.locate(sql) : error;
  }
}

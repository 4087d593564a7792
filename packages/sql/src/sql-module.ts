import { ContainerModule, RuleEngine } from '@sluice/core';
import { resolveLimits } from './limits';
import { SqlRuleEngine, resolveParseLimits, type SqlRuleEngineOptions } from './sql-rule-engine';

/**
 * Binds core's RuleEngine to an SqlRuleEngine (one per container). `options.limits` sets the engine's
 * per-evaluation size limits (docs/sql-functions.md, "Limits"), `options.parseLimits` the longest and
 * deepest rule text (docs/sql.md, "Limits"); a bad value throws ConfigError here.
 */
export function sqlModule(options: SqlRuleEngineOptions = {}): ContainerModule {
  // a bad limit is a ConfigError now, before any container loads
  resolveLimits(options.limits);
  resolveParseLimits(options.parseLimits);
  return new ContainerModule((bindings) => {
    bindings.bind<RuleEngine>(RuleEngine).toConstantValue(new SqlRuleEngine(options));
  });
}

import { ContainerModule, RuleEngine } from '@sluice/core';
import type { FunctionStateOptions } from './functions';
import { resolveLimits } from './limits';
import { SqlRuleEngine } from './sql-rule-engine';

/**
 * Binds core's RuleEngine to an SqlRuleEngine (one per container). `options.limits` sets the engine's
 * per-evaluation size limits (docs/sql-functions.md, "Limits"); a bad value throws ConfigError here.
 */
export function sqlModule(options: FunctionStateOptions = {}): ContainerModule {
  resolveLimits(options.limits); // a bad limit is a ConfigError now, before any container loads
  return new ContainerModule((bindings) => {
    bindings.bind<RuleEngine>(RuleEngine).toConstantValue(new SqlRuleEngine(options));
  });
}

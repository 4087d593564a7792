import { ContainerModule, RuleEngine } from '@sluice/core';
import type { FunctionStateOptions } from './functions';
import { SqlRuleEngine } from './sql-rule-engine';

/** Binds core's RuleEngine to an SqlRuleEngine (one per container). */
export function sqlModule(options: FunctionStateOptions = {}): ContainerModule {
  return new ContainerModule((bindings) => {
    bindings.bind<RuleEngine>(RuleEngine).toConstantValue(new SqlRuleEngine(options));
  });
}

import { ContainerModule, RuleEngine } from '@sluice/core';
import { resolveLimits } from './limits';
import { SchemaRegistry } from './schemas/schema-registry';
import { SqlRuleEngine, resolveParseLimits, type SqlRuleEngineOptions } from './sql-rule-engine';

/**
 * Binds core's RuleEngine to an SqlRuleEngine (one per container). `options.limits` sets the engine's
 * per-evaluation size limits (docs/sql-functions.md, "Limits"), `options.parseLimits` the longest and
 * deepest rule text (docs/sql.md, "Limits"), `options.schemas` the schemas of schema_decode/schema_encode/
 * schema_check (docs/sql-functions.md, "Schemas"); a bad value or schema throws ConfigError here.
 */
export function sqlModule(options: SqlRuleEngineOptions = {}): ContainerModule {
  // a bad limit or schema is a ConfigError now, before any container loads; the schemas are compiled once, here
  const limits = resolveLimits(options.limits);
  resolveParseLimits(options.parseLimits);
  const schemas = options.schemas instanceof SchemaRegistry ? options.schemas : SchemaRegistry.compile(options.schemas, limits.maxListLength);
  const engineOptions: SqlRuleEngineOptions = { ...options, schemas };
  return new ContainerModule((bindings) => {
    bindings.bind<RuleEngine>(RuleEngine).toConstantValue(new SqlRuleEngine(engineOptions));
  });
}

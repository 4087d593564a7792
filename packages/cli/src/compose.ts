import { ConfigError, createIntegration, type ConfigIssue, type Integration, type Logger } from '@sluice/core';
import { sqlModule, type SqlRuleEngineOptions } from '@sluice/sql';
import { withLocations, type LoadedConfig } from './config-file';
import { assertNoRepublishLoops } from './republish-loop-check';

/**
 * Turns a loaded config file into an Integration (not started). Every ConfigError, from a plugin's
 * schema or from the rules, comes back pointing at its line in the file.
 */
export async function composeFromConfig(loaded: LoadedConfig, logger: Logger): Promise<Integration> {
  const { config } = loaded;
  withLocations(loaded, () => assertUniqueIds(config));
  withLocations(loaded, () => assertNoRepublishLoops(config));
  const modules = withLocations(loaded, () => [
    ...config.sources.map((entry, i) => loaded.plugins.buildModule('sources', i, entry)),
    ...config.connectors.map((entry, i) => loaded.plugins.buildModule('connectors', i, entry)),
    sqlModule(sqlEngineOptions(config)),
  ]);
  try {
    return await createIntegration({
      modules,
      rules: config.rules,
      logger,
      ...(config.node === undefined ? {} : { node: config.node }),
      ...(config.stopTimeoutMs === undefined ? {} : { stopTimeoutMs: config.stopTimeoutMs }),
      ...(config.rateIntervalMs === undefined ? {} : { rateIntervalMs: config.rateIntervalMs }),
    });
  } catch (error) {
    return withLocations(loaded, () => {
      throw error;
    });
  }
}

/**
 * The rule engine's options from the config's `sql` section (only the limits that are set) and its
 * `schemas` (their files already read by loadConfigFile).
 */
export function sqlEngineOptions(config: LoadedConfig['config']): SqlRuleEngineOptions {
  const { maxRuleLength, maxDepth, ...evaluation } = config.sql?.limits ?? {};
  const defined = (entries: object): Record<string, number> =>
    Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
  // the text limits are the parser's, the others the built-ins' (two option groups of the engine)
  const schemas = (config.schemas ?? []).map(({ name, type, source }) => ({ name, type, source: source ?? '' }));
  return { limits: defined(evaluation), parseLimits: defined({ maxRuleLength, maxDepth }), schemas };
}

/** Sources and connectors are found by id: two with one id is a config error pointing at the second. */
function assertUniqueIds(config: LoadedConfig['config']): void {
  const issues: ConfigIssue[] = [];
  for (const kind of ['sources', 'connectors'] as const) {
    const seen = new Map<unknown, number>();
    config[kind].forEach((entry, i) => {
      const first = seen.get(entry['id']);
      if (first !== undefined) issues.push({ path: `${kind}[${i}].id`, message: `${kind}[${first}] already has the id "${String(entry['id'])}": give each one its own id` });
      else seen.set(entry['id'], i);
    });
  }
  if (issues.length > 0) throw new ConfigError('sluice', issues);
}

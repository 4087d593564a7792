import { createIntegration, type Integration, type Logger } from '@sluice/core';
import { sqlModule } from '@sluice/sql';
import { withLocations, type LoadedConfig } from './config-file';
import { buildPluginModule } from './plugins';

/**
 * Turns a loaded config file into an Integration (not started). Every ConfigError, from a plugin's
 * schema or from the rules, comes back pointing at its line in the file.
 */
export async function composeFromConfig(loaded: LoadedConfig, logger: Logger): Promise<Integration> {
  const { config } = loaded;
  const modules = withLocations(loaded, () => [
    ...config.sources.map((entry, i) => buildPluginModule('sources', i, entry)),
    ...config.connectors.map((entry, i) => buildPluginModule('connectors', i, entry)),
    sqlModule(),
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

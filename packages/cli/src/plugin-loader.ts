import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue, type SluicePlugin } from '@sluice/core';
import { PluginRegistry } from './plugins';

/**
 * The registry for a config file: the built-in plugins, then each `plugins:` entry in order. An entry is a
 * package name (`@acme/sluice-webhook`) or a path (`./local-plugin.js`), resolved as `require` would from
 * the config file's directory, and must export a plugin made with definePlugin (as `plugin` or as the
 * default export). Loading runs the plugin's code: a config file is trusted like the code it names.
 * Throws a ConfigError at `plugins[i]` saying what failed and how to fix it.
 */
export function loadPlugins(specifiers: readonly string[], configFile: string): PluginRegistry {
  const registry = PluginRegistry.withBuiltIns();
  const requireFromConfig = createRequire(resolve(configFile));
  const issues: ConfigIssue[] = [];
  specifiers.forEach((specifier, i) => {
    const path = `plugins[${i}]`;
    let exported: unknown;
    try {
      exported = requireFromConfig(specifier);
    } catch (error) {
      issues.push({ path, message: loadFailure(specifier, error) });
      return;
    }
    const plugin = pluginExport(exported);
    if (plugin === undefined) {
      issues.push({ path, message: `"${specifier}" exports no plugin: export \`plugin\` (or a default export) made with definePlugin({ name, core, descriptors }) from @sluice/core` });
      return;
    }
    try {
      registry.register(plugin);
    } catch (error) {
      issues.push({ path, message: `"${specifier}": ${(error as Error).message}` });
    }
  });
  if (issues.length > 0) throw new ConfigError('sluice', issues);
  return registry;
}

/** `plugin`, else the default export (a CommonJS `module.exports = plugin` or an ES module's `export default`). */
function pluginExport(exported: unknown): SluicePlugin | undefined {
  if (typeof exported !== 'object' || exported === null) return undefined;
  const named = exported as { plugin?: unknown; default?: unknown; descriptors?: unknown };
  if (named.plugin !== undefined) return named.plugin as SluicePlugin;
  if (named.default !== undefined) {
    const fallback = named.default as { plugin?: unknown };
    return (typeof fallback === 'object' && fallback !== null && fallback.plugin !== undefined ? fallback.plugin : named.default) as SluicePlugin;
  }
  return named.descriptors !== undefined ? (exported as SluicePlugin) : undefined;
}

function loadFailure(specifier: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${specifier}'`)) {
    const hint = specifier.startsWith('.')
      ? 'the path is taken relative to the config file\'s directory'
      : isAbsolute(specifier)
        ? 'no file, or package folder, is at that path'
        : 'install it next to the config file (npm install ' + specifier + ') or give a path such as ./plugins/my-plugin.js';
    return `cannot find plugin "${specifier}": ${hint}`;
  }
  const reason = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0] ?? ''}` : String(error);
  return `plugin "${specifier}" failed while loading (${reason}); fix the plugin or remove the entry`;
}

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '@sluice/core';
import { parse } from 'yaml';
import { loadPlugins } from '../plugin-loader';
import { configJsonSchema } from '../schema/config-schema';
import { CliError, ExitCode } from '../exit-codes';
import type { CommandIo } from './io';

export const schemaHelp = `Usage: sluice schema [-c <config>] [--plugin <name or path>]... [-o <file>]

Prints the JSON Schema of config files (for editors: yaml-language-server, VS Code), with the source
and connector types of the built-in plugins and of third-party ones:
  -c, --config <file>   also the plugins listed under \`plugins:\` in that file (resolved from its
                        directory; the rest of the file is not checked, so it may be unfinished)
  --plugin <spec>       also this plugin (a package name or a path, resolved from the current
                        directory); repeatable
  -o, --output <file>   write the schema to a file instead of standard output

Exit codes: 0 written, 2 invalid usage or a plugin that cannot be loaded.`;

export async function schema(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: 'string', short: 'c' },
      plugin: { type: 'string', multiple: true },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.out(schemaHelp);
    return ExitCode.ok;
  }
  const fromConfig = values.config === undefined ? [] : pluginListOf(values.config);
  // entries given on the command line resolve from the current directory, as a config file there would
  const configFile = values.config ?? join(process.cwd(), 'sluice.yaml');
  // a flag naming an existing file or folder is a path even without a leading ./ (as a shell user types it)
  const fromFlags = (values.plugin ?? []).map((spec) => (spec.startsWith('.') || existsSync(spec) ? resolve(spec) : spec));
  const registry = loadPlugins([...fromConfig, ...fromFlags], configFile);
  const text = `${JSON.stringify(configJsonSchema(registry), null, 2)}\n`;
  if (values.output === undefined) io.out(text.trimEnd());
  else writeFileSync(values.output, text);
  return ExitCode.ok;
}

/** The `plugins:` list of a config file, read without validating the rest of it. */
function pluginListOf(file: string): string[] {
  let document: unknown;
  try {
    document = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0];
    throw new CliError(`cannot read the plugins of ${file} (${reason})`, ExitCode.invalid);
  }
  const plugins = (document as { plugins?: unknown } | null)?.plugins;
  if (plugins === undefined) return [];
  if (!Array.isArray(plugins) || !plugins.every((entry) => typeof entry === 'string' && entry !== '')) {
    throw new ConfigError('sluice', [{ path: 'plugins', message: `in ${file}: a list of package names or paths, e.g. [./plugins/webhook.js]` }]);
  }
  return plugins as string[];
}

import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { ConfigError, type ConfigIssue } from '@sluice/core';
import { ConfigFileError, loadConfigFile, withLocations, type LoadedConfig } from '../config-file';
import { assertNoRepublishLoops } from '../republish-loop-check';
import type { PendingSecret } from './secret-entries';

/**
 * Checks a candidate config text the way `sluice run` and a reload check a file: it is written to a
 * temp file beside the config (same directory, so `plugins:` paths resolve the same; same extension, so
 * a .json file is parsed as strict JSON) and loaded with loadConfigFile, then every source and
 * connector is built and the rules' references are checked. Secrets not stored yet are read from temp
 * files of their own. Errors name the config file and the final secret paths, never the temp ones.
 */
export async function validateCandidate(file: string, text: string, env: NodeJS.ProcessEnv, secrets: readonly PendingSecret[]): Promise<void> {
  const suffix = randomBytes(6).toString('hex');
  const tempConfig = join(dirname(file), `.${basename(file)}.${suffix}.check${extname(file)}`);
  const tempSecrets = secrets.map((secret) => ({ ...secret, temp: join(dirname(secret.path), `.${basename(secret.path)}.${suffix}.check`) }));
  const renames: Array<[string, string]> = [[tempConfig, file], ...tempSecrets.map((s): [string, string] => [s.temp, s.path])];
  try {
    let candidate = text;
    for (const secret of tempSecrets) {
      // the value is written as it is, plus the newline that resolveSecrets drops again
      await writeFile(secret.temp, `${secret.value}\n`, { mode: 0o600, flag: 'wx' });
      candidate = candidate.split(secret.reference).join(`\${file:${secret.temp}}`);
    }
    await writeFile(tempConfig, candidate, { mode: 0o600, flag: 'wx' });
    const loaded = loadConfigFile(tempConfig, env);
    withLocations(loaded, () => {
      loaded.config.sources.forEach((entry, i) => loaded.plugins.buildModule('sources', i, entry));
      loaded.config.connectors.forEach((entry, i) => loaded.plugins.buildModule('connectors', i, entry));
      assertNoRepublishLoops(loaded.config);
      assertReferencesExist(loaded.config);
    });
  } catch (error) {
    throw error instanceof ConfigError ? relabelled(error, file, renames) : error;
  } finally {
    await Promise.all([tempConfig, ...tempSecrets.map((s) => s.temp)].map((path) => rm(path, { force: true })));
  }
}

/**
 * What composing the integration would refuse later: an action naming a connector, or a rule naming a
 * source, that the config does not have (worded as @sluice/core words it).
 */
export function assertReferencesExist(config: LoadedConfig['config']): void {
  const issues: ConfigIssue[] = [];
  const connectors = config.connectors.map((entry) => String(entry['id']));
  const sources = config.sources.map((entry) => String(entry['id']));
  config.rules.forEach((rule, r) => {
    rule.sources?.forEach((id, s) => {
      if (!sources.includes(id)) issues.push({ path: `rules[${r}].sources[${s}]`, message: `no source has the id "${id}" (known: ${sources.join(', ') || 'none'})` });
    });
    const check = (connector: string, path: string): void => {
      if (!connectors.includes(connector)) issues.push({ path, message: `no connector has the id "${connector}" (known: ${connectors.join(', ') || 'none'})` });
    };
    rule.actions.forEach((action, a) => {
      check(action.connector, `rules[${r}].actions[${a}].connector`);
      action.fallbackActions?.forEach((fallback, f) => check(fallback.connector, `rules[${r}].actions[${a}].fallbackActions[${f}].connector`));
    });
  });
  if (issues.length > 0) throw new ConfigError('integration', issues);
}

/** The error with the temp paths in its messages replaced by the real ones. */
function relabelled(error: ConfigError, file: string, renames: ReadonlyArray<[string, string]>): ConfigError {
  const fix = (text: string): string => renames.reduce((out, [from, to]) => out.split(from).join(to), text);
  const issues = error.issues.map((issue) => ({ ...issue, message: fix(issue.message) }));
  const out = error instanceof ConfigFileError
    ? new ConfigFileError(new ConfigError(error.plugin, issues), file, () => undefined)
    : new ConfigError(error.plugin, issues);
  out.message = fix(error.message);
  return out;
}

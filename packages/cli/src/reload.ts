import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, type Integration, type Logger, type RuleChangeReport } from '@sluice/core';
import { ConfigFileError, loadConfigFile, withLocations, type ConfigFile, type LoadedConfig } from './config-file';

/** What one reload did. */
export type ReloadOutcome =
  | { readonly applied: true; readonly rules: RuleChangeReport; readonly needsRestart: readonly string[] }
  | { readonly applied: false; readonly error: string };

/**
 * Re-reads the config file of a running integration and applies what can change at run time: the rules
 * and their actions, swapped through Integration.setRules (all-or-nothing, no message dropped or
 * duplicated). Changes to sources, connectors and the runner's own settings are reported as needing a
 * restart. A config that does not validate is refused and the running one stays.
 */
export class ConfigReloader {
  /** The settings that were applied at start-up; run-time changes to them need a restart. */
  private readonly startup: Readonly<Record<string, string>>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly app: Integration,
    running: LoadedConfig,
    private readonly logger: Logger,
    /** The logger's set of values to scrub; secrets a reload resolves are added to it. */
    private readonly secrets?: Set<string>,
    /** Told of each config file that loaded, before its rules are applied (the API's SecretFields). */
    private readonly onLoaded?: (loaded: LoadedConfig) => void,
  ) {
    this.startup = restartSections(running.config);
  }

  /** Reloads now (reloads never overlap: a second call waits for the first). */
  reload(trigger: string): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.reloadNow(trigger));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(trigger: string): Promise<ReloadOutcome> {
    let loaded: LoadedConfig;
    try {
      loaded = loadConfigFile(this.file, this.env);
      for (const secret of loaded.secrets) this.secrets?.add(secret);
      this.onLoaded?.(loaded);
      // Source and connector options are validated even though changing them needs a restart: a
      // broken file is refused as a whole, so what runs always matches a valid file.
      withLocations(loaded, () => {
        loaded.config.sources.forEach((entry, i) => loaded.plugins.buildModule('sources', i, entry));
        loaded.config.connectors.forEach((entry, i) => loaded.plugins.buildModule('connectors', i, entry));
      });
    } catch (error) {
      return this.refuse(trigger, error);
    }
    const wanted = restartSections(loaded.config);
    const needsRestart = [...new Set([...Object.keys(this.startup), ...Object.keys(wanted)])].filter((key) => this.startup[key] !== wanted[key]).sort();
    let rules: RuleChangeReport;
    try {
      rules = await this.app.setRules(loaded.config.rules);
    } catch (error) {
      return this.refuse(trigger, error instanceof ConfigError && !(error instanceof ConfigFileError) ? new ConfigFileError(error, loaded.file, loaded.locate) : error);
    }
    this.logger.info('reload applied', { trigger, added: rules.added, replaced: rules.replaced, removed: rules.removed });
    if (needsRestart.length > 0) {
      this.logger.warn('reload: these settings changed and take effect only after a restart', { settings: needsRestart });
    }
    return { applied: true, rules, needsRestart: [...new Set([...needsRestart, ...rules.restartNeeded.map((id) => `sources[${id}] subscriptions`)])] };
  }

  private refuse(trigger: string, error: unknown): ReloadOutcome {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error('reload refused; the running configuration stays', { trigger, error: message });
    return { applied: false, error: message };
  }
}

/**
 * The parts of a config that only a restart applies, keyed by a readable name (`sources[plant]`,
 * `connectors[local]`, `http`, ...), each as comparable text. Secrets are already resolved, so a
 * rotated password shows up as a change too; the text is compared, never logged.
 */
function restartSections(config: ConfigFile): Record<string, string> {
  const out: Record<string, string> = {};
  config.sources.forEach((entry, i) => (out[`sources[${String(entry['id'] ?? i)}]`] = stableJson(entry)));
  config.connectors.forEach((entry, i) => (out[`connectors[${String(entry['id'] ?? i)}]`] = stableJson(entry)));
  // plugin code is loaded once per process (require's cache): a changed list, or a changed plugin, needs a restart
  out['plugins'] = stableJson(config.plugins);
  out['node'] = stableJson(config.node);
  out['stopTimeoutMs'] = stableJson(config.stopTimeoutMs);
  out['rateIntervalMs'] = stableJson(config.rateIntervalMs);
  out['http'] = stableJson(config.http);
  out['sql'] = stableJson(config.sql);
  out['log'] = stableJson(config.log);
  return out;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/**
 * Calls `onChange` when `file` changes. Watches the directory rather than the file, because editors
 * and config-management tools often replace a file (write a new one, rename it over the old) and a
 * watch on the old inode would go quiet. Bursts of events (one save = several) are coalesced.
 */
export function watchConfigFile(file: string, onChange: () => void, coalesceMs = 200): { close(): void } {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, coalesceMs);
  });
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

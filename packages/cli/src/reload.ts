import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, RuleSyntaxError, type ContainerModule, type Integration, type Logger, type RuleChangeReport } from '@sluice/core';
import { SqlRuleEngine } from '@sluice/sql';
import { sqlEngineOptions } from './compose';
import { ConfigFileError, loadConfigFile, withLocations, type ConfigFile, type LoadedConfig } from './config-file';
import { assertReferencesExist } from './config-store/config-validation';
import type { PluginRegistry } from './plugins';
import { assertNoRepublishLoops } from './republish-loop-check';

/** The ids of the sources or connectors one reload added, replaced and removed. */
export interface ComponentChanges {
  readonly added: readonly string[];
  readonly replaced: readonly string[];
  readonly removed: readonly string[];
}

/** What one reload did. */
export type ReloadOutcome =
  | {
    readonly applied: true;
    readonly rules: RuleChangeReport;
    readonly connectors: ComponentChanges;
    readonly sources: ComponentChanges;
    readonly needsRestart: readonly string[];
  }
  /** `cause` is the error itself (a ConfigError carries issues), for callers that answer with them. */
  | { readonly applied: false; readonly error: string; readonly cause?: unknown };

type Section = 'sources' | 'connectors';

/** A source or connector entry as it runs: its resolved entry and the registry that built it. */
interface AppliedEntry {
  readonly json: string;
  readonly entry: { readonly type: string } & Record<string, unknown>;
  readonly plugins: PluginRegistry;
}

/**
 * How to take back one step of a reload. `leaves` says what runs for each source or connector the step puts
 * back if it fails itself (the refused file's entry, or nothing): `applied` then records that, marked as not
 * matching any file, so that the next reload applies the entry again.
 */
interface UndoStep {
  readonly run: () => Promise<unknown>;
  readonly section?: Section;
  readonly leaves: ReadonlyArray<{ readonly id: string; readonly running: AppliedEntry | undefined }>;
}

/** The `json` of an applied entry whose running state is not known to match any file: never equal to stableJson's. */
const UNKNOWN_JSON = '';

/** One source or connector entry of the file being reloaded, built (so validated). */
interface WantedEntry extends AppliedEntry {
  readonly id: string;
  readonly module: ContainerModule;
}

/**
 * Re-reads the config file of a running integration and applies what can change at run time: sources,
 * connectors, and the rules with their actions. In that order of need: new and changed sources are
 * installed first (Integration.upsertSource: a replaced one finishes its in-flight messages), then the new
 * and changed connectors together with the file's rules in one swap (Integration.upsertConnectors with
 * `rules`: a connector's new settings may need its actions' new settings, so the rules are built against
 * the new connectors; without connector changes, Integration.setRules; all-or-nothing, no message dropped or
 * duplicated), then the connectors and sources the file no longer has are removed, once no rule uses them. A step that fails takes back the steps before it, so the running integration
 * stays as it was. Only the runner's own settings (node, http, log, sql, plugins, stopTimeoutMs,
 * rateIntervalMs) are reported as needing a restart. A config that does not validate is refused and
 * the running one stays.
 */
export class ConfigReloader {
  /** The settings that were applied at start-up; run-time changes to them need a restart. */
  private readonly startup: Readonly<Record<string, string>>;
  /** The sources and connectors running now, by id, as their entries were when installed. */
  private readonly applied: Record<Section, Map<string, AppliedEntry>>;
  /** Compiles a reloaded file's rules as the running engine will: its limits and its schemas. */
  private readonly ruleChecker: SqlRuleEngine;
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
    // the running engine keeps the limits and schemas it started with (a changed `sql` or `schemas` needs a
    // restart), so a rule naming a schema the running engine lacks is refused here, before anything changes
    this.ruleChecker = new SqlRuleEngine(sqlEngineOptions(running.config));
    const entries = (section: Section): Map<string, AppliedEntry> => new Map(running.config[section].map((entry) => [
      String(entry['id']),
      { json: stableJson(entry), entry, plugins: running.plugins },
    ]));
    this.applied = { sources: entries('sources'), connectors: entries('connectors') };
  }

  /** Reloads now (reloads never overlap: a second call waits for the first). */
  reload(trigger: string): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.reloadNow(trigger));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(trigger: string): Promise<ReloadOutcome> {
    let loaded: LoadedConfig;
    let wanted: Record<Section, WantedEntry[]>;
    try {
      loaded = loadConfigFile(this.file, this.env);
      for (const secret of loaded.secrets) this.secrets?.add(secret);
      this.onLoaded?.(loaded);
      // every source and connector is built, changed or not: a broken file is refused as a whole, so
      // what runs always matches a valid file
      const build = (section: Section): WantedEntry[] => loaded.config[section].map((entry, i) => ({
        id: String(entry['id']),
        json: stableJson(entry),
        entry,
        plugins: loaded.plugins,
        module: loaded.plugins.buildModule(section, i, entry),
      }));
      wanted = withLocations(loaded, () => {
        const built = { sources: build('sources'), connectors: build('connectors') };
        // checked here rather than met half-way through the change (an action naming a removed connector,
        // a rule that does not compile), so that a refused file changes no source or connector either
        assertNoRepublishLoops(loaded.config);
        assertReferencesExist(loaded.config);
        assertRulesCompile(loaded.config, this.ruleChecker);
        return built;
      });
    } catch (error) {
      return this.refuse(trigger, error);
    }
    const runner = restartSections(loaded.config);
    const needsRestart = [...new Set([...Object.keys(this.startup), ...Object.keys(runner)])].filter((key) => this.startup[key] !== runner[key]).sort();

    const undo: UndoStep[] = [];
    let rules: RuleChangeReport;
    let changes: Record<Section, ComponentChanges>;
    try {
      // new and changed sources first: the new rules may name them
      const sources = await this.upsertChanged('sources', wanted.sources, undo);
      let connectors: Omit<ComponentChanges, 'removed'>;
      try {
        ({ rules, connectors } = await this.applyConnectorsAndRules(wanted.connectors, loaded.config.rules, undo));
      } catch (error) {
        throw error instanceof ConfigError && !(error instanceof ConfigFileError) ? new ConfigFileError(error, loaded.file, loaded.locate) : error;
      }
      // removed ones last, once no rule uses them any more
      changes = {
        connectors: { ...connectors, removed: await this.removeMissing('connectors', wanted.connectors, undo) },
        sources: { ...sources, removed: await this.removeMissing('sources', wanted.sources, undo) },
      };
    } catch (error) {
      await this.takeBack(undo);
      return this.refuse(trigger, error);
    }
    for (const section of ['sources', 'connectors'] as const) {
      this.applied[section] = new Map(wanted[section].map(({ id, json, entry, plugins }) => [id, { json, entry, plugins }]));
    }
    const changed = (c: ComponentChanges): boolean => c.added.length + c.replaced.length + c.removed.length > 0;
    this.logger.info('reload applied', {
      trigger, added: rules.added, replaced: rules.replaced, removed: rules.removed,
      ...(changed(changes.connectors) ? { connectors: changes.connectors } : {}),
      ...(changed(changes.sources) ? { sources: changes.sources } : {}),
    });
    if (needsRestart.length > 0) {
      this.logger.warn('reload: these settings changed and take effect only after a restart', { settings: needsRestart });
    }
    return {
      applied: true,
      rules,
      connectors: changes.connectors,
      sources: changes.sources,
      needsRestart: [...new Set([...needsRestart, ...rules.restartNeeded.map((id) => `sources[${id}] subscriptions`)])],
    };
  }

  /**
   * Installs the connectors that are new or differ from the running ones together with `rules`, in one swap
   * (their actions are built against the new connectors, so a connector change needing matching action
   * changes is accepted, as a restart would accept it); records how to take it back: the old connectors
   * with the old rules, again in one swap, then the added ones removed.
   */
  private async applyConnectorsAndRules(
    wanted: readonly WantedEntry[],
    rules: ConfigFile['rules'],
    undo: UndoStep[],
  ): Promise<{ rules: RuleChangeReport; connectors: Omit<ComponentChanges, 'removed'> }> {
    const before = this.app.rules().map((rule) => this.app.ruleDefinition(rule.id)).filter((d) => d !== undefined);
    const changed = wanted.filter((entry) => this.applied.connectors.get(entry.id)?.json !== entry.json);
    if (changed.length === 0) {
      const report = await this.app.setRules(rules);
      undo.push({ run: () => this.app.setRules(before), leaves: [] });
      return { rules: report, connectors: { added: [], replaced: [] } };
    }
    const report = await this.app.upsertConnectors(changed.map((entry) => entry.module), { rules });
    const added = changed.filter((entry) => !this.applied.connectors.has(entry.id)).map((entry) => entry.id);
    const replaced = changed.filter((entry) => this.applied.connectors.has(entry.id));
    for (const entry of changed.filter((e) => added.includes(e.id))) {
      undo.push({ run: () => this.remove('connectors', entry.id), section: 'connectors', leaves: [{ id: entry.id, running: entry }] });
    }
    const previous = replaced.map((entry) => rebuild('connectors', this.applied.connectors.get(entry.id) as AppliedEntry));
    undo.push({
      run: () => previous.length === 0 ? this.app.setRules(before) : this.app.upsertConnectors(previous, { rules: before }),
      section: 'connectors',
      leaves: replaced.map((entry) => ({ id: entry.id, running: entry })),
    });
    return { rules: report.rules as RuleChangeReport, connectors: { added, replaced: replaced.map((entry) => entry.id) } };
  }

  /** Installs the entries that are new or differ from the running ones; records how to take each back. */
  private async upsertChanged(section: Section, wanted: readonly WantedEntry[], undo: UndoStep[]): Promise<Omit<ComponentChanges, 'removed'>> {
    const added: string[] = [];
    const replaced: string[] = [];
    for (const entry of wanted) {
      const running = this.applied[section].get(entry.id);
      if (running?.json === entry.json) continue;
      await this.upsert(section, entry.module);
      if (running === undefined) {
        added.push(entry.id);
        undo.push({ run: () => this.remove(section, entry.id), section, leaves: [{ id: entry.id, running: entry }] });
      } else {
        replaced.push(entry.id);
        undo.push({ run: () => this.upsert(section, rebuild(section, running)), section, leaves: [{ id: entry.id, running: entry }] });
      }
    }
    return { added, replaced };
  }

  /** Removes the running entries the file no longer has; records how to take each back. */
  private async removeMissing(section: Section, wanted: readonly WantedEntry[], undo: UndoStep[]): Promise<string[]> {
    const ids = new Set(wanted.map((entry) => entry.id));
    const removed: string[] = [];
    for (const [id, running] of this.applied[section]) {
      if (ids.has(id)) continue;
      await this.remove(section, id);
      removed.push(id);
      undo.push({ run: () => this.upsert(section, rebuild(section, running)), section, leaves: [{ id, running: undefined }] });
    }
    return removed;
  }

  private upsert(section: Section, module: ContainerModule): Promise<unknown> {
    return section === 'connectors' ? this.app.upsertConnector(module) : this.app.upsertSource(module);
  }

  private remove(section: Section, id: string): Promise<boolean> {
    return section === 'connectors' ? this.app.removeConnector(id) : this.app.removeSource(id);
  }

  /**
   * Runs the undo steps, last first; one that fails is logged and the others still run. The entries a failed
   * step should have put back are recorded as they run now (or as gone), marked as matching no file, so that
   * the next reload (e.g. the one that follows the API restoring the file) applies them again.
   */
  private async takeBack(undo: readonly UndoStep[]): Promise<void> {
    for (const step of [...undo].reverse()) {
      try {
        await step.run();
      } catch (error) {
        const ids = step.leaves.map((leave) => leave.id);
        if (step.section !== undefined) {
          const applied = this.applied[step.section];
          for (const { id, running } of step.leaves) {
            if (running === undefined) applied.delete(id);
            else applied.set(id, { json: UNKNOWN_JSON, entry: running.entry, plugins: running.plugins });
          }
        }
        this.logger.error('reload: taking back a step of the refused change failed; what it should have put back runs as the refused file has it until the next reload applies it again', {
          ...(step.section === undefined ? { section: 'rules' } : { section: step.section, ids }),
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  private refuse(trigger: string, error: unknown): ReloadOutcome {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error('reload refused; the running configuration stays', { trigger, error: message });
    return { applied: false, error: message, cause: error };
  }
}

/** Each rule's SQL compiled as setRules will compile it; the error as the integration words it (`rules[i].sql`). */
function assertRulesCompile(config: ConfigFile, engine: SqlRuleEngine): void {
  config.rules.forEach((rule, r) => {
    try {
      engine.compileRule(rule.sql);
    } catch (error) {
      if (error instanceof RuleSyntaxError) throw new ConfigError('integration', [{ path: `rules[${r}].sql`, message: `rule "${rule.id}": ${error.message}` }], { cause: error });
      // anything else is setRules' to report, with the change taken back
    }
  });
}

/** The module of an entry that ran before (validated then, so it builds again). */
function rebuild(section: Section, running: AppliedEntry): ContainerModule {
  return running.plugins.buildModule(section, 0, running.entry);
}

/**
 * The parts of a config that only a restart applies, keyed by their name (`http`, `plugins`, ...),
 * each as comparable text. Secrets are already resolved, so a
 * rotated password shows up as a change too; the text is compared, never logged.
 */
function restartSections(config: ConfigFile): Record<string, string> {
  const out: Record<string, string> = {};
  // plugin code is loaded once per process (require's cache): a changed list, or a changed plugin, needs a restart
  out['plugins'] = stableJson(config.plugins);
  out['node'] = stableJson(config.node);
  out['stopTimeoutMs'] = stableJson(config.stopTimeoutMs);
  out['rateIntervalMs'] = stableJson(config.rateIntervalMs);
  out['http'] = stableJson(config.http);
  out['sql'] = stableJson(config.sql);
  // the engine compiles its schemas once: a changed schema, or schema file (read when the file is loaded), needs a restart
  out['schemas'] = stableJson(config.schemas);
  out['log'] = stableJson(config.log);
  // the member joined its cluster's topics at start-up
  out['cluster'] = stableJson(config.cluster);
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

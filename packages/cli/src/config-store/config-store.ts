import type { RuleDefinition } from '@sluice/core';

/**
 * The config as stored, before secret references are resolved: what a person wrote, `${env:…}` and
 * `${file:…}` references included. It may hold a plain secret typed into the file by hand, so an API
 * answer built from it must redact secret fields first.
 */
export type ConfigDocument = Readonly<Record<string, unknown>>;

/** One `sources[]` or `connectors[]` entry: `type` picks the plugin, `id` names it, the rest are its options. */
export type PluginEntry = { readonly type: string; readonly id: string } & Readonly<Record<string, unknown>>;

/** The stored config and the revision it was read at; hand the revision back with an edit. */
export interface ConfigSnapshot {
  /** Opaque; two snapshots have the same revision only when their stored config is the same. */
  readonly revision: string;
  readonly document: ConfigDocument;
}

/**
 * One change to the stored config. Upserts replace the entry with that id as a whole (a new id is
 * appended), except for secret fields (passwords, tokens, ...): there, a field left out or given as
 * `[redacted]` keeps the stored value (the console never receives secrets back), `null` removes it, and a
 * plain value is stored away from the config and referenced (see FileConfigStore).
 */
export type ConfigEdit =
  | { readonly op: 'upsert-rule'; readonly rule: RuleDefinition }
  | { readonly op: 'remove-rule'; readonly id: string }
  | { readonly op: 'set-rule-enabled'; readonly id: string; readonly enabled: boolean }
  | { readonly op: 'upsert-connector'; readonly connector: PluginEntry }
  | { readonly op: 'remove-connector'; readonly id: string }
  | { readonly op: 'upsert-source'; readonly source: PluginEntry }
  | { readonly op: 'remove-source'; readonly id: string };

/**
 * Where the config that `sluice run` loads is kept, and the one way the REST API and the console change
 * it, so that a change survives a restart and a reload. Edits are optimistic: the caller names the
 * revision it read, and an edit based on an older one is refused with ConfigConflictError (read again,
 * re-apply, retry). The edited config is validated as a whole before it is stored: a config that would
 * not load is refused with the ConfigError (ConfigFileError) loading it would give, and nothing changes.
 */
export interface ConfigStore {
  read(): Promise<ConfigSnapshot>;
  /**
   * Applies `edits` in order, all or none, to the config at revision `basedOn`, and answers the new
   * snapshot. Throws ConfigConflictError when the stored config is no longer at `basedOn`,
   * ConfigEntryNotFoundError when a remove or set-rule-enabled names an id that is not there,
   * ConfigError for a config that would not load, ConfigStoreError when the change cannot be stored.
   */
  apply(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigSnapshot>;
  /**
   * As apply, but the change can still be taken back: the new config is stored (a reload reads it), and
   * the caller then calls `keep()` once the running integration took it, or `undo()` when it refused it.
   * Until then what the change replaced (the old config, secrets it no longer references) stays
   * recoverable. The caller serialises: another apply before keep/undo makes `undo()` a conflict.
   */
  change(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigChange>;
}

/** A stored change that may still be taken back (see ConfigStore.change). */
export interface ConfigChange {
  /** The config as the change left it. */
  readonly snapshot: ConfigSnapshot;
  /** Makes the change final (drops what only undo needed). */
  keep(): Promise<void>;
  /**
   * Puts the stored config back as it was before the change (byte for byte for a file) and drops what
   * the change stored. ConfigConflictError when the config changed again since.
   */
  undo(): Promise<void>;
}

/** A ConfigStore failure other than an invalid config. Never carries a secret value. */
export class ConfigStoreError extends Error {
  readonly code: 'ERR_CONFIG_CONFLICT' | 'ERR_CONFIG_NOT_FOUND' | 'ERR_CONFIG_STORE';
  constructor(code: ConfigStoreError['code'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The stored config changed since the caller read it (another edit, or a person editing the file). HTTP 409. */
export class ConfigConflictError extends ConfigStoreError {
  constructor(message: string) {
    super('ERR_CONFIG_CONFLICT', message);
  }
}

/** A remove or set-rule-enabled names an entry that is not in the stored config. HTTP 404. */
export class ConfigEntryNotFoundError extends ConfigStoreError {
  constructor(readonly section: 'sources' | 'connectors' | 'rules', readonly id: string) {
    super('ERR_CONFIG_NOT_FOUND', `${section} has no entry with the id ${JSON.stringify(id.slice(0, 200))}`);
  }
}

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '@sluice/core';
import { writeFileAtomic } from './atomic-write';
import {
  ConfigConflictError, ConfigEntryNotFoundError, ConfigStoreError, type ConfigChange, type ConfigDocument, type ConfigEdit, type ConfigSnapshot, type ConfigStore,
} from './config-store';
import { validateCandidate } from './config-validation';
import { isPlainObject, isStoredSecretName, storableEntry, storableRule, type PendingSecret } from './secret-entries';
import { JsonConfigText } from './json-config-text';
import { YamlConfigText, type ConfigText, type Section } from './yaml-config-text';

export interface FileConfigStoreOptions {
  /** The config file `sluice run` loads (YAML, or JSON when it ends in `.json`). */
  readonly file: string;
  /** Resolves `${env:…}` references while an edit is validated (the CLI passes process.env). */
  readonly env: NodeJS.ProcessEnv;
  /** Where secrets typed into the console are stored; default `secrets/` beside the config file. */
  readonly secretsDir?: string;
}

/**
 * A ConfigStore on the config file itself, which stays the single source of truth and hand-editable:
 * edits are spliced into the text (YAML comments, order, blank lines, anchors and secret references
 * outside the edited entries are kept byte for byte; see YamlConfigText), a JSON file is rewritten as
 * JSON. The revision is the SHA-256 of the file's bytes, so a hand edit is a new revision whatever its
 * mtime. A write is atomic and is refused when the file changed since `basedOn`, checked once more just
 * before the rename. Two writers in one process are serialised; two processes are told apart by the
 * hash check alone (a narrow window remains between that check and the rename).
 *
 * A secret field given a plain value goes into a new file of its own,
 * `<secretsDir>/<section>.<id>.<field>.<random>` (mode 0600, directory 0700 when the store creates it),
 * referenced from the config as `${file:<absolute path>}`: config-file.ts reads such paths relative to
 * the working directory of `sluice run`, so only an absolute one resolves from anywhere. A file the
 * stored config references is never written to (a crash before the config is renamed into place leaves
 * the old config with its old secrets); the store's own secret files the old config referenced and the
 * new one does not are deleted once the new config is in place.
 */
export class FileConfigStore implements ConfigStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: FileConfigStoreOptions) {}

  async read(): Promise<ConfigSnapshot> {
    const { text, revision } = await this.readFile(await this.target());
    return { revision, document: parseModel(text) };
  }

  async apply(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigSnapshot> {
    const change = await this.change(basedOn, edits);
    await change.keep();
    return change.snapshot;
  }

  change(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigChange> {
    return this.serialised(() => this.changeNow(basedOn, edits));
  }

  /**
   * Makes the file's `sources`, `connectors` and `rules` exactly `sections`, entries given in their stored
   * form (secret references as they are, no secret handling): cluster mode writes the cluster's shared
   * configuration into each member's file with it. Entries are matched by id: a changed one is replaced in
   * place, a missing one removed, a new one appended; the rest of the file stays byte for byte. Validated
   * as an edit is (ConfigError for a config that would not load, and nothing changes).
   */
  mirror(sections: Readonly<Record<Section, readonly unknown[]>>): Promise<ConfigSnapshot> {
    return this.serialised(async () => {
      const file = await this.target();
      const { text, revision } = await this.readFile(file);
      const model = parseModel(text);
      const editor: ConfigText = isJson(this.options.file) ? new JsonConfigText(text) : new YamlConfigText(text);
      for (const section of ['sources', 'connectors', 'rules'] as const) mirrorSection(editor, model[section], sections[section], section);
      const written = editor.toString();
      if (written === text) return { revision, document: model };
      await validateCandidate(file, written, this.options.env, []);
      const { mode } = await stat(file);
      await writeFileAtomic(file, written, mode & 0o7777, async () => {
        if ((await this.readFile(file)).revision !== revision) throw conflict(this.options.file);
      });
      return { revision: revisionOf(Buffer.from(written, 'utf8')), document: parseModel(written) };
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async changeNow(basedOn: string, edits: readonly ConfigEdit[]): Promise<ConfigChange> {
    // A symlinked config (a checked-out dotfile, a mounted volume) is edited where it really lives.
    const file = await this.target();
    const { text, revision } = await this.readFile(file);
    if (revision !== basedOn) throw conflict(this.options.file);
    const secretsDir = this.options.secretsDir ?? join(dirname(file), 'secrets');
    const model = structuredClone(parseModel(text)) as Record<string, unknown>;
    const editor: ConfigText = isJson(this.options.file) ? new JsonConfigText(text) : new YamlConfigText(text);
    const typed: PendingSecret[] = [];
    for (const edit of edits) applyEdit(editor, model, plainData(edit) as ConfigEdit, secretsDir, typed);
    const written = editor.toString();
    if (written === text) return { snapshot: { revision, document: parseModel(text) }, keep: async () => undefined, undo: async () => undefined };
    // a secret set twice in one batch is stored once, with the last value (the first one's file is not referenced)
    const secrets = typed.filter((secret) => written.includes(secret.reference));

    if (secrets.length > 0) await ensureSecretsDir(secretsDir);
    await validateCandidate(file, written, this.options.env, secrets);
    const { mode } = await stat(file);
    const discard = await this.storeSecrets(secrets);
    try {
      await writeFileAtomic(file, written, mode & 0o7777, async () => {
        if ((await this.readFile(file)).revision !== basedOn) throw conflict(this.options.file);
      });
    } catch (error) {
      await discard();
      throw error;
    }
    const writtenRevision = revisionOf(Buffer.from(written, 'utf8'));
    let settled = false;
    const settle = (work: () => Promise<void>): Promise<void> => this.serialised(async () => {
      if (settled) return;
      settled = true;
      await work();
    });
    return {
      snapshot: { revision: writtenRevision, document: parseModel(written) },
      // the secret files only the old config referenced go once the change is final: undo needs them
      keep: () => settle(() => removeReplacedSecrets(secretsDir, text, written)),
      undo: () => settle(async () => {
        await writeFileAtomic(file, text, mode & 0o7777, async () => {
          if ((await this.readFile(file)).revision !== writtenRevision) throw conflict(this.options.file);
        });
        await discard();
      }),
    };
  }

  /**
   * Writes the secret files, each under a new name (nothing the stored config references is touched);
   * the returned function deletes them again (for a config write that failed).
   */
  private async storeSecrets(secrets: readonly PendingSecret[]): Promise<() => Promise<void>> {
    const created: string[] = [];
    const discard = async (): Promise<void> => {
      await Promise.all(created.map((path) => rm(path, { force: true })));
    };
    try {
      for (const secret of secrets) {
        // one trailing newline, which resolveSecrets drops: a value ending in a newline keeps it
        await writeFileAtomic(secret.path, `${secret.value}\n`, 0o600);
        created.push(secret.path);
      }
    } catch (error) {
      await discard();
      throw new ConfigStoreError('ERR_CONFIG_STORE', `cannot store a secret under ${dirname(secrets[0]?.path ?? '')} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return discard;
  }

  private async target(): Promise<string> {
    try {
      return await realpath(this.options.file);
    } catch (error) {
      throw new ConfigStoreError('ERR_CONFIG_STORE', `cannot read ${this.options.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  private async readFile(file: string): Promise<{ text: string; revision: string }> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new ConfigStoreError('ERR_CONFIG_STORE', `cannot read ${this.options.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return { text: bytes.toString('utf8'), revision: revisionOf(bytes) };
  }
}

const SECTION_OF = {
  'upsert-rule': 'rules', 'remove-rule': 'rules', 'set-rule-enabled': 'rules',
  'upsert-connector': 'connectors', 'remove-connector': 'connectors',
  'upsert-source': 'sources', 'remove-source': 'sources',
} as const satisfies Record<ConfigEdit['op'], Section>;

/** Applies one edit to the text and, in step, to `model` (the plain data, for finding entries by id). */
function applyEdit(editor: ConfigText, model: Record<string, unknown>, edit: ConfigEdit, secretsDir: string, secrets: PendingSecret[]): void {
  const section = SECTION_OF[edit.op];
  if (section === undefined) throw new ConfigStoreError('ERR_CONFIG_STORE', `unknown edit ${JSON.stringify(String(edit.op)).slice(0, 60)}`);
  const list = Array.isArray(model[section]) ? (model[section] as unknown[]) : (model[section] = []) as unknown[];
  const indexOf = (id: string): number => list.findIndex((entry) => isPlainObject(entry) && entry['id'] === id);
  const put = (id: string, value: Record<string, unknown>): void => {
    const index = indexOf(id);
    if (index === -1) {
      editor.appendEntry(section, value);
      list.push(value);
    } else {
      editor.replaceEntry(section, index, value);
      list[index] = value;
    }
  };
  const existing = (id: string): { index: number; entry: Record<string, unknown> } => {
    const index = indexOf(id);
    if (index === -1) throw new ConfigEntryNotFoundError(section, id);
    return { index, entry: list[index] as Record<string, unknown> };
  };
  switch (edit.op) {
    case 'upsert-rule': {
      const id = entryId(edit.rule, section, list.length);
      const index = indexOf(id);
      put(id, storableRule(edit.rule as unknown as Record<string, unknown>, index === -1 ? undefined : (list[index] as Record<string, unknown>)));
      return;
    }
    case 'upsert-connector':
    case 'upsert-source': {
      const given = edit.op === 'upsert-connector' ? edit.connector : edit.source;
      const id = entryId(given, section, list.length);
      const stored = indexOf(id) === -1 ? undefined : (list[indexOf(id)] as Record<string, unknown>);
      put(id, storableEntry(section as 'sources' | 'connectors', given, stored, secretsDir, secrets));
      return;
    }
    case 'set-rule-enabled': {
      const { index, entry } = existing(edit.id);
      // `enabled` defaults to true: a rule without the key is not given one to say so
      if ((entry['enabled'] ?? true) === edit.enabled) return;
      const value = { ...entry, enabled: edit.enabled };
      editor.replaceEntry(section, index, value);
      list[index] = value;
      return;
    }
    case 'remove-rule':
    case 'remove-connector':
    case 'remove-source': {
      const { index } = existing(edit.id);
      editor.removeEntry(section, index);
      list.splice(index, 1);
      return;
    }
  }
}

/** Edits one section of the text until its entries are `wanted` (by id; see FileConfigStore.mirror). */
function mirrorSection(editor: ConfigText, current: unknown, wanted: readonly unknown[], section: Section): void {
  const ids = (list: readonly unknown[]): string[] => list.map((entry, i) => entryId(isPlainObject(entry) ? entry : {}, section, i));
  const have = Array.isArray(current) ? [...(current as unknown[])] : [];
  const haveIds = ids(have);
  const wantedById = new Map(ids(wanted).map((id, i) => [id, wanted[i] as Record<string, unknown>]));
  // from the end, so that the indexes of the entries still to visit stay valid
  for (let i = have.length - 1; i >= 0; i--) {
    const next = wantedById.get(haveIds[i] as string);
    if (next === undefined) editor.removeEntry(section, i);
    else if (JSON.stringify(next) !== JSON.stringify(have[i])) editor.replaceEntry(section, i, next);
  }
  const kept = new Set(haveIds);
  for (const [id, entry] of wantedById) if (!kept.has(id)) editor.appendEntry(section, entry);
}

function entryId(entry: Readonly<Record<string, unknown>>, section: Section, index: number): string {
  const id = entry['id'];
  if (typeof id !== 'string' || id === '') throw new ConfigError('sluice', [{ path: `${section}[${index}].id`, message: 'an entry needs an id (a non-empty string) to be stored' }]);
  return id;
}

/**
 * A JSON copy of what the caller handed in: plain data only (no functions, getters or prototypes), and
 * no `__proto__` key, which would turn into a prototype when copied into an object.
 */
function plainData(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null', (key, child: unknown) => {
    if (key === '__proto__') throw new ConfigError('sluice', [{ path: '', message: 'a key named __proto__ is not allowed' }]);
    return child;
  });
}

function parseModel(text: string): ConfigDocument {
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigStoreError('ERR_CONFIG_STORE', `the config file does not parse (${document.errors[0]?.message.split('\n')[0] ?? ''}); \`sluice validate\` shows where`);
  }
  const data: unknown = document.toJS();
  return isPlainObject(data) ? data : {};
}

/**
 * Deletes the secret files the store wrote that `before` (the replaced config text) referenced and
 * `after` (the one now in place) no longer mentions: a changed, removed or renamed secret. Only files
 * named as the store names them, directly in its secrets directory, and referenced by the old config:
 * a file of that shape another config (sharing the directory) uses is left alone. Best effort: the new
 * config is already stored, so a failure here leaves a stale file, not a failed edit.
 */
async function removeReplacedSecrets(secretsDir: string, before: string, after: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(secretsDir);
  } catch {
    return; // no secrets directory: nothing the store wrote
  }
  const replaced = names.filter((name) => isStoredSecretName(name) && before.includes(`\${file:${join(secretsDir, name)}}`) && !after.includes(name));
  await Promise.all(replaced.map((name) => rm(join(secretsDir, name), { force: true }).catch(() => undefined)));
}

async function ensureSecretsDir(directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigStoreError('ERR_CONFIG_STORE', `cannot create the secrets directory ${directory} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function conflict(file: string): ConfigConflictError {
  return new ConfigConflictError(`${file} changed since it was read (another edit, or by hand): read it again and re-apply the change`);
}

function revisionOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isJson(file: string): boolean {
  return extname(file) === '.json';
}

import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isSecretKey } from '../log-fields';
import { REDACTED } from '../secret-fields';
import { hasSecretReference } from '../secrets';
import { ConfigError } from '@sluice/core';
import { ConfigStoreError } from './config-store';
import { changedDestination } from './secret-destinations';

/** A secret to be written to a file of its own, and the reference that takes its place in the config. */
export interface PendingSecret {
  readonly path: string;
  readonly reference: string;
  readonly value: string;
}

type Path = ReadonlyArray<string | number>;

/**
 * Secret fields are recognised by name, as the logger recognises them (`password`, `passphrase`,
 * `token`, `sasl...`), plus the PEM private key of a TLS block (`ssl.key`, `tls.key`), whose name alone
 * (`key`) would also match a Kafka message key.
 */
export function isSecretField(path: Path): boolean {
  const last = path[path.length - 1];
  if (typeof last !== 'string') return false;
  if (isSecretKey(last)) return true;
  const parent = path[path.length - 2];
  return last === 'key' && (parent === 'ssl' || parent === 'tls');
}

/**
 * The keys that tell the items of a list apart (a broker's `users`, a list of `brokers`), in the order
 * they are looked for: an item is matched with the stored item that has the same value under the first
 * of these it has. Never by position: after the console removed `users[0]`, the item now at position 0
 * is another user, and taking the stored secret at that position would give it someone else's password.
 */
const IDENTITY_KEYS = ['username', 'id', 'name', 'key'] as const;

/** Why a list item has no stored counterpart to keep a secret from (for the error that says so). */
type Unmatched = { readonly list: string; readonly identity: string | undefined };

/**
 * The entry to store for an upserted source or connector: each secret field that holds a plain value
 * gets a `${file:…}` reference to a new file `<secretsDir>/<section>.<id>.<field path>.<random>` instead,
 * and the value goes into `secrets`; a secret field given as `[redacted]` or left out (while its parent
 * object is given) keeps the stored value (a reference stays the same reference); `null` removes it.
 * Everything under a secret-named key (`credentials: {…}`) is secret, each string of it stored away.
 * Items of a list are matched with the stored ones by IDENTITY_KEYS; a `[redacted]` or left-out secret
 * in an item with no stored match is refused (the value must be typed again). So is any kept secret when
 * the entry's destination changed (secret-destinations.ts): a ConfigError at the secret's path (relative
 * to the entry), "the destination changed: type the password again".
 */
export function storableEntry(
  section: 'sources' | 'connectors',
  entry: Readonly<Record<string, unknown>>,
  stored: Readonly<Record<string, unknown>> | undefined,
  secretsDir: string,
  secrets: PendingSecret[],
): Record<string, unknown> {
  const id = String(entry['id']);
  const where = (path: Path): string => `${section}[${JSON.stringify(id.slice(0, 200))}].${path.join('.')}`;
  const refuse = (path: Path, what: string, unmatched: Unmatched | undefined): never => {
    const reason = unmatched === undefined
      ? 'none is stored'
      : unmatched.identity === undefined
        ? `this item of ${unmatched.list} has none of ${IDENTITY_KEYS.join(', ')} to find its stored counterpart by (list items are never matched by position)`
        : `the stored ${unmatched.list} has no single item with ${unmatched.identity} (list items are matched by ${IDENTITY_KEYS.join(', ')}, never by position)`;
    throw new ConfigStoreError('ERR_CONFIG_STORE', `${where(path)}: ${what} stands for the stored secret, but ${reason}; type the value again`);
  };

  // a secret kept while its destination changes would go to whatever host the caller now names
  const moved = stored === undefined ? undefined : changedDestination(entry, stored);
  const keep = (oldChild: unknown, path: Path): unknown => {
    if (moved === undefined) return oldChild;
    const message = `the destination changed (${moved}): type the password again`;
    throw new ConfigError(`${section}[${JSON.stringify(id.slice(0, 200))}]`, [{ path: path.join('.'), message }]);
  };

  /** The value to store for a field at a secret position (a secret-named key, or anything under one). */
  const secretField = (child: unknown, oldChild: unknown, path: Path, unmatched: Unmatched | undefined): unknown => {
    if (child === REDACTED) return oldChild === undefined ? refuse(path, `"${REDACTED}"`, unmatched) : keep(oldChild, path);
    if (typeof child === 'string') return hasSecretReference(child) ? keptReference(child, oldChild, path, true) : pendingSecret(secretsDir, section, id, path, child, secrets);
    if (Array.isArray(child) || isPlainObject(child)) return walk(child, oldChild, path, true, unmatched);
    return child; // a number or boolean the schema will judge
  };

  /**
   * A `${env:…}`/`${file:…}` reference in the body: accepted only where the stored entry holds the very
   * same one (the console sends back what it read). A new one would have the server resolve its own
   * environment or files into a setting the caller chose: a password sent to their host, or a value that
   * lands in a host name they can watch.
   */
  const keptReference = (child: string, oldChild: unknown, path: Path, secret: boolean): unknown => {
    if (path.length === 1 && path[0] === 'id') return child; // plain-ids.ts refuses it with its own message
    if (child !== oldChild) {
      const message = 'holds a ${env:…} or ${file:…} reference that the stored entry does not hold at this position: only the config file may add one (through the API it would read the server\'s environment or files into a setting you chose); type the value itself, or edit the config file';
      throw new ConfigError(`${section}[${JSON.stringify(id.slice(0, 200))}]`, [{ path: path.join('.'), message }]);
    }
    return secret ? keep(oldChild, path) : oldChild;
  };

  const walk = (value: unknown, old: unknown, path: Path, secret: boolean, unmatched: Unmatched | undefined): unknown => {
    if (typeof value === 'string') return hasSecretReference(value) ? keptReference(value, old, path, false) : value;
    if (Array.isArray(value)) {
      const oldItems = Array.isArray(old) ? old : [];
      return value.map((item, i) => {
        const itemPath = [...path, i];
        const match = storedCounterpart(item, oldItems, path, secret);
        if (secret && typeof item !== 'object') return secretField(item, undefined, itemPath, match.unmatched);
        const out = walk(item, match.stored, itemPath, secret, match.unmatched);
        // An item with no stored counterpart cannot keep a secret it left out: whose would it be?
        for (const key of match.unmatched === undefined || !isPlainObject(item) ? [] : match.siblingSecrets) {
          if (!Object.hasOwn(item, key)) refuse([...itemPath, key], 'a left-out value', match.unmatched);
        }
        return out;
      });
    }
    if (!isPlainObject(value)) return value;
    const oldObject = isPlainObject(old) ? old : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, key];
      const oldChild = oldObject !== undefined && Object.hasOwn(oldObject, key) ? oldObject[key] : undefined;
      if (!secret && !isSecretField(childPath)) out[key] = walk(child, oldChild, childPath, false, unmatched);
      else if (child !== null) out[key] = secretField(child, oldChild, childPath, unmatched); // null: removed
    }
    // A secret the console did not send back stays as stored.
    for (const [key, oldChild] of Object.entries(oldObject ?? {})) {
      if (!Object.hasOwn(value, key) && (secret || isSecretField([...path, key]))) out[key] = keep(oldChild, [...path, key]);
    }
    return out;
  };
  return walk(entry, stored, [], false, undefined) as Record<string, unknown>;
}

/**
 * The stored item `item` stands for: the one item of `oldItems` with the same value under the first
 * identity key `item` has. When there is none, `siblingSecrets` names the secret keys the stored items
 * carry, which the new item may then not leave out.
 */
function storedCounterpart(item: unknown, oldItems: readonly unknown[], path: Path, secret: boolean): { stored: unknown; unmatched: Unmatched | undefined; siblingSecrets: string[] } {
  const list = path.join('.') || 'list';
  // under a secret-named key every string is a secret (stored as a reference): nothing there can identify an item
  const identityKey = isPlainObject(item) && !secret ? IDENTITY_KEYS.find((key) => typeof item[key] === 'string' || typeof item[key] === 'number') : undefined;
  if (identityKey !== undefined && isPlainObject(item)) {
    const candidates = oldItems.filter((old) => isPlainObject(old) && old[identityKey] === item[identityKey]);
    if (candidates.length === 1) return { stored: candidates[0], unmatched: undefined, siblingSecrets: [] };
  }
  const siblingSecrets = new Set<string>();
  for (const old of oldItems) {
    if (!isPlainObject(old)) continue;
    for (const key of Object.keys(old)) if (secret || isSecretField([...path, 0, key])) siblingSecrets.add(key);
  }
  const identity = identityKey === undefined || !isPlainObject(item) ? undefined : `${identityKey} ${JSON.stringify(String(item[identityKey]).slice(0, 200))}`;
  return { stored: undefined, unmatched: { list, identity }, siblingSecrets: [...siblingSecrets] };
}

/**
 * The rule to store for an upserted rule: a string that is exactly `[redacted]` is what the API answers
 * for a field that came from a secret reference of the config file (SecretFields, by position), so it
 * keeps the stored rule's text at that position when that text holds a secret reference; anywhere else
 * it is refused (storing it would replace a secret with the word `[redacted]`).
 */
export function storableRule(rule: Readonly<Record<string, unknown>>, stored: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const id = String(rule['id']);
  const walk = (value: unknown, old: unknown, path: string): unknown => {
    if (value === REDACTED) {
      if (typeof old === 'string' && hasSecretReference(old)) return old;
      throw new ConfigStoreError('ERR_CONFIG_STORE', `rules[${JSON.stringify(id.slice(0, 200))}].${path}: holds "${REDACTED}", which stands for a secret reference of the config file, but the stored rule has none at this position; give the full text, or change this field in the config file`);
    }
    // a new reference would have the server resolve its environment or files into a template the caller
    // reads back (a Kafka value, a topic): only the config file may add one
    // (an action's id is left to plain-ids.ts, which refuses any reference in an id with its own message)
    if (typeof value === 'string' && value !== old && !/(^|\.)id$/.test(path) && hasSecretReference(value)) {
      const message = 'holds a ${env:…} or ${file:…} reference that the stored rule does not hold at this position: only the config file may add one; give the text itself, or edit the config file';
      throw new ConfigError(`rules[${JSON.stringify(id.slice(0, 200))}]`, [{ path, message }]);
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, Array.isArray(old) ? old[i] : undefined, `${path}[${i}]`));
    if (!isPlainObject(value)) return value;
    const oldObject = isPlainObject(old) ? old : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      out[key] = walk(child, oldObject !== undefined && Object.hasOwn(oldObject, key) ? oldObject[key] : undefined, path === '' ? key : `${path}.${key}`);
    }
    return out;
  };
  return walk(rule, stored, '') as Record<string, unknown>;
}

/**
 * Names of the secret files this store writes: `<section>.<id>.<field path>.<16 hex digits>`. A new
 * value always gets a new file, so the file the stored config references is never overwritten before
 * the new config is in place; the store deletes only files of this shape.
 */
const STORED_SECRET_NAME = /^(sources|connectors)\.[A-Za-z0-9_.-]+\.[0-9a-f]{16}$/;

export function isStoredSecretName(name: string): boolean {
  return STORED_SECRET_NAME.test(name);
}

function pendingSecret(secretsDir: string, section: string, id: string, field: Path, value: string, secrets: PendingSecret[]): string {
  // random, not a hash of the value: a file name must not help anyone guess a password
  const name = `${section}.${safeName(id)}.${field.map((segment) => safeName(String(segment))).join('.')}.${randomBytes(8).toString('hex')}`;
  const path = join(secretsDir, name);
  // config-file.ts matches `${file:…}` up to the first `}` and reads the path as given (relative to the
  // working directory of `sluice run`, not to the config file): an absolute path without `}` is the only
  // reference that resolves the same from anywhere.
  if (path.includes('}')) throw new ConfigStoreError('ERR_CONFIG_STORE', `cannot store a secret under ${secretsDir}: the path holds "}", which a \${file:…} reference cannot`);
  const reference = `\${file:${path}}`;
  secrets.push({ path, reference, value });
  return reference;
}

/**
 * A file-name-safe form of an id: kept as it is when it is made of letters, digits, `_` and `-`;
 * otherwise those characters plus a hash of the whole id, so that `../x` can never leave the directory
 * and two ids never share a file.
 */
function safeName(text: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(text)) return text;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return `${text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-${hash}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

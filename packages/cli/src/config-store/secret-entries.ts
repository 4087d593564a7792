import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isSecretKey } from '../log-fields';
import { REDACTED } from '../secret-fields';
import { hasSecretReference } from '../secrets';
import { ConfigStoreError } from './config-store';

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
 * The entry to store for an upserted source or connector: each secret field that holds a plain value
 * gets a `${file:…}` reference to `<secretsDir>/<section>.<id>.<field path>` instead, and the value goes
 * into `secrets`; a secret field given as `[redacted]` or left out (while its parent object is given)
 * keeps the stored value (a reference stays the same reference); `null` removes it.
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
  const walk = (value: unknown, old: unknown, path: Path): unknown => {
    if (Array.isArray(value)) return value.map((item, i) => walk(item, Array.isArray(old) ? old[i] : undefined, [...path, i]));
    if (!isPlainObject(value)) return value;
    const oldObject = isPlainObject(old) ? old : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, key];
      const oldChild = oldObject !== undefined && Object.hasOwn(oldObject, key) ? oldObject[key] : undefined;
      if (!isSecretField(childPath)) {
        out[key] = walk(child, oldChild, childPath);
      } else if (child === null) {
        // removed: the field is left out
      } else if (child === REDACTED) {
        if (oldChild === undefined) throw new ConfigStoreError('ERR_CONFIG_STORE', `${where(childPath)}: "${REDACTED}" stands for the stored secret, but none is stored; give the value`);
        out[key] = oldChild;
      } else if (typeof child === 'string' && !hasSecretReference(child)) {
        out[key] = pendingSecret(secretsDir, section, id, childPath, child, secrets);
      } else {
        out[key] = child; // a reference the caller wrote, or a non-string the schema will refuse
      }
    }
    // A secret the console did not send back stays as stored.
    for (const [key, oldChild] of Object.entries(oldObject ?? {})) {
      if (!Object.hasOwn(value, key) && isSecretField([...path, key])) out[key] = oldChild;
    }
    return out;
  };
  return walk(entry, stored, []) as Record<string, unknown>;
}

function pendingSecret(secretsDir: string, section: string, id: string, field: Path, value: string, secrets: PendingSecret[]): string {
  const name = `${section}.${safeName(id)}.${field.map((segment) => safeName(String(segment))).join('.')}`;
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

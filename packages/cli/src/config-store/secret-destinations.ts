import { isPlainObject, isSecretField } from './secret-entries';

/**
 * Where a stored secret goes: the settings of each built-in type that decide which host receives it (and
 * under which name and protection). A `[redacted]` or left-out secret "keeps the stored value"; kept while
 * one of these changes, it would be sent to a host the caller chose (bootstrapHosts: attacker:9092), so it
 * must then be typed again. Paths are dot-separated and compared as written, secret fields left out.
 */
const DESTINATION_FIELDS: Readonly<Record<string, readonly string[]>> = {
  // the schema registry's basic-auth password and TLS key go to schemaRegistry.url
  kafka: ['bootstrapHosts', 'ssl', 'authentication.mechanism', 'authentication.username', 'schemaRegistry.url', 'schemaRegistry.tls', 'schemaRegistry.authentication.username'],
  mqtt: ['url', 'tls', 'username'],
  'mqtt-broker': ['host', 'port'],
};

/**
 * The setting that changed the destination of `entry`'s secrets compared with `stored` (`type`, or one of
 * its type's DESTINATION_FIELDS), or undefined when none did. A type not listed (a plugin's) has no list
 * to trust: any change of a setting other than a secret counts.
 */
export function changedDestination(entry: Readonly<Record<string, unknown>>, stored: Readonly<Record<string, unknown>>): string | undefined {
  if (entry['type'] !== stored['type']) return 'type';
  const fields = typeof entry['type'] === 'string' && Object.hasOwn(DESTINATION_FIELDS, entry['type']) ? DESTINATION_FIELDS[entry['type']] : undefined;
  if (fields === undefined) {
    const keys = new Set([...Object.keys(entry), ...Object.keys(stored)]);
    return [...keys].find((key) => key !== 'id' && !isSecretField([key]) && !sameSettings(entry[key], stored[key], [key]));
  }
  return fields.find((field) => {
    const path = field.split('.');
    return !sameSettings(at(entry, path), at(stored, path), path);
  });
}

/** The value at a path; where a parent is not an object (`authentication: none`), that parent. */
function at(entry: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = entry;
  for (const key of path) {
    if (!isPlainObject(value)) return value;
    value = Object.hasOwn(value, key) ? value[key] : undefined;
  }
  return value;
}

/** Deep equality of two settings with the secret fields (and what lies under secret-named keys) left out. */
function sameSettings(a: unknown, b: unknown, path: ReadonlyArray<string | number>): boolean {
  return JSON.stringify(withoutSecrets(a, path)) === JSON.stringify(withoutSecrets(b, path));
}

function withoutSecrets(value: unknown, path: ReadonlyArray<string | number>): unknown {
  if (isSecretField(path)) return undefined;
  if (Array.isArray(value)) return value.map((item, i) => withoutSecrets(item, [...path, i]));
  if (!isPlainObject(value)) return value;
  // sorted keys: the same settings written in another order are the same destination
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, withoutSecrets(value[key], [...path, key])]));
}

/**
 * Turns the `fields` of a log call into plain JSON data before pino sees them, replacing the values of
 * secret-named keys on the way. pino's own wildcard redaction (`*.*.*.password`) walks whatever it is
 * given and throws on a Buffer two levels down (it reads the Buffer's `parent` getter on a copy), which
 * made kafkajs's SASL exchange fail at debug level; this copy never throws and never reads binary
 * contents: whatever it cannot or should not show becomes a short placeholder.
 */

export const CENSOR = '[redacted]';

/**
 * Key names whose values are never logged: compared lowercased with `-` and `_` removed, a key that ends
 * in one of these words (`access_token`, `X-Api-Key`, `privateKey`, `saslPassword`, `x-auth-token` all
 * match; `tokenProvider` and `passwordFile` do not).
 */
const SECRET_KEY_ENDINGS = [
  'password', 'passwd', 'passphrase', 'secret', 'token', 'authorization', 'cookie', 'apikey', 'privatekey',
  'credentials', 'sasl', 'authbytes',
];

/** Deeper structure is summarised: a log line is for a person, and depth costs time on every line. */
export const MAX_FIELD_DEPTH = 8;
/**
 * Values (each key of an object, each item of a list) copied per log call before the rest is summarised:
 * a kafkajs debug line can carry a whole metadata answer.
 */
export const MAX_FIELD_VALUES = 2_000;
/** Items kept from one array. */
export const MAX_ARRAY_ITEMS = 100;

export function isSecretKey(key: string): boolean {
  const name = key.toLowerCase().replace(/[-_]/g, '');
  for (const ending of SECRET_KEY_ENDINGS) if (name.endsWith(ending)) return true;
  return false;
}

interface Walk {
  readonly seen: Set<object>;
  budget: number;
}

/** A plain, acyclic, getter-free copy of `fields` with secret-named values replaced by `[redacted]`. */
export function loggableFields(fields: Record<string, unknown>): Record<string, unknown> {
  const copy = loggable(fields, 0, { seen: new Set(), budget: MAX_FIELD_VALUES });
  if (typeof copy === 'object' && copy !== null && !Array.isArray(copy)) return copy as Record<string, unknown>;
  return { fields: copy };
}

function loggable(value: unknown, depth: number, walk: Walk): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return value.toString();
    case 'symbol':
      return value.toString();
    case 'function':
      return '[function]';
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (ArrayBuffer.isView(object)) return `[binary, ${object.byteLength} bytes]`;
  if (object instanceof ArrayBuffer || object instanceof SharedArrayBuffer) return `[binary, ${object.byteLength} bytes]`;
  if (walk.seen.has(object)) return '[circular]';
  if (depth >= MAX_FIELD_DEPTH || walk.budget <= 0) return '[…]';
  walk.budget--;
  walk.seen.add(object);
  try {
    return copyObject(object, depth, walk);
  } catch {
    // a Proxy that throws on ownKeys, a toJSON that throws: the line is still written
    return '[unreadable]';
  } finally {
    walk.seen.delete(object);
  }
}

function copyObject(object: object, depth: number, walk: Walk): unknown {
  if (object instanceof Error) return copyError(object, depth, walk);
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
  if (object instanceof Map) return `[Map, ${object.size} entries]`;
  if (object instanceof Set) return `[Set, ${object.size} values]`;
  if (Array.isArray(object)) {
    const n = Math.min(object.length, MAX_ARRAY_ITEMS, Math.max(walk.budget, 0));
    walk.budget -= n;
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = loggable(read(object, i), depth + 1, walk);
    if (object.length > n) out.push(`[… ${object.length - n} more]`);
    return out;
  }
  const toJSON = read(object, 'toJSON');
  if (typeof toJSON === 'function') return loggable(toJSON.call(object), depth + 1, walk);
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  copyKeys(object, Object.keys(object), out, depth, walk);
  return out;
}

/** Copies `keys` of `object` into `out` within the budget; the keys left over are counted under `…`. */
function copyKeys(object: object, keys: readonly string[], out: Record<string, unknown>, depth: number, walk: Walk): void {
  let copied = 0;
  for (const key of keys) {
    if (walk.budget <= 0) break;
    walk.budget--;
    copied++;
    out[key] = isSecretKey(key) ? CENSOR : loggable(read(object, key), depth + 1, walk);
  }
  if (copied < keys.length) out['…'] = `${keys.length - copied} more keys`;
}

/** Fields an error has that copyError writes itself (its own `type`, e.g. kafkajs's, is kept as errorType). */
const ERROR_FIELDS = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);

/**
 * `{type, message, code}`, then the error's own fields (kafkajs's `retriable`, a system error's `errno`,
 * `syscall`, `address`, `port`; secret-named ones redacted), its `cause` and an AggregateError's `errors`.
 */
function copyError(error: Error, depth: number, walk: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  out['type'] = String(read(error, 'name') ?? 'Error');
  out['message'] = String(read(error, 'message') ?? '');
  const code = read(error, 'code');
  if (typeof code === 'string' || typeof code === 'number') out['code'] = code;
  const own: string[] = [];
  for (const key of Object.keys(error)) if (!ERROR_FIELDS.has(key)) own.push(key);
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  copyKeys(error, own, fields, depth, walk);
  for (const key of Object.keys(fields)) out[key === 'type' ? 'errorType' : key] = fields[key];
  const cause = read(error, 'cause');
  if (cause !== undefined) out['cause'] = loggable(cause, depth + 1, walk);
  const errors = read(error, 'errors');
  if (Array.isArray(errors)) out['errors'] = loggable(errors, depth + 1, walk);
  return out;
}

/** A property read that a throwing getter cannot turn into a thrown log call. */
function read(object: object, key: string | number): unknown {
  try {
    return (object as Record<string | number, unknown>)[key];
  } catch {
    return '[unreadable]';
  }
}

import { decodeJson } from '../json';
import { compareStrings, isMap, type SqlMap, type SqlValue } from '../values';
import { badArg, fnError, text, type FunctionDef } from './args';

/**
 * emqx_rule_maps:nested_get: walk maps by key; a string met on the way (the root included) is parsed as
 * JSON and the walk continues inside it (undefined when it is not JSON); a missing key or a non-map
 * gives `fallback`.
 */
export function nestedGet(root: SqlValue, keys: readonly string[], fallback: SqlValue = undefined): SqlValue {
  let current: SqlValue = root;
  for (const key of keys) {
    if (typeof current === 'string' || Buffer.isBuffer(current)) current = tryDecode(current);
    if (!isMap(current) || !Object.prototype.hasOwnProperty.call(current, key)) return fallback;
    current = current[key];
  }
  return current;
}

function tryDecode(v: string | Buffer): SqlValue {
  try {
    return decodeJson(typeof v === 'string' ? v : v.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** emqx_rule_maps:nested_put on a copy: creates intermediate maps; a non-map at any level becomes a map. */
export function nestedPut(root: SqlValue, keys: readonly string[], value: SqlValue): SqlValue {
  if (keys.length === 0) return value;
  const [head = '', ...rest] = keys;
  const base: SqlMap = isMap(root) ? { ...root } : {};
  defineKey(base, head, nestedPut(base[head], rest, value));
  return base;
}

/** Sets an own key even when it is `__proto__`. */
export function defineKey(m: SqlMap, key: string, value: SqlValue): void {
  if (key === '__proto__') Object.defineProperty(m, key, { value, enumerable: true, writable: true, configurable: true });
  else m[key] = value;
}

/** map() conversion used by mget/mput/map_keys...: a map, a JSON-object string, or [] (an empty proplist). */
export function toMap(name: string, position: number, v: SqlValue): SqlMap {
  if (isMap(v)) return v;
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const decoded = tryDecode(v);
    if (isMap(decoded)) return decoded;
    return badArg(name, position, 'a map or a JSON object string', v);
  }
  if (Array.isArray(v) && v.length === 0) return {};
  return badArg(name, position, 'a map or a JSON object string', v);
}

/** Keys in Erlang's order for maps (binaries compare byte-wise), as maps:keys/1 lists small maps. */
export function sortedKeys(m: SqlMap): string[] {
  return Object.keys(m).sort(compareStrings);
}

/** A map key given as a value: strings as they are, atoms (booleans, null) by name. */
function literalKey(name: string, v: SqlValue): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'boolean' || v === null) return String(v);
  if (v === undefined) return 'undefined';
  // Numbers, lists and maps are legal Erlang keys but never occur in maps decoded from JSON.
  void name;
  return undefined;
}

function splitPath(key: string): string[] {
  return key.split('.');
}

export const MAP_FUNCTIONS: readonly FunctionDef[] = [
  ['map_new', 0, 0, () => ({})],
  [
    'map_get',
    2,
    3,
    (args) => nestedGet(args[1], splitPath(text('map_get', 1, args[0])), args[2]),
  ],
  [
    'map_put',
    3,
    3,
    (args) => nestedPut(args[2], splitPath(text('map_put', 1, args[0])), args[1]),
  ],
  [
    'mget',
    2,
    3,
    (args) => {
      const m = toMap('mget', 2, args[1]);
      const key = literalKey('mget', args[0]);
      if (key === undefined || !Object.prototype.hasOwnProperty.call(m, key)) return args[2];
      return m[key];
    },
  ],
  [
    'mput',
    3,
    3,
    (args) => {
      const m = toMap('mput', 3, args[2]);
      const key = literalKey('mput', args[0]);
      if (key === undefined) throw fnError('mput', 'keys other than strings, booleans and null are not supported');
      const out: SqlMap = { ...m };
      defineKey(out, key, args[1]);
      return out;
    },
  ],
  ['map_keys', 1, 1, (args) => sortedKeys(toMap('map_keys', 1, args[0]))],
  [
    'map_values',
    1,
    1,
    (args) => {
      const m = toMap('map_values', 1, args[0]);
      return sortedKeys(m).map((k) => m[k]);
    },
  ],
  [
    'map_to_entries',
    1,
    1,
    (args) => {
      const m = toMap('map_to_entries', 1, args[0]);
      return sortedKeys(m).map((k) => ({ key: k, value: m[k] }));
    },
  ],
  ['map_size', 1, 1, (args) => Object.keys(toMap('map_size', 1, args[0])).length],
];

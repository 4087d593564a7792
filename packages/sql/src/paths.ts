import { tryDecode } from './env';
import { isMap, type SqlMap, type SqlValue } from './values';

/**
 * Reading and writing nested values (RULE-SQL.md §4.2 and §4.4, EMQX's emqx_rule_maps). Pure functions
 * over values; the compiler decides which root each path starts from.
 */

const hasOwn = Object.prototype.hasOwnProperty;

/** One key step: maps by own key; a string (or Buffer) met on the way is read as JSON first. */
export function getKey(container: SqlValue, key: string): SqlValue {
  if (isMap(container)) return hasOwn.call(container, key) ? container[key] : undefined;
  if (typeof container === 'string' || Buffer.isBuffer(container)) {
    const decoded = tryDecode(container);
    return isMap(decoded) && hasOwn.call(decoded, key) ? decoded[key] : undefined;
  }
  return undefined;
}

/**
 * getKey for a key that plain objects do not inherit (`temp`, `a`, ...), chosen at compile time: on a
 * map (a plain object: decoded JSON, a column, a function result) whatever `map[key]` finds is then an
 * own property, so the hasOwnProperty call, a third of getKey's cost on a decoded payload, is skipped.
 */
export function getPlainKey(container: SqlValue, key: string): SqlValue {
  if (isMap(container)) return container[key];
  return getKey(container, key);
}

/** The key reader for a key known at compile time: getPlainKey unless plain objects inherit that name. */
export const keyGetter = (key: string): typeof getKey => (key in Object.prototype ? getKey : getPlainKey);

/** One index step: 1-based, negative from the end; 0, out of range and non-lists read as undefined. */
export function getIndex(container: SqlValue, index: SqlValue): SqlValue {
  if (typeof index !== 'number' || !Number.isInteger(index) || index === 0) return undefined;
  let list = container;
  if (typeof list === 'string' || Buffer.isBuffer(list)) list = tryDecode(list);
  if (!Array.isArray(list)) return undefined;
  const at = index > 0 ? index - 1 : list.length + index;
  return at >= 0 && at < list.length ? list[at] : undefined;
}

/** Sets a key on a map the caller owns; `__proto__` is written as a plain key, never as the prototype. */
export function setKey(map: SqlMap, key: string, value: SqlValue): void {
  if (key === '__proto__') {
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    map[key] = value;
  }
}

/** A write step: a key, or an index already resolved (number, `head` = [0], `tail` = [-0], or not usable). */
export type PutStep = { readonly key: string } | { readonly index: SqlValue | 'head' | 'tail' };

/** Marks a write that leaves the target unchanged (an out-of-range or non-integer index). */
const UNCHANGED = Symbol('unchanged');

/**
 * Writes `value` at `steps` below `root` (a map the caller owns and mutates in place); maps and lists
 * below it are copied before they change, since they may belong to the input.
 * `decodeFirstString`: when the first level already holds a string (a raw `payload`), read it as JSON
 * and keep its siblings instead of replacing it (§4.4's payload exception).
 */
export function putPath(root: SqlMap, steps: readonly PutStep[], value: SqlValue, decodeFirstString: boolean): void {
  const first = steps[0] as { key: string };
  if (steps.length === 1) {
    setKey(root, first.key, value);
    return;
  }
  let current = hasOwn.call(root, first.key) ? root[first.key] : undefined;
  if (decodeFirstString && (typeof current === 'string' || Buffer.isBuffer(current))) current = tryDecode(current);
  const updated = putIn(current, steps, 1, value);
  if (updated !== UNCHANGED) setKey(root, first.key, updated);
}

function putIn(container: SqlValue, steps: readonly PutStep[], at: number, value: SqlValue): SqlValue | typeof UNCHANGED {
  const step = steps[at];
  if (step === undefined) return value;
  if ('key' in step) {
    // A map is copied and updated; a string or any other value is replaced by a fresh map (§4.4).
    const map: SqlMap = isMap(container) ? { ...container } : {};
    const inner = putIn(hasOwn.call(map, step.key) ? map[step.key] : undefined, steps, at + 1, value);
    if (inner === UNCHANGED) return UNCHANGED;
    setKey(map, step.key, inner);
    return map;
  }
  const index = step.index;
  if (index !== 'head' && index !== 'tail' && (typeof index !== 'number' || !Number.isInteger(index))) return UNCHANGED;
  if (!Array.isArray(container)) {
    // A missing or non-list target becomes a new one-element list, whatever the index.
    const inner = putIn(undefined, steps, at + 1, value);
    return inner === UNCHANGED ? UNCHANGED : [inner];
  }
  if (index === 'head' || index === 'tail') {
    const inner = putIn(undefined, steps, at + 1, value);
    if (inner === UNCHANGED) return UNCHANGED;
    return index === 'head' ? [inner, ...container] : [...container, inner];
  }
  const n = index as number;
  const position = n > 0 ? n - 1 : container.length + n;
  if (n === 0 || position < 0 || position >= container.length) return UNCHANGED;
  const inner = putIn(container[position], steps, at + 1, value);
  if (inner === UNCHANGED) return UNCHANGED;
  const list = container.slice();
  list[position] = inner;
  return list;
}

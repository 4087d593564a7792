import { RuleEvaluationError } from '@sluice/core';
import {
  SqlFloat,
  bigOf,
  boundedIntOf,
  compareStrings,
  intOf,
  MAX_INTEGER_DIGITS,
  describeValue,
  isMap,
  makeFloat,
  toTextWithin,
  type SqlMap,
  type SqlValue,
} from './values';
import { DEFAULT_LIMITS } from './limits';

/**
 * The operators of rule SQL (RULE-SQL.md §4.6, §4.7, §6), as EMQX's runtime and emqx_rule_funcs
 * implement them. All of them run per message: no allocation on the common paths.
 */

export type ComparisonOperator = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=';

function fail(op: string, message: string): never {
  throw new RuleEvaluationError(`operator '${op}': ${message}`);
}

function badArgs(op: string, a: SqlValue, b: SqlValue, need: string): never {
  fail(op, `needs ${need}, got ${describeValue(a)} and ${describeValue(b)}`);
}

/** A float result must be finite: Erlang raises badarith where IEEE would give Infinity or NaN. */
function checkedFloat(op: string, n: number): number | SqlFloat {
  if (!Number.isFinite(n)) fail(op, 'arithmetic overflow');
  return makeFloat(n);
}

/**
 * `+`: numbers add; if either side is a string (binary) both are converted with str() and concatenated.
 * The concatenation may not pass `maxStringSize` (the engine's limit, captured when the rule compiles):
 * `s + s AS a, a + a AS b, ...` doubles a string per field, so without a bound a few fields reach V8's
 * string limit after allocating a gigabyte. Only the string branch looks at it: numbers pay nothing.
 * Integers stay exact past 2^53 (values.ts): two plain numbers pay one range check of the sum.
 */
export function add(a: SqlValue, b: SqlValue, maxStringSize: number = DEFAULT_LIMITS.maxStringSize): SqlValue {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isInteger(a) && Number.isInteger(b)) return isSafe(sum) ? sum : intOf(BigInt(a) + BigInt(b));
    return checkedFloat('+', sum);
  }
  if (typeof a === 'string' || typeof b === 'string' || Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    return concatText(a, b, maxStringSize);
  }
  if (isInt(a) && isInt(b)) return intOf(bigOf(a) + bigOf(b));
  if (isNum(a) && isNum(b)) return checkedFloat('+', num(a) + num(b));
  return badArgs('+', a, b, 'two numbers or a string');
}

/**
 * Is this integral double within ±(2^53 - 1)? Then it is exact: an integer sum or product of safe
 * integers that passes the range rounds to a double at or beyond 2^53, which this refuses.
 */
function isSafe(n: number): boolean {
  return n <= Number.MAX_SAFE_INTEGER && n >= -Number.MAX_SAFE_INTEGER;
}

/** str(a) + str(b), refused before it is built when longer than maxStringSize (lengths only: cheap). */
function concatText(a: SqlValue, b: SqlValue, maxStringSize: number): string {
  const left = toTextWithin(a, maxStringSize, "operator '+'");
  const right = toTextWithin(b, maxStringSize, "operator '+'");
  const size = left.length + right.length;
  if (size > maxStringSize) {
    fail(
      '+',
      `the concatenated string would be ${size} characters, over the limit of ${maxStringSize} ` +
        "(maxStringSize; raise it in the rule engine's limits if this is expected)",
    );
  }
  return left + right;
}

export function subtract(a: SqlValue, b: SqlValue): SqlValue {
  if (typeof a === 'number' && typeof b === 'number') {
    const diff = a - b;
    if (Number.isInteger(a) && Number.isInteger(b)) return isSafe(diff) ? diff : intOf(BigInt(a) - BigInt(b));
    return checkedFloat('-', diff);
  }
  if (isInt(a) && isInt(b)) return intOf(bigOf(a) - bigOf(b));
  if (isNum(a) && isNum(b)) return checkedFloat('-', num(a) - num(b));
  return badArgs('-', a, b, 'two numbers');
}

export function multiply(a: SqlValue, b: SqlValue): SqlValue {
  if (typeof a === 'number' && typeof b === 'number') {
    const product = a * b;
    if (Number.isInteger(a) && Number.isInteger(b)) {
      if (isSafe(product)) return product === 0 ? 0 : product;
      return boundedIntOf(BigInt(a) * BigInt(b), "operator '*'");
    }
    return checkedFloat('*', product);
  }
  if (isInt(a) && isInt(b)) return boundedIntOf(bigOf(a) * bigOf(b), "operator '*'");
  if (isNum(a) && isNum(b)) return checkedFloat('*', num(a) * num(b));
  return badArgs('*', a, b, 'two numbers');
}

/**
 * `/` always yields a float (`4 / 2` is `2.0`, also for integers beyond 2^53, which are converted to
 * doubles first as Erlang does); dividing by zero (or 0.0) raises.
 */
export function divide(a: SqlValue, b: SqlValue): SqlValue {
  if (!isNum(a) || !isNum(b)) return badArgs('/', a, b, 'two numbers');
  const divisor = num(b);
  if (divisor === 0) fail('/', 'division by zero');
  return checkedFloat('/', num(a) / divisor);
}

/** `div`: integer division truncating toward zero; integers only. */
export function intDiv(a: SqlValue, b: SqlValue): SqlValue {
  if (!isInt(a) || !isInt(b)) return badArgs('div', a, b, 'two integers');
  if (b === 0) fail('div', 'division by zero');
  if (typeof a === 'number' && typeof b === 'number' && isSafe(a) && isSafe(b)) {
    // Exact, unlike Math.trunc(a / b), whose rounded quotient can reach the next integer near 2^53:
    // a % b is exact, a - a % b is a multiple of b no larger than a, and so the division is exact too.
    const q = (a - (a % b)) / b;
    return q === 0 ? 0 : q;
  }
  // BigInt division truncates toward zero, as Erlang's div.
  return intOf(bigOf(a) / bigOf(b));
}

/** `mod`: Erlang `rem`, the remainder takes the dividend's sign; integers only. */
export function rem(a: SqlValue, b: SqlValue): SqlValue {
  if (!isInt(a) || !isInt(b)) return badArgs('mod', a, b, 'two integers');
  if (b === 0) fail('mod', 'division by zero');
  if (typeof a === 'number' && typeof b === 'number' && isSafe(a) && isSafe(b)) {
    // % of two safe integers is exact.
    const r = a % b;
    return r === 0 ? 0 : r;
  }
  return intOf(bigOf(a) % bigOf(b));
}

/** Unary minus: numbers only, the kind is kept (`-(2.0)` is `-2.0`). */
export function negate(a: SqlValue): SqlValue {
  if (typeof a === 'number') return Number.isInteger(a) ? 0 - a : -a;
  if (typeof a === 'bigint') return intOf(-a);
  if (a instanceof SqlFloat) return new SqlFloat(-a.value);
  return fail('-', `needs a number, got ${describeValue(a)}`);
}

function isNum(v: SqlValue): v is number | bigint | SqlFloat {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof SqlFloat;
}

function isInt(v: SqlValue): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

/** The JS number of a number value, for float arithmetic (a bigint converts as Erlang's float/1). */
function num(v: number | bigint | SqlFloat): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v.value;
}

/** A number value for comparing: bigints stay exact (JS compares bigint and number by value). */
function cmpNum(v: number | bigint | SqlFloat): number | bigint {
  return v instanceof SqlFloat ? v.value : v;
}

/**
 * A comparison as EMQX's runtime does it (§4.6):
 * - undefined vs undefined compares as equal terms; undefined vs anything else is false for every operator;
 * - a number against a string parses the string (integer, else Erlang float syntax) and raises when it is
 *   not a number;
 * - a boolean or null against a string compares the atom's name;
 * - otherwise Erlang term order, with `=` being arithmetic equality (`1 = 1.0`).
 */
export function compare(op: ComparisonOperator, a: SqlValue, b: SqlValue): boolean {
  let order: number;
  if (typeof a === 'number' && typeof b === 'number') {
    // The hot case first: two plain numbers.
    order = a < b ? -1 : a > b ? 1 : 0;
  } else if (typeof a === 'string' && typeof b === 'string') {
    order = compareStrings(a, b);
  } else if (a === undefined || b === undefined) {
    if (a !== b) return false;
    order = 0;
  } else if (isNum(a) && isText(b)) {
    const n = parseNumberText(b, op, a);
    const x = cmpNum(a);
    order = x < n ? -1 : x > n ? 1 : 0;
  } else if (isText(a) && isNum(b)) {
    const n = parseNumberText(a, op, b);
    const y = cmpNum(b);
    order = n < y ? -1 : n > y ? 1 : 0;
  } else if ((typeof a === 'boolean' || a === null) && isText(b)) {
    order = compareTerms(String(a), b);
  } else if (isText(a) && (typeof b === 'boolean' || b === null)) {
    order = compareTerms(a, String(b));
  } else {
    order = compareTerms(a, b);
  }
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
    case '<>':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    default:
      return fail(String(op), 'unknown comparison operator');
  }
}

function isText(v: SqlValue): v is string | Buffer {
  return typeof v === 'string' || Buffer.isBuffer(v);
}

const INTEGER_TEXT = /^[+-]?[0-9]+$/;
const FLOAT_TEXT = /^[+-]?[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?$/;

/**
 * Erlang's binary_to_integer, else binary_to_float (which needs a dot: '1.0', '3.14e4'). Integers of 16
 * digits or more are read exactly (a bigint beyond 2^53); one longer than MAX_INTEGER_DIGITS is refused
 * as not a number, before BigInt spends superlinear time on it.
 */
export function parseErlangNumber(text: string): number | bigint | SqlFloat | undefined {
  if (INTEGER_TEXT.test(text)) {
    if (text.length < 16) return Number(text);
    if (text.length > MAX_INTEGER_DIGITS + 1) return undefined;
    return intOf(BigInt(text.charCodeAt(0) === 0x2b /* + */ ? text.slice(1) : text));
  }
  if (FLOAT_TEXT.test(text)) {
    const n = Number(text);
    return Number.isFinite(n) ? makeFloat(n) : undefined;
  }
  return undefined;
}

function parseNumberText(v: string | Buffer, op: string, other: SqlValue): number | bigint {
  const text = typeof v === 'string' ? v : v.toString('utf8');
  const n = parseErlangNumber(text);
  if (n === undefined) {
    fail(op, `cannot compare ${describeValue(other)} with ${describeValue(v)}: the string is not a number`);
  }
  return cmpNum(n);
}

// Erlang's order of types: number < atom < map < list < binary (no references, funs, ports, pids, tuples here).
function typeRank(v: SqlValue): number {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 0;
    case 'boolean':
    case 'undefined':
      return 1;
    case 'string':
      return 4;
    default:
      if (v === null) return 1;
      if (v instanceof SqlFloat) return 0;
      if (Array.isArray(v)) return 3;
      if (Buffer.isBuffer(v)) return 4;
      return 2;
  }
}

function atomName(v: SqlValue): string {
  return v === undefined ? 'undefined' : v === null ? 'null' : v ? 'true' : 'false';
}

/**
 * Erlang's term order (`<`, `==`): numbers compare arithmetically (1 == 1.0), atoms by name, maps by
 * size then sorted keys then values, lists element by element, binaries byte-wise.
 */
export function compareTerms(a: SqlValue, b: SqlValue): -1 | 0 | 1 {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0: {
      const x = cmpNum(a as number | bigint | SqlFloat);
      const y = cmpNum(b as number | bigint | SqlFloat);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 1:
      return compareStrings(atomName(a), atomName(b));
    case 2:
      return compareMaps(a as SqlMap, b as SqlMap);
    case 3: {
      const la = a as SqlValue[];
      const lb = b as SqlValue[];
      const n = Math.min(la.length, lb.length);
      for (let i = 0; i < n; i++) {
        const c = compareTerms(la[i], lb[i]);
        if (c !== 0) return c;
      }
      return la.length < lb.length ? -1 : la.length > lb.length ? 1 : 0;
    }
    default:
      if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
      return Buffer.compare(toBuffer(a as string | Buffer), toBuffer(b as string | Buffer)) as -1 | 0 | 1;
  }
}

function toBuffer(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function compareMaps(a: SqlMap, b: SqlMap): -1 | 0 | 1 {
  const ka = Object.keys(a).sort(compareStrings);
  const kb = Object.keys(b).sort(compareStrings);
  if (ka.length !== kb.length) return ka.length < kb.length ? -1 : 1;
  for (let i = 0; i < ka.length; i++) {
    const c = compareStrings(ka[i] as string, kb[i] as string);
    if (c !== 0) return c;
  }
  for (const key of ka) {
    const c = compareTerms(a[key], b[key]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Erlang's exact equality (`=:=`), used by IN, simple CASE and contains(): no coercion, `1` ≠ `1.0` ≠
 * `'1'`; maps and lists compared structurally.
 */
export function exactEquals(a: SqlValue, b: SqlValue): boolean {
  if (a === b) return true;
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    // 2^60 computed in doubles (an integral number) and 2^60 as a bigint are the same integer.
    return isInt(a) && isInt(b) && a == b; // eslint-disable-line eqeqeq
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // A string and a Buffer holding the same bytes are the same Erlang binary.
    if (typeof a === 'string' && Buffer.isBuffer(b)) return b.equals(Buffer.from(a, 'utf8'));
    if (typeof b === 'string' && Buffer.isBuffer(a)) return a.equals(Buffer.from(b, 'utf8'));
    return false;
  }
  if (a instanceof SqlFloat) return b instanceof SqlFloat && a.value === b.value;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!exactEquals(a[i], b[i])) return false;
    return true;
  }
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b);
  if (!isMap(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const key of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !exactEquals(a[key], b[key])) return false;
  }
  return true;
}

/**
 * `topic =~ filter` (§6): MQTT matching level by level, `+` one level (possibly empty), `#` the rest
 * (including none); a topic starting with `$` never matches a filter starting with `+` or `#`.
 * Undefined on either side is false; other non-strings raise.
 */
export function topicMatch(topic: SqlValue, filter: SqlValue): boolean {
  if (topic === undefined || filter === undefined) return false;
  if (Buffer.isBuffer(topic)) topic = topic.toString('utf8');
  if (Buffer.isBuffer(filter)) filter = filter.toString('utf8');
  if (typeof topic !== 'string' || typeof filter !== 'string') {
    return badArgs('=~', topic, filter, 'a topic and a topic filter (strings)');
  }
  return matchTopicText(topic, filter);
}

/** The matcher itself, on strings, without splitting into arrays. */
export function matchTopicText(topic: string, filter: string): boolean {
  if (topic.charCodeAt(0) === 0x24 /* $ */) {
    const f0 = filter.charCodeAt(0);
    if (f0 === 0x2b /* + */ || f0 === 0x23 /* # */) return false;
  }
  let ti = 0; // start of the current topic level
  let fi = 0; // start of the current filter level
  for (;;) {
    let fe = filter.indexOf('/', fi);
    if (fe === -1) fe = filter.length;
    const flen = fe - fi;
    if (flen === 1 && filter.charCodeAt(fi) === 0x23 /* # */) return true;
    if (ti > topic.length) return false; // topic has no more levels, filter does
    let te = topic.indexOf('/', ti);
    if (te === -1) te = topic.length;
    const isPlus = flen === 1 && filter.charCodeAt(fi) === 0x2b; /* + */
    if (!isPlus) {
      if (te - ti !== flen) return false;
      for (let k = 0; k < flen; k++) {
        if (topic.charCodeAt(ti + k) !== filter.charCodeAt(fi + k)) return false;
      }
    }
    const topicDone = te === topic.length;
    const filterDone = fe === filter.length;
    if (filterDone) return topicDone;
    if (topicDone) {
      // Only `#` can match "no more levels": check the filter's remaining level.
      ti = topic.length + 1;
    } else {
      ti = te + 1;
    }
    fi = fe + 1;
  }
}

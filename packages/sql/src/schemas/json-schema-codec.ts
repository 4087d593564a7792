import Ajv, { type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import { RE2JS } from 're2js';
import { setKey } from '../paths';
import { SqlFloat, isMap, type SqlMap, type SqlValue } from '../values';

/**
 * JSON Schema validation with ajv, the draft picked from `$schema` as EMQX picks it: 2020-12, 2019-09,
 * draft-07 and draft-06 (the default when `$schema` is absent). EMQX also takes draft-03 and draft-04;
 * ajv 8 has neither, so such a schema is refused when the config is loaded, never at run time.
 */

export interface JsonSchemaValidator {
  /** True when the value conforms. */
  (value: SqlValue): boolean;
  /** The first violation of the last failed call, as `path: message`. */
  lastError(): string;
}

// ajv ships the draft-06 meta-schema as JSON only (this package does not turn on resolveJsonModule)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as object;

/**
 * `pattern` and `patternProperties` run on RE2 (re2js, as the regex functions do), not on JavaScript's
 * backtracking RegExp: the schema is the operator's, but the strings it is matched against are the
 * devices', and `^(a+)+$` against 30 a's and a '!' would hold the event loop for minutes. A pattern RE2
 * cannot run (backreferences, lookaround) makes the schema fail to compile, at start-up.
 */
const re2: ((pattern: string, flags: string) => { test(s: string): boolean }) & { code: string } = Object.assign(
  (pattern: string) => {
    const re = RE2JS.compile(pattern);
    return { test: (s: string) => re.matcher(s).find() };
  },
  // ajv reads `code` only when it generates standalone source, which this package never does
  { code: 're2js' },
);

/** Compiles a JSON Schema (text). Throws an Error saying what is wrong with it. */
export function compileJsonSchema(source: string): JsonSchemaValidator {
  let schema: unknown;
  try {
    schema = JSON.parse(source);
  } catch (error) {
    throw new Error(`the source is not JSON (${(error as Error).message})`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    if (typeof schema !== 'boolean') throw new Error('a JSON Schema is an object (or true/false)');
  }
  const declared = typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined;
  const draft = typeof declared === 'string' ? declared : '';
  // strict: false — EMQX accepts schemas with keywords ajv's strict mode rejects (unknown formats, `example`)
  const options = { strict: false, allErrors: false, validateFormats: false, code: { regExp: re2 } };
  let ajv: Ajv;
  if (draft.includes('2020-12')) ajv = new Ajv2020(options);
  else if (draft.includes('2019-09')) ajv = new Ajv2019(options);
  else if (draft === '' || draft.includes('draft-07') || draft.includes('draft-06')) {
    ajv = new Ajv(options);
    ajv.addMetaSchema(draft06);
  } else {
    throw new Error(`$schema ${draft} is not supported (supported: draft-06, draft-07, 2019-09, 2020-12)`);
  }
  const uniqueness = new LinearUniqueItems();
  uniqueness.replaceAjvKeyword(ajv);
  const validate: ValidateFunction = ajv.compile(schema as object);
  const check = ((value: SqlValue) => uniqueness.during(() => validate(plainJson(value, 0)))) as JsonSchemaValidator;
  check.lastError = () => {
    const first = validate.errors?.[0];
    if (first === undefined) return 'the value does not conform';
    return `${first.instancePath === '' ? 'the value' : first.instancePath} ${first.message ?? 'does not conform'}`;
  };
  return check;
}

/**
 * `uniqueItems` in linear time. ajv compares every pair of items with a deep equality when they are not
 * all scalars: `[{"i":0},{"i":1},…]` of 6,000 items (a 50 KB payload) held the event loop for 33 s. Here each
 * distinct value (by JSON Schema equality: numbers by value, objects whatever their key order) gets a small
 * integer id, a container's id from its items' ids, so an array has duplicates exactly when two of its items
 * have the same id, found with one Set. Ids are kept for one validation: a container nested in several
 * arrays with uniqueItems (a recursive schema) is keyed once, so the work stays proportional to the payload.
 */
class LinearUniqueItems {
  /** The ids of one validation; undefined outside of one. */
  private ids: StructureIds | undefined;

  /** Runs one validation with fresh ids, dropped afterwards (they hold the payload's keys). */
  during<T>(validation: () => T): T {
    this.ids = new StructureIds();
    try {
      return validation();
    } finally {
      this.ids = undefined;
    }
  }

  replaceAjvKeyword(ajv: Ajv): void {
    ajv.removeKeyword('uniqueItems');
    const check: SchemaValidateFunction = (wanted: boolean, data: unknown[]): boolean => {
      if (!wanted) return true;
      const ids = this.ids ?? new StructureIds();
      const firstIndex = new Map<number, number>();
      for (let i = 0; i < data.length; i++) {
        const id = ids.of(data[i]);
        const first = firstIndex.get(id);
        if (first !== undefined) {
          // ajv's own wording, so errors read as before
          check.errors = [{ keyword: 'uniqueItems', message: `must NOT have duplicate items (items ## ${first} and ${i} are identical)`, params: { i, j: first } }];
          return false;
        }
        firstIndex.set(id, i);
      }
      return true;
    };
    ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: check });
  }
}

/** Gives equal JSON values (JSON Schema's equality) the same id, different ones different ids. */
class StructureIds {
  private readonly byKey = new Map<string, number>();
  private readonly byContainer = new Map<object, number>();

  of(value: unknown): number {
    if (typeof value !== 'object' || value === null) return this.idOf(scalarKey(value));
    const known = this.byContainer.get(value);
    if (known !== undefined) return known;
    let key: string;
    if (Array.isArray(value)) {
      key = 'a';
      for (const item of value) key += `${this.of(item)},`;
    } else {
      key = 'o';
      const record = value as Record<string, unknown>;
      for (const name of Object.keys(record).sort()) key += `${JSON.stringify(name)}:${this.of(record[name])},`;
    }
    const id = this.idOf(key);
    this.byContainer.set(value, id);
    return id;
  }

  private idOf(key: string): number {
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.byKey.size;
      this.byKey.set(key, id);
    }
    return id;
  }
}

/** A scalar's key: numbers by value (1 and 1.0 and 1n are one number, as in JSON), strings by their text. */
function scalarKey(value: unknown): string {
  if (typeof value === 'string') return `s${value}`;
  if (typeof value === 'bigint') return `n${value.toString()}`;
  if (typeof value === 'number') {
    // an integral double past 2^53 written out in full, so it meets the bigint of the same value
    return `n${Number.isInteger(value) && !Number.isSafeInteger(value) ? BigInt(value).toString() : String(value)}`;
  }
  return value === null ? 'z' : value === true ? 't' : value === false ? 'f' : `u${typeof value}`;
}

/** Deeper values than this are not validated (decodeJson already stops at 512 levels). */
const MAX_DEPTH = 512;

/** A rule value as JSON data: integral floats unboxed, binaries as their text, undefined keys left out. */
function plainJson(value: SqlValue, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new Error(`values nested deeper than ${MAX_DEPTH} levels`);
  if (value instanceof SqlFloat) return value.value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map((item) => plainJson(item, depth + 1));
  if (isMap(value)) {
    const out: SqlMap = {};
    for (const key of Object.keys(value)) if (value[key] !== undefined) setKey(out, key, plainJson(value[key], depth + 1) as SqlValue);
    return out;
  }
  return value;
}

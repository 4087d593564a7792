import Ajv, { type ValidateFunction } from 'ajv';
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
  const validate: ValidateFunction = ajv.compile(schema as object);
  const check = ((value: SqlValue) => validate(plainJson(value, 0))) as JsonSchemaValidator;
  check.lastError = () => {
    const first = validate.errors?.[0];
    if (first === undefined) return 'the value does not conform';
    return `${first.instancePath === '' ? 'the value' : first.instancePath} ${first.message ?? 'does not conform'}`;
  };
  return check;
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

import { stringifyJson, type RuleOutput } from '@sluice/core';
import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import { Type as AvroType, types as avroTypes } from 'avsc';
import type { RegistrySchemaType } from './schema-registry-client';

/** The Confluent wire format: magic byte 0, then the schema id as a 4-byte big-endian integer. */
export const WIRE_HEADER_BYTES = 5;

/** Why an output does not fit a schema: `path` is the field (`temp`, `readings[2].value`), or '' for the whole value. */
export class SchemaMismatch extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(path === '' ? problem : `${path}: ${problem}`);
  }
}

/** Turns a rule output into a wire-format value with one schema; compiled once, used per record. */
export interface ValueCodec {
  readonly schemaType: Exclude<RegistrySchemaType, 'PROTOBUF'>;
  /** The schema text as registered. */
  readonly text: string;
  /** The framed record value (header with `schemaId`, then the encoded output). Throws SchemaMismatch. */
  encode(output: RuleOutput, schemaId: number): Buffer;
}

/** Compiles an Avro schema or JSON Schema; throws Error with the library's words when it is not one. */
export function compileCodec(schemaType: ValueCodec['schemaType'], text: string): ValueCodec {
  return schemaType === 'AVRO' ? new AvroCodec(text) : new JsonSchemaCodec(text);
}

function writeHeader(target: Buffer, schemaId: number): void {
  target[0] = 0;
  target.writeUInt32BE(schemaId, 1);
}

/** Start size of the scratch buffer an Avro value is written into before its exact-size copy. */
const AVRO_SCRATCH_BYTES = 8 * 1024;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Avro `long` for outputs holding exact integers beyond 2^53 (the SQL engine gives those as bigint): written
 * from the 8 bytes avsc packs. Used only when the plain type refused an output that holds a bigint, so the
 * common path (numbers) keeps avsc's own, allocation-free long.
 */
const BIG_LONG = avroTypes.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (value: number | bigint) => {
    const buf = Buffer.allocUnsafe(8);
    buf.writeBigInt64LE(BigInt(value));
    return buf;
  },
  fromJSON: (value: unknown) => (typeof value === 'bigint' ? value : BigInt(value as number)),
  toJSON: (value: bigint) => Number(value),
  isValid: (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value))
    || (typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** Whether an output holds a bigint anywhere (bounded depth): asked only once encoding failed. */
export function holdsBigint(value: unknown, depth = 0): boolean {
  if (typeof value === 'bigint') return true;
  if (typeof value !== 'object' || value === null || depth > 64 || Buffer.isBuffer(value)) return false;
  if (Array.isArray(value)) return value.some((item) => holdsBigint(item, depth + 1));
  for (const key of Object.keys(value)) if (holdsBigint((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

class AvroCodec implements ValueCodec {
  readonly schemaType = 'AVRO' as const;
  private readonly type: AvroType;
  /** The same schema with BIG_LONG, compiled on the first output that needs it. */
  private bigType: AvroType | undefined;
  /** Written into, then copied out at the exact size: one allocation per record. Grows to the largest value. */
  private scratch = Buffer.allocUnsafe(AVRO_SCRATCH_BYTES);

  constructor(readonly text: string) {
    // unions without a wrapper where unambiguous (["null", "string"] takes "x" or null), as JSON outputs are
    this.type = AvroType.forSchema(JSON.parse(text) as never, { wrapUnions: 'auto' });
  }

  encode(output: RuleOutput, schemaId: number): Buffer {
    let end: number;
    try {
      end = this.write(this.type, output);
    } catch {
      if (!holdsBigint(output)) throw this.mismatch(this.type, output);
      this.bigType ??= AvroType.forSchema(JSON.parse(this.text) as never, { wrapUnions: 'auto', registry: { long: BIG_LONG } });
      try {
        end = this.write(this.bigType, output);
      } catch {
        throw this.mismatch(this.bigType, output);
      }
    }
    const framed = Buffer.allocUnsafe(end);
    this.scratch.copy(framed, WIRE_HEADER_BYTES, WIRE_HEADER_BYTES, end);
    writeHeader(framed, schemaId);
    return framed;
  }

  private write(type: AvroType, output: RuleOutput): number {
    let end = type.encode(output, this.scratch, WIRE_HEADER_BYTES);
    if (end < 0) {
      // too small by -end bytes: grow once and write again
      this.scratch = Buffer.allocUnsafe(this.scratch.length - end);
      end = type.encode(output, this.scratch, WIRE_HEADER_BYTES);
    }
    return end;
  }

  /** Only on failure: walks the value again to name the first field that does not fit. */
  private mismatch(type: AvroType, output: RuleOutput): SchemaMismatch {
    let found: SchemaMismatch | undefined;
    type.isValid(output, {
      errorHook: (path: string[], value: unknown, type: AvroType) => {
        found ??= new SchemaMismatch(avroPath(path), `${describeValue(value)} does not fit Avro type ${avroTypeName(type)}`);
      },
    });
    return found ?? new SchemaMismatch('', 'the output cannot be written with the Avro schema');
  }
}

/** avsc gives record field names and array indexes as path segments. */
function avroPath(path: readonly string[]): string {
  let text = '';
  for (const segment of path) text += /^\d+$/.test(segment) ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  return text;
}

function avroTypeName(type: AvroType): string {
  const schema = type.schema() as unknown;
  if (typeof schema === 'string') return JSON.stringify(schema);
  const named = schema as { type?: unknown; name?: unknown };
  if (typeof named.name === 'string') return `${String(named.type)} "${named.name}"`;
  return Array.isArray(schema) ? `union ${JSON.stringify(schema).slice(0, 120)}` : JSON.stringify(named.type ?? schema).slice(0, 120);
}

/** What a value is, for an error message: its kind, and a short excerpt of text values (device data). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'a missing value';
  if (value === null) return 'null';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `the ${typeof value} ${String(value).slice(0, 40)}`;
  if (Array.isArray(value)) return 'a list';
  if (Buffer.isBuffer(value)) return 'bytes';
  return 'a map';
}

class JsonSchemaCodec implements ValueCodec {
  readonly schemaType = 'JSON' as const;
  private readonly validate: ValidateFunction;

  constructor(readonly text: string) {
    const schema = JSON.parse(text) as Record<string, unknown> | boolean;
    const dialect = typeof schema === 'object' && typeof schema['$schema'] === 'string' ? schema['$schema'] : '';
    // formats need ajv-formats, which we do not ship: `format` is an annotation here, as the spec allows
    const options = { allErrors: false, strict: false, validateFormats: false, logger: false } as const;
    const ajv = dialect.includes('2020-12') ? new Ajv2020(options) : dialect.includes('2019-09') ? new Ajv2019(options) : new Ajv(options);
    this.validate = ajv.compile(schema);
  }

  encode(output: RuleOutput, schemaId: number): Buffer {
    // Exact integers (bigint) are rare: looked for only once the plain path failed. ajv knows no bigint,
    // so it then validates a copy with those integers as (nearest) numbers.
    if (!this.validate(output) && (!holdsBigint(output) || !this.validate(withNumbers(output)))) throw this.mismatch();
    let text: string | undefined;
    try {
      text = stringifyJson(output); // bigints as their exact digits
    } catch (error) {
      throw new SchemaMismatch('', `the output cannot be written as JSON: ${(error as Error).message}`);
    }
    if (text === undefined) throw new SchemaMismatch('', 'the output cannot be written as JSON');
    const framed = Buffer.allocUnsafe(WIRE_HEADER_BYTES + Buffer.byteLength(text));
    framed.write(text, WIRE_HEADER_BYTES);
    writeHeader(framed, schemaId);
    return framed;
  }

  private mismatch(): SchemaMismatch {
    const error = this.validate.errors?.[0];
    if (error === undefined) return new SchemaMismatch('', 'the output does not match the JSON Schema');
    return new SchemaMismatch(jsonPointerToPath(error.instancePath), `${error.message ?? 'does not match'} (JSON Schema keyword ${error.keyword} at ${error.schemaPath})`);
  }
}

function withNumbers(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? Number(item) : item)));
}

/** JSON with bigints written as every digit of a JSON number (Node 20 has no JSON.rawJSON). */
/** `/readings/2/value` → `readings[2].value` */
function jsonPointerToPath(pointer: string): string {
  let text = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    text += /^\d+$/.test(segment) ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  }
  return text;
}

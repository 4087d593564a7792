import { Type, types } from 'avsc';
import { setKey } from '../paths';
import { SqlFloat, describeValue, intOf, isMap, makeFloat, type SqlMap, type SqlValue } from '../values';
import { SchemaCodecError } from './schema-types';

/**
 * Avro binary to rule values and back, shaped as EMQX's erlavro codec shapes them: records and maps as
 * maps, unions unwrapped (the branch's value alone), enums as their symbol, bytes and fixed as binaries,
 * logical types as their underlying value.
 *
 * Decoding is our own bounded reader, not avsc's: avsc trusts an array or map block's item count, so a
 * few bytes announcing 2^62 items of type null make it loop and allocate without end. Here every length
 * is checked against the bytes left, every block count against the items a message may hold in total
 * (maxItems), and nesting against MAX_AVRO_DEPTH. avsc parses and checks the schema and encodes.
 */

/** Deepest nesting of records, arrays, maps and unions decoded (a recursive schema could go on forever). */
export const MAX_AVRO_DEPTH = 64;

/** Parses an Avro schema (JSON text). Throws an Error saying what is wrong with it. */
export function parseAvroSchema(source: string): Type {
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (error) {
    throw new Error(`the source is not JSON (${(error as Error).message})`);
  }
  return Type.forSchema(json as Parameters<typeof Type.forSchema>[0], { registry: { long: EXACT_LONG } });
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Avro `long` for avsc over the engine's exact integers: safe integers as numbers, the others as
 * bigints (avsc's own long refuses anything past 2^53). Decoding does not use it (AvroReader reads longs
 * itself); encoding writes through its 8-byte form.
 */
const EXACT_LONG = types.LongType.__with({
  fromBuffer: (buf: Buffer) => intOf(buf.readBigInt64LE(0)),
  toBuffer: (n: number | bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n), 0);
    return buf;
  },
  fromJSON: (json: unknown) => (typeof json === 'bigint' ? intOf(json) : json),
  toJSON: (n: number | bigint) => (typeof n === 'bigint' ? Number(n) : n),
  isValid: (n: unknown) =>
    (typeof n === 'number' && Number.isSafeInteger(n)) || (typeof n === 'bigint' && n >= INT64_MIN && n <= INT64_MAX),
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** Decodes one datum of `type` from all of `bytes`. */
export function decodeAvro(type: Type, bytes: Buffer, maxItems: number): SqlValue {
  const reader = new AvroReader(bytes, maxItems);
  const value = reader.read(type, 1);
  if (reader.pos !== bytes.length) throw new SchemaCodecError(`${bytes.length - reader.pos} bytes left over after the ${type.typeName} value`);
  return value;
}

/** Encodes a value as one datum of `type`; throws SchemaCodecError naming the first field at fault. */
export function encodeAvro(type: Type, value: SqlValue): Buffer {
  const input = avroInput(type, value, 1);
  let problem: string | undefined;
  const valid = type.isValid(input, {
    errorHook: (path: string[], got: unknown, expected: Type) => {
      problem ??= `${path.length === 0 ? '' : `${path.join('.')}: `}expected ${describeType(expected)}, got ${describeValue(got as SqlValue)}`;
    },
  });
  if (!valid) throw new SchemaCodecError(problem ?? `the value does not conform to the ${type.typeName} schema`);
  return type.toBuffer(input);
}

function describeType(type: Type): string {
  const name = (type as { name?: string }).name;
  return name === undefined ? `a value of type ${type.typeName}` : `a ${type.typeName} ${name}`;
}

/**
 * A rule value as avsc wants it for `type`: integral floats unboxed, maps as plain objects, and strings
 * where the schema wants `bytes` or `fixed` turned into their UTF-8 bytes (in EMQX a string is a binary).
 */
function avroInput(type: Type, value: SqlValue, depth: number): unknown {
  if (depth > MAX_AVRO_DEPTH) throw new SchemaCodecError(`values nested deeper than ${MAX_AVRO_DEPTH} levels`);
  if (value instanceof SqlFloat) return value.value;
  const shape = type as unknown as AvroTypeShape;
  switch (shape.typeName) {
    case 'bytes':
    case 'fixed':
      return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    case 'array':
      return Array.isArray(value) ? value.map((item) => avroInput(shape.itemsType as Type, item, depth + 1)) : value;
    case 'map':
      return isMap(value) ? mapInput(value, (item) => avroInput(shape.valuesType as Type, item, depth + 1)) : value;
    case 'record':
    case 'error': {
      if (!isMap(value)) return value;
      const fieldTypes = new Map((shape.fields ?? []).map((field) => [field.name, field.type]));
      return mapInput(value, (item, key) => {
        const fieldType = fieldTypes.get(key);
        return fieldType === undefined ? plain(item, depth + 1) : avroInput(fieldType, item, depth + 1);
      });
    }
    default:
      if (shape.typeName.startsWith('union')) {
        // the first branch the value fits once converted for it (as avsc picks an unwrapped union's branch)
        for (const branch of shape.types ?? []) {
          const converted = avroInput(branch, value, depth + 1);
          if (branch.isValid(converted)) return converted;
        }
        return plain(value, depth + 1);
      }
      if (shape.underlyingType !== undefined) return avroInput(shape.underlyingType, value, depth);
      return plain(value, depth);
  }
}

function mapInput(value: SqlMap, convert: (item: SqlValue, key: string) => unknown): SqlMap {
  const out: SqlMap = {};
  for (const key of Object.keys(value)) setKey(out, key, convert(value[key], key) as SqlValue);
  return out;
}

/** Values a schema does not describe (extra record fields): integral floats unboxed, maps as plain objects. */
function plain(value: SqlValue, depth: number): unknown {
  if (depth > MAX_AVRO_DEPTH) throw new SchemaCodecError(`values nested deeper than ${MAX_AVRO_DEPTH} levels`);
  if (value instanceof SqlFloat) return value.value;
  if (Array.isArray(value)) return value.map((item) => plain(item, depth + 1));
  if (isMap(value)) return mapInput(value, (item) => plain(item, depth + 1));
  return value;
}

interface AvroTypeShape {
  readonly typeName: string;
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly type: Type }>;
  readonly types?: readonly Type[];
  readonly itemsType?: Type;
  readonly valuesType?: Type;
  readonly size?: number;
  readonly symbols?: readonly string[];
  readonly underlyingType?: Type;
}

class AvroReader {
  pos = 0;
  private items = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly maxItems: number,
  ) {}

  read(type: Type, depth: number): SqlValue {
    if (depth > MAX_AVRO_DEPTH) throw new SchemaCodecError(`values nested deeper than ${MAX_AVRO_DEPTH} levels`);
    const shape = type as unknown as AvroTypeShape;
    switch (shape.typeName) {
      case 'null':
        return null;
      case 'boolean': {
        const byte = this.take(1)[0];
        if (byte !== 0 && byte !== 1) throw new SchemaCodecError(`invalid boolean byte ${byte} at offset ${this.pos - 1}`);
        return byte === 1;
      }
      case 'int':
      case 'long':
      case 'abstract:long': // EXACT_LONG
        return this.long();
      case 'float':
        return makeFloat(this.take(4).readFloatLE(0));
      case 'double':
        return makeFloat(this.take(8).readDoubleLE(0));
      case 'bytes':
        return Buffer.from(this.take(this.length()));
      case 'string':
        return this.take(this.length()).toString('utf8');
      case 'fixed':
        return Buffer.from(this.take(shape.size ?? 0));
      case 'enum': {
        const index = this.count();
        const symbol = shape.symbols?.[index];
        if (symbol === undefined) throw new SchemaCodecError(`enum index ${index} is out of range`);
        return symbol;
      }
      case 'array': {
        const out: SqlValue[] = [];
        this.blocks(() => out.push(this.read(shape.itemsType as Type, depth + 1)));
        return out;
      }
      case 'map': {
        const out: SqlMap = {};
        this.blocks(() => {
          const key = this.take(this.length()).toString('utf8');
          // keys come from the payload: setKey keeps `__proto__` an own key instead of a prototype
          setKey(out, key, this.read(shape.valuesType as Type, depth + 1));
        });
        return out;
      }
      case 'record':
      case 'error': {
        const out: SqlMap = {};
        for (const field of shape.fields ?? []) out[field.name] = this.read(field.type, depth + 1);
        return out;
      }
      default:
        if (shape.typeName.startsWith('union')) {
          const index = this.count();
          const branch = shape.types?.[index];
          if (branch === undefined) throw new SchemaCodecError(`union branch ${index} does not exist`);
          return this.read(branch, depth + 1);
        }
        if (shape.underlyingType !== undefined) return this.read(shape.underlyingType, depth);
        throw new SchemaCodecError(`unsupported Avro type ${shape.typeName}`);
    }
  }

  /** Array and map blocks: a count (negative: followed by the block's size in bytes), until a count of 0. */
  private blocks(readItem: () => void): void {
    for (;;) {
      const announced = this.long();
      if (announced === 0) return;
      // a count past 2^53 is past any limit: the same error as one just over it
      let count = typeof announced === 'bigint' ? Infinity : announced;
      if (count < 0) {
        count = -count;
        this.count();
      }
      this.items += count;
      if (this.items > this.maxItems) throw new SchemaCodecError(`more than ${this.maxItems} array or map items (the limit maxListLength)`);
      for (let i = 0; i < count; i++) readItem();
    }
  }

  private length(): number {
    const n = this.count();
    if (n < 0 || n > this.buf.length - this.pos) throw new SchemaCodecError(`length ${n} at offset ${this.pos} runs past the end of the ${this.buf.length} bytes`);
    return n;
  }

  private take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new SchemaCodecError(`the data ends at ${this.buf.length} bytes, in the middle of a value`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A zig-zag varint of up to 64 bits, exactly: a number when safe, else a bigint. */
  private long(): number | bigint {
    // up to 7 bytes (49 bits) the arithmetic is exact in a double: the common case
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.buf.length) throw new SchemaCodecError(`the data ends at ${this.buf.length} bytes, in the middle of a number`);
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      scale *= 128;
    }
    this.pos = start;
    let wide = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new SchemaCodecError(`the data ends at ${this.buf.length} bytes, in the middle of a number`);
      const byte = this.buf[this.pos++] as number;
      wide |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) {
        const unsigned = BigInt.asUintN(64, wide);
        return intOf((unsigned >> 1n) ^ -(unsigned & 1n));
      }
    }
    throw new SchemaCodecError(`a number at offset ${start} is longer than 10 bytes`);
  }

  /** A count or length: a long that must be a safe number (anything larger cannot fit in the data anyway). */
  private count(): number {
    const n = this.long();
    if (typeof n === 'bigint') throw new SchemaCodecError(`count or length ${n} at offset ${this.pos} is beyond any payload`);
    return n;
  }
}

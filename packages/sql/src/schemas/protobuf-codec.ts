import { Enum, type Field, type Long, type Message, type Root, Type, parse } from 'protobufjs';
import { setKey } from '../paths';
import { SqlFloat, describeValue, intOf, isMap, makeFloat, type SqlMap, type SqlValue } from '../values';
import { SchemaCodecError } from './schema-types';

/**
 * Protobuf messages to rule values and back, with the shape EMQX's gpb-based codec gives them: field names
 * as written in the .proto (snake_case kept), a oneof's chosen field as a plain key of the message (gpb's
 * flat oneofs), enums by name, bytes as binaries, 64-bit integers as integers. A field that is absent
 * from the wire is absent from the map, except in proto3, where a scalar field without presence reads
 * as its default (0, '', false, the first enum name) as protobuf defines.
 */

/** Nesting deeper than this is refused (decoding and encoding): no real message comes near it. */
export const MAX_MESSAGE_DEPTH = 64;

const hasOwn = Object.prototype.hasOwnProperty;

/** A parsed .proto file: its message types by fully qualified name. */
export interface ProtoFile {
  readonly root: Root;
  readonly proto3: boolean;
  readonly types: ReadonlyMap<string, Type>;
}

/**
 * Parses .proto text (one file: `import` is refused, as there is nothing to import from). Throws an
 * Error saying what does not parse or resolve.
 */
export function parseProto(source: string): ProtoFile {
  const imported = /^\s*import\s+(?:public\s+|weak\s+)?["']([^"']*)["']/m.exec(source);
  if (imported !== null) throw new Error(`imports are not supported (the source imports ${imported[1]}): put every message in one source`);
  const parsed = parse(source, { keepCase: true, alternateCommentMode: true });
  parsed.root.resolveAll();
  const types = new Map<string, Type>();
  collectTypes(parsed.root.nestedArray, types);
  if (types.size === 0) throw new Error('the source declares no message type');
  return { root: parsed.root, proto3: /^\s*syntax\s*=\s*["']proto3["']/m.test(source), types };
}

function collectTypes(nested: readonly unknown[], into: Map<string, Type>): void {
  for (const item of nested) {
    if (item instanceof Type) into.set(item.fullName.replace(/^\./, ''), item);
    const children = (item as { nestedArray?: readonly unknown[] }).nestedArray;
    if (children !== undefined) collectTypes(children, into);
  }
}

/**
 * Decodes one message of `type`; throws SchemaCodecError for bytes that are not such a message, or whose
 * repeated fields and maps hold more than `maxItems` items together (the engine's maxListLength: a 1 MiB
 * payload of packed varints is a million-item list).
 */
export function decodeMessage(type: Type, bytes: Buffer, proto3: boolean, maxItems: number): SqlMap {
  let message: Message;
  try {
    message = type.decode(bytes);
  } catch (error) {
    // protobufjs: RangeError 'index out of range' for truncated input or a length past the end,
    // ProtocolError for a missing required field, Error for a bad wire type; a stack overflow from
    // hostile nesting is a RangeError too, and as much this one message's failure.
    throw new SchemaCodecError(`not a valid ${type.name} message (${(error as Error).message})`);
  }
  return messageValue(type, message as unknown as Record<string, unknown>, { proto3, itemsLeft: maxItems, maxItems }, 1);
}

/** What one decode carries down the message tree. */
interface DecodeState {
  readonly proto3: boolean;
  readonly maxItems: number;
  itemsLeft: number;
}

function countItems(state: DecodeState, n: number): void {
  state.itemsLeft -= n;
  if (state.itemsLeft < 0) throw new SchemaCodecError(`more than ${state.maxItems} repeated or map items (the limit maxListLength)`);
}

/** How one field of a message type becomes a value; worked out once per type, not per message. */
interface FieldPlan {
  readonly name: string;
  readonly field: Field;
  readonly kind: number;
  readonly repeated: boolean;
  readonly map: boolean;
  /** proto3 fields without presence read as their default when absent. */
  readonly implicitDefault: boolean;
}

const MESSAGE = 0;
const ENUM = 1;
const FLOAT = 2;
const LONG = 3;
const BYTES = 4;
const PLAIN = 5;
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

const plans = new WeakMap<Type, readonly FieldPlan[]>();

function planOf(type: Type, proto3: boolean): readonly FieldPlan[] {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = type.fieldsArray.map((field) => {
      const resolved = field.resolvedType;
      const kind =
        resolved instanceof Type ? MESSAGE
        : resolved instanceof Enum ? ENUM
        : field.type === 'double' || field.type === 'float' ? FLOAT
        : LONG_TYPES.has(field.type) ? LONG
        : field.type === 'bytes' ? BYTES
        : PLAIN;
      const implicitDefault = proto3 && !field.repeated && !field.map && field.partOf === null && kind !== MESSAGE;
      return { name: field.name, field, kind, repeated: field.repeated, map: field.map, implicitDefault };
    });
    plans.set(type, plan);
  }
  return plan;
}

function messageValue(type: Type, message: Record<string, unknown>, state: DecodeState, depth: number): SqlMap {
  if (depth > MAX_MESSAGE_DEPTH) throw new SchemaCodecError(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
  const out: SqlMap = {};
  for (const plan of planOf(type, state.proto3)) {
    const name = plan.name;
    // protobufjs keeps defaults on the prototype: only own properties were on the wire
    const raw = hasOwn.call(message, name) ? message[name] : undefined;
    if (raw === undefined || raw === null) {
      if (plan.implicitDefault) out[name] = defaultValue(plan.field);
      continue;
    }
    if (plan.map) {
      const entries: SqlMap = {};
      const pairs = Object.entries(raw as Record<string, unknown>);
      countItems(state, pairs.length);
      // keys come from the payload: setKey keeps `__proto__` an own key instead of a prototype
      for (const [key, item] of pairs) setKey(entries, key, fieldValue(plan, item, state, depth));
      out[name] = entries;
    } else if (plan.repeated) {
      const items = raw as unknown[];
      countItems(state, items.length);
      const list: SqlValue[] = new Array<SqlValue>(items.length);
      for (let i = 0; i < items.length; i++) list[i] = fieldValue(plan, items[i], state, depth);
      out[name] = list;
    } else {
      out[name] = fieldValue(plan, raw, state, depth);
    }
  }
  return out;
}

function fieldValue(plan: FieldPlan, raw: unknown, state: DecodeState, depth: number): SqlValue {
  switch (plan.kind) {
    case MESSAGE:
      return messageValue(plan.field.resolvedType as Type, raw as Record<string, unknown>, state, depth + 1);
    case ENUM:
      return (plan.field.resolvedType as Enum).valuesById[raw as number] ?? (raw as number);
    case FLOAT:
      return floatValue(raw as number);
    case LONG:
      return longValue(raw as Long | number);
    case BYTES:
      // a view into the payload: copied, so a value kept by kv_store does not pin the whole message
      return Buffer.from(raw as Uint8Array);
    default:
      return raw as SqlValue;
  }
}

/** gpb reads IEEE specials as the atoms nan, infinity and '-infinity'. */
function floatValue(n: number): SqlValue {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'infinity';
  if (n === -Infinity) return '-infinity';
  return makeFloat(n);
}

/** A 64-bit integer, exactly: a number when it is safe, else a bigint (the engine's exact integers). */
function longValue(raw: Long | number): number | bigint {
  if (typeof raw === 'number') return raw;
  // protobufjs gives a Long of the long package (its dependency); its typings only declare the fields
  const long = raw as unknown as { toNumber(): number; toString(): string; high: number };
  // safe (|value| < 2^53) whenever the high word is strictly within ±2^21 (and not an unsigned top half); intOf decides the rest
  if (long.high < 0x200000 && long.high > -0x200000 && !(raw.unsigned && long.high < 0)) return long.toNumber();
  return intOf(BigInt(long.toString()));
}

function defaultValue(field: Field): SqlValue {
  if (field.resolvedType instanceof Enum) {
    const first = Object.keys(field.resolvedType.values)[0];
    return first ?? 0;
  }
  switch (field.type) {
    case 'double':
    case 'float':
      return new SqlFloat(0);
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'bool':
      return false;
    default:
      return 0;
  }
}

/** Encodes a map as one message of `type`; throws SchemaCodecError naming the field at fault. */
export function encodeMessage(type: Type, value: SqlValue): Buffer {
  const message = messageInput(type, value, '', 1);
  return Buffer.from(type.encode(message).finish());
}

function messageInput(type: Type, value: SqlValue, path: string, depth: number): Record<string, unknown> {
  if (depth > MAX_MESSAGE_DEPTH) throw new SchemaCodecError(`${where(path)}messages nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
  if (!isMap(value)) throw new SchemaCodecError(`${where(path)}expected a map for message ${type.name}, got ${describeValue(value)}`);
  const out: Record<string, unknown> = {};
  const fields = type.fields;
  for (const key of Object.keys(value)) {
    const field = hasOwn.call(fields, key) ? fields[key] : undefined;
    const at = path === '' ? key : `${path}.${key}`;
    if (field === undefined) throw new SchemaCodecError(`${where(path)}message ${type.name} has no field "${key}"`);
    const item = value[key];
    // EMQX's `undefined` (a missing value) leaves the field unset; so does JSON null
    if (item === undefined || item === null) continue;
    if (field.map) {
      if (!isMap(item)) throw new SchemaCodecError(`${at}: expected a map, got ${describeValue(item)}`);
      const entries: SqlMap = {};
      for (const k of Object.keys(item)) setKey(entries, k, scalarInput(field, item[k], `${at}.${k}`, depth) as SqlValue);
      out[key] = entries;
    } else if (field.repeated) {
      if (!Array.isArray(item)) throw new SchemaCodecError(`${at}: expected a list (repeated field), got ${describeValue(item)}`);
      out[key] = item.map((element, i) => scalarInput(field, element, `${at}[${i}]`, depth));
    } else {
      out[key] = scalarInput(field, item, at, depth);
    }
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => hasOwn.call(out, name));
    if (set.length > 1) throw new SchemaCodecError(`${where(path)}fields ${set.join(' and ')} are members of oneof ${oneof.name}: set one`);
  }
  for (const field of type.fieldsArray) {
    if (field.rule === 'required' && !hasOwn.call(out, field.name)) {
      throw new SchemaCodecError(`${where(path)}required field "${field.name}" of message ${type.name} is missing`);
    }
  }
  return out;
}

const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function scalarInput(field: Field, value: SqlValue, path: string, depth: number): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof Type) return messageInput(resolved, value, path, depth + 1);
  if (resolved instanceof Enum) {
    if (typeof value === 'string' && hasOwn.call(resolved.values, value)) return resolved.values[value];
    if (typeof value === 'number' && Number.isInteger(value) && hasOwn.call(resolved.valuesById, value)) return value;
    throw new SchemaCodecError(`${path}: expected a name or number of enum ${resolved.name} (${Object.keys(resolved.values).join(', ')}), got ${describeValue(value)}`);
  }
  const range = INT_RANGES[field.type];
  if (range !== undefined) {
    // a bigint, where the engine has exact integers past 2^53, is passed on as decimal text (protobufjs reads it exactly)
    const big = typeof (value as unknown) === 'bigint' ? (value as unknown as bigint) : typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : undefined;
    if (big === undefined || big < range[0] || big > range[1]) {
      throw new SchemaCodecError(`${path}: expected an integer from ${range[0]} to ${range[1]} (${field.type}), got ${describeValue(value)}`);
    }
    return typeof value === 'number' ? value : big.toString();
  }
  switch (field.type) {
    case 'double':
    case 'float':
      if (typeof value === 'number') return value;
      if (value instanceof SqlFloat) return value.value;
      throw new SchemaCodecError(`${path}: expected a number (${field.type}), got ${describeValue(value)}`);
    case 'bool':
      if (typeof value === 'boolean') return value;
      throw new SchemaCodecError(`${path}: expected true or false, got ${describeValue(value)}`);
    case 'string':
      if (typeof value === 'string') return value;
      if (Buffer.isBuffer(value)) return value.toString('utf8');
      throw new SchemaCodecError(`${path}: expected a string, got ${describeValue(value)}`);
    case 'bytes':
      if (Buffer.isBuffer(value)) return value;
      if (typeof value === 'string') return Buffer.from(value, 'utf8');
      throw new SchemaCodecError(`${path}: expected a binary or string (bytes), got ${describeValue(value)}`);
    default:
      throw new SchemaCodecError(`${path}: unsupported field type ${field.type}`);
  }
}

function where(path: string): string {
  return path === '' ? '' : `${path}: `;
}

import { ConfigError } from '@sluice/core';
import type { Type as AvroType } from 'avsc';
import type { Type as ProtoType } from 'protobufjs';
import { decodeJson } from '../json';
import { DEFAULT_LIMITS } from '../limits';
import { describeValue, encodeJsonValue, type SqlValue } from '../values';
import { decodeAvro, encodeAvro, parseAvroSchema } from './avro-codec';
import { compileJsonSchema } from './json-schema-codec';
import { type ProtoFile, decodeMessage, encodeMessage, parseProto } from './protobuf-codec';
import { type CompiledSchema, SCHEMA_TYPES, type SchemaDefinition, SchemaCodecError } from './schema-types';

/**
 * The schemas one rule engine knows, compiled once when the engine is made (EMQX's schema registry,
 * declared in the config instead of created through an API). Looking one up per message is one Map get.
 */
export class SchemaRegistry {
  private constructor(private readonly schemas: ReadonlyMap<string, CompiledSchema>) {}

  /** No schemas: what an engine without a `schemas` option has. */
  static readonly EMPTY = new SchemaRegistry(new Map());

  /**
   * Compiles every definition; collects every bad one into one ConfigError (plugin 'sql', paths
   * `schemas[i].…`) naming the schema and what is wrong, so a config shows all its problems at once.
   */
  static compile(definitions: readonly SchemaDefinition[] = [], maxItems = DEFAULT_LIMITS.maxListLength): SchemaRegistry {
    const compiled = new Map<string, CompiledSchema>();
    const issues: { path: string; message: string }[] = [];
    definitions.forEach((definition, i) => {
      const problem = definitionProblem(definition, compiled);
      if (problem !== undefined) {
        issues.push({ path: `schemas[${i}].${problem.key}`, message: problem.message });
        return;
      }
      try {
        compiled.set(definition.name, compileSchema(definition, maxItems));
      } catch (error) {
        issues.push({ path: `schemas[${i}].source`, message: `schema "${definition.name}" (${definition.type}): ${(error as Error).message}` });
      }
    });
    if (issues.length > 0) throw new ConfigError('sql', issues);
    return new SchemaRegistry(compiled);
  }

  get(name: string): CompiledSchema | undefined {
    return this.schemas.get(name);
  }

  names(): string[] {
    return [...this.schemas.keys()].sort();
  }
}

function definitionProblem(definition: SchemaDefinition, seen: ReadonlyMap<string, CompiledSchema>): { key: string; message: string } | undefined {
  if (typeof definition !== 'object' || definition === null) return { key: 'name', message: 'a schema is an object with name, type and source' };
  if (typeof definition.name !== 'string' || definition.name === '') return { key: 'name', message: 'a schema needs a name (the first argument of schema_decode)' };
  if (seen.has(definition.name)) return { key: 'name', message: `schema "${definition.name}" is declared twice: give each one its own name` };
  if (!SCHEMA_TYPES.includes(definition.type)) return { key: 'type', message: `schema "${definition.name}": type must be one of ${SCHEMA_TYPES.join(', ')}` };
  if (typeof definition.source !== 'string' || definition.source.trim() === '') return { key: 'source', message: `schema "${definition.name}": source is empty` };
  return undefined;
}

function compileSchema(definition: SchemaDefinition, maxItems: number): CompiledSchema {
  switch (definition.type) {
    case 'avro':
      return avroSchema(definition.name, parseAvroSchema(definition.source), maxItems);
    case 'protobuf':
      return protobufSchema(definition.name, parseProto(definition.source), maxItems);
    case 'json':
      return jsonSchema(definition.name, definition.source);
  }
}

/** Avro and JSON schemas describe one value: a message type argument is a mistake. */
function noMessageTypeProblem(kind: string): (messageType: string | undefined) => string | undefined {
  return (messageType) => (messageType === undefined ? undefined : `is ${kind}: it takes no message type`);
}

// The SQL functions put `schema "<name>": ` before a codec's message, so these start with "it".
function noMessageType(kind: string, messageType: string | undefined): void {
  if (messageType !== undefined) throw new SchemaCodecError(`it is ${kind}: it takes no message type`);
}

function avroSchema(name: string, type: AvroType, maxItems: number): CompiledSchema {
  return {
    name,
    type: 'avro',
    messageTypeProblem: noMessageTypeProblem('an Avro schema'),
    decode: (bytes, messageType) => {
      noMessageType('an Avro schema', messageType);
      return decodeAvro(type, bytes, maxItems);
    },
    encode: (value, messageType) => {
      noMessageType('an Avro schema', messageType);
      return encodeAvro(type, value);
    },
    check: () => {
      throw new SchemaCodecError('it is an Avro schema: schema_check takes a JSON schema');
    },
  };
}

/**
 * The message type a call names: its full name, or its name within the package or an enclosing message
 * (`Reading`, `Payload.Metric`) when only one type ends so; undefined when none does, the full names of
 * the candidates when several do.
 */
export function findMessageType(file: ProtoFile, name: string): ProtoType | undefined {
  const found = resolveMessageType(file, name);
  return Array.isArray(found) ? undefined : found;
}

function resolveMessageType(file: ProtoFile, name: string): ProtoType | string[] | undefined {
  const exact = file.types.get(name.replace(/^\./, ''));
  if (exact !== undefined) return exact;
  const candidates = [...file.types].filter(([fullName]) => fullName.endsWith(`.${name}`));
  if (candidates.length > 1) return candidates.map(([fullName]) => fullName);
  return candidates[0]?.[1];
}

function protobufSchema(name: string, file: ProtoFile, maxItems: number): CompiledSchema {
  const messageTypeProblem = (messageType: string | undefined): string | undefined => {
    if (messageType === undefined) return 'is a Protobuf schema: name the message type as the third argument';
    const found = resolveMessageType(file, messageType);
    if (Array.isArray(found)) return `has several message types named ${messageType} (${found.join(', ')}): give the full name`;
    return found === undefined ? `has no message type ${messageType} (it has ${[...file.types.keys()].join(', ')})` : undefined;
  };
  const typeOf = (messageType: string | undefined): ProtoType => {
    const type = messageType === undefined ? undefined : findMessageType(file, messageType);
    if (type === undefined) throw new SchemaCodecError(`it ${messageTypeProblem(messageType) ?? ''}`);
    return type;
  };
  return {
    name,
    type: 'protobuf',
    messageTypeProblem,
    decode: (bytes, messageType) => decodeMessage(typeOf(messageType), bytes, file.proto3, maxItems),
    encode: (value, messageType) => encodeMessage(typeOf(messageType), value),
    check: () => {
      throw new SchemaCodecError('it is a Protobuf schema: schema_check takes a JSON schema');
    },
  };
}

function jsonSchema(name: string, source: string): CompiledSchema {
  const validate = compileJsonSchema(source);
  const parse = (bytes: Buffer): SqlValue => {
    try {
      return decodeJson(bytes.toString('utf8'));
    } catch {
      throw new SchemaCodecError('the data is not valid JSON');
    }
  };
  return {
    name,
    type: 'json',
    messageTypeProblem: noMessageTypeProblem('a JSON schema'),
    decode: (bytes, messageType) => {
      noMessageType('a JSON schema', messageType);
      const value = parse(bytes);
      if (!validate(value)) throw new SchemaCodecError(`the data does not conform: ${validate.lastError()}`);
      return value;
    },
    encode: (value, messageType) => {
      noMessageType('a JSON schema', messageType);
      if (!validate(value)) throw new SchemaCodecError(`${describeValue(value)} does not conform: ${validate.lastError()}`);
      return encodeJsonValue(value);
    },
    // EMQX: schema_check(Name, Map | Bytes); bytes are parsed as JSON first, and bytes that are not JSON do not conform
    check: (value) => {
      if (typeof value === 'string' || Buffer.isBuffer(value)) {
        let parsed: SqlValue;
        try {
          parsed = decodeJson(typeof value === 'string' ? value : value.toString('utf8'));
        } catch {
          return false;
        }
        return validate(parsed);
      }
      return validate(value);
    },
  };
}

import type { Expr } from '../ast';
import { LiteralSyntaxError } from '../limits';
import type { SchemaRegistry } from '../schemas/schema-registry';
import type { CompiledSchema } from '../schemas/schema-types';
import type { SqlValue } from '../values';
import { type FunctionDef, type Specializer, bytes, fnError, text } from './args';
import { stateOf } from './state';
import type { FunctionContext, SqlFunction } from './types';

/**
 * EMQX's schema registry functions over the schemas declared to the engine (FunctionStateOptions.schemas):
 *   schema_decode(Name, Bytes [, MessageType])  → a map (Avro, Protobuf) or the JSON value (JSON Schema)
 *   schema_encode(Name, Value [, MessageType])  → a binary (Avro, Protobuf) or JSON text (JSON Schema)
 *   schema_check(Name, Value)                   → true/false (JSON Schema only)
 * A Protobuf schema needs the message type; the others take none. Any failure (no such schema, bytes
 * that do not decode, a value that does not fit) fails the rule for that message, as in EMQX.
 */

/*
 * The schemas of the engine compiling a rule right now (compilation is synchronous; see rule.ts): a
 * literal schema name unknown to them is refused when the rule compiles. Undefined when a rule is
 * compiled without an engine (compileRule alone, to validate its syntax): then names are only checked
 * per message, against the engine that runs the rule.
 */
let compilingSchemas: SchemaRegistry | undefined;

/** Runs `compile` with `schemas` as the registry literal schema names are checked against. */
export function withCompilingSchemas<T>(schemas: SchemaRegistry | undefined, compile: () => T): T {
  const previous = compilingSchemas;
  compilingSchemas = schemas;
  try {
    return compile();
  } finally {
    compilingSchemas = previous;
  }
}

type Operation = 'schema_decode' | 'schema_encode' | 'schema_check';

function schemaOf(fn: Operation, name: SqlValue, context: FunctionContext): CompiledSchema {
  const schemaName = text(fn, 1, name);
  const registry = stateOf(context).schemas;
  const schema = registry.get(schemaName);
  if (schema === undefined) throw fnError(fn, `no schema named "${schemaName}" ${declared(registry)}`);
  return schema;
}

function declared(registry: SchemaRegistry): string {
  const names = registry.names();
  return names.length === 0 ? '(no schemas are declared: add them under `schemas:`)' : `(declared: ${names.join(', ')})`;
}

function messageTypeArg(fn: Operation, v: SqlValue | undefined): string | undefined {
  return v === undefined ? undefined : text(fn, 3, v);
}

/** Runs one codec call; its failure becomes the function's error, naming the schema. */
function run<T>(fn: Operation, schema: CompiledSchema, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fnError(fn, `schema "${schema.name}": ${(error as Error).message}`);
  }
}

function decode(schema: CompiledSchema, args: readonly SqlValue[], messageType: string | undefined): SqlValue {
  const data = bytes('schema_decode', 2, args[1]);
  return run('schema_decode', schema, () => schema.decode(data, messageType));
}

function encode(schema: CompiledSchema, args: readonly SqlValue[], messageType: string | undefined): SqlValue {
  return run('schema_encode', schema, () => schema.encode(args[1], messageType));
}

function check(schema: CompiledSchema, args: readonly SqlValue[]): SqlValue {
  return run('schema_check', schema, () => schema.check(args[1]));
}

/** A string literal's value, or undefined when the argument is not one. */
function literalText(arg: Expr | undefined): string | undefined {
  return arg?.type === 'const' && typeof arg.value === 'string' ? arg.value : undefined;
}

/**
 * With a literal schema name (the usual case) the schema is looked up once per call site, and a name,
 * message type or argument count that can never work is refused when the rule compiles.
 */
function specializer(fn: Operation, withMessageType: boolean, call: (schema: CompiledSchema, args: readonly SqlValue[], messageType: string | undefined) => SqlValue): Specializer {
  return (syntax) => {
    const registry = compilingSchemas;
    const name = literalText(syntax[0]);
    if (registry === undefined || name === undefined) return undefined;
    const schema = registry.get(name);
    if (schema === undefined) throw new LiteralSyntaxError(`${fn}(): no schema named "${name}" ${declared(registry)}`, name);
    const typeSyntax = syntax[2];
    const messageType = literalText(typeSyntax);
    if (fn === 'schema_check' && schema.type !== 'json') {
      throw new LiteralSyntaxError(`schema_check(): schema "${name}" is ${schema.type === 'avro' ? 'an Avro' : 'a Protobuf'} schema: schema_check takes a JSON schema`, name);
    }
    // a message type computed per message can only be checked per message, except that Avro and JSON take none
    const problem = withMessageType ? schema.messageTypeProblem(typeSyntax === undefined ? undefined : (messageType ?? '')) : undefined;
    if (problem !== undefined && (typeSyntax === undefined || messageType !== undefined || schema.type !== 'protobuf')) {
      throw new LiteralSyntaxError(`${fn}(): schema "${name}" ${problem}`, messageType ?? name);
    }
    if (messageType !== undefined) return (args) => call(schema, args, messageType);
    return (args) => call(schema, args, messageTypeArg(fn, args[2]));
  };
}

const schemaDecode: SqlFunction = (args, ctx) => decode(schemaOf('schema_decode', args[0], ctx), args, messageTypeArg('schema_decode', args[2]));
const schemaEncode: SqlFunction = (args, ctx) => encode(schemaOf('schema_encode', args[0], ctx), args, messageTypeArg('schema_encode', args[2]));
const schemaCheck: SqlFunction = (args, ctx) => check(schemaOf('schema_check', args[0], ctx), args);

export const SCHEMA_FUNCTIONS: readonly FunctionDef[] = [
  ['schema_decode', 2, 3, schemaDecode, specializer('schema_decode', true, decode)],
  ['schema_encode', 2, 3, schemaEncode, specializer('schema_encode', true, encode)],
  ['schema_check', 2, 2, schemaCheck, specializer('schema_check', false, (schema, args) => check(schema, args))],
];

import type { SqlValue } from '../values';

/** The schema kinds EMQX's schema registry compiles in-process (its external HTTP kind has no counterpart). */
export type SchemaType = 'avro' | 'protobuf' | 'json';
export const SCHEMA_TYPES: readonly SchemaType[] = ['avro', 'protobuf', 'json'];

/**
 * One schema as a host declares it (the CLI's `schemas:` section, or sqlModule({ schemas })). `source`
 * is the schema's own text: an Avro schema in JSON, a .proto file, a JSON Schema document.
 */
export interface SchemaDefinition {
  readonly name: string;
  readonly type: SchemaType;
  readonly source: string;
}

/**
 * A compiled schema: built once when the engine is created, then used per message. Every method throws
 * a plain Error whose message says what is wrong with the value (the SQL functions wrap it with their
 * own name); none of them may be given a value they have not checked.
 */
export interface CompiledSchema {
  readonly name: string;
  readonly type: SchemaType;
  /**
   * Why a call naming this message type (undefined: none) can never work, as the end of a sentence
   * starting with the schema's name ('has no message type X (it has A, B)'); undefined when it can.
   */
  messageTypeProblem(messageType: string | undefined): string | undefined;
  decode(bytes: Buffer, messageType: string | undefined): SqlValue;
  encode(value: SqlValue, messageType: string | undefined): Buffer | string;
  /** True when the value conforms; only JSON schemas support it (as in EMQX). */
  check(value: SqlValue): boolean;
}

/** Why a payload could not be decoded or a value encoded: the message is the whole explanation. */
export class SchemaCodecError extends Error {
  override readonly name = 'SchemaCodecError';
}

import { type EvaluationLimits, type EvaluationLimitsOptions, resolveLimits } from '../limits';
import { SchemaRegistry } from '../schemas/schema-registry';
import type { SchemaDefinition } from '../schemas/schema-types';
import { encodeJsonValue, type SqlValue } from '../values';

/** Reads one environment variable; the default reads process.env (libraries take the environment by injection). */
export type EnvironmentReader = (name: string) => string | undefined;

/**
 * The mutable state some built-ins keep between messages: `kv_store_*` (EMQX: a node-wide table),
 * `proc_dict_*` (EMQX: the connection process's dictionary; here one per state, i.e. per engine) and
 * `getenv` (cached on first read, as EMQX caches it in persistent_term).
 */
export interface FunctionState {
  readonly kvStore: Map<string, SqlValue>;
  readonly procDict: Map<string, SqlValue>;
  readonly envCache: Map<string, string>;
  readonly readEnv: EnvironmentReader;
  readonly localOffset: LocalOffset;
  /** Size limits the built-ins check their results against (limits.ts). */
  readonly limits: EvaluationLimits;
  /** The schemas schema_decode/schema_encode/schema_check know by name, compiled once. */
  readonly schemas: SchemaRegistry;
}

/** Seconds east of UTC of the local time zone at an instant (for 'local', now_rfc3339, unix_ts_to_rfc3339). */
export type LocalOffset = (epochSeconds: number) => number;

export interface FunctionStateOptions {
  /** How getenv(Name) reads `EMQXVAR_<Name>`. Default: process.env, read by the host-facing seam below. */
  readonly readEnv?: EnvironmentReader;
  /** The local time zone. Default: the process's own (its TZ), through Date. */
  readonly localOffset?: LocalOffset;
  /** Per-evaluation size limits (limits.ts); keys left out keep their defaults. Bad values: ConfigError. */
  readonly limits?: EvaluationLimitsOptions;
  /**
   * Schemas for schema_decode, schema_encode and schema_check (EMQX's schema registry): Avro, Protobuf
   * or JSON Schema, each with a name. Compiled here, once; a bad one throws ConfigError naming it.
   */
  readonly schemas?: readonly SchemaDefinition[] | SchemaRegistry;
}

const processLocalOffset: LocalOffset = (epochSeconds) => {
  const offset = -new Date(epochSeconds * 1000).getTimezoneOffset() * 60;
  return offset === 0 ? 0 : offset;
};

// The one place this library touches process.env, as an overridable default: STYLE.md keeps libraries
// from reading the environment on their own, so hosts can pass their own reader.
const processEnvReader: EnvironmentReader = (name) => process.env[name];

/** Fresh state for one rule engine. */
export function createFunctionState(options: FunctionStateOptions = {}): FunctionState {
  const limits = resolveLimits(options.limits);
  const schemas = options.schemas instanceof SchemaRegistry ? options.schemas : SchemaRegistry.compile(options.schemas, limits.maxListLength);
  return {
    kvStore: new Map(),
    procDict: new Map(),
    envCache: new Map(),
    readEnv: options.readEnv ?? processEnvReader,
    localOffset: options.localOffset ?? processLocalOffset,
    limits,
    schemas,
  };
}

/** The size limits of a call: its engine's, else the defaults. */
export function limitsOf(context: { readonly state?: FunctionState }): EvaluationLimits {
  return (context.state ?? defaultFunctionState).limits;
}

/** The state of a call: the context's own, else the process-wide default. */
export function stateOf(context: { readonly state?: FunctionState }): FunctionState {
  return context.state ?? defaultFunctionState;
}

/** Used when the caller passes no state in the FunctionContext: one shared state per process. */
export const defaultFunctionState: FunctionState = createFunctionState();

/** Map key for any value (EMQX keys are arbitrary terms): strings stay as they are, others are tagged. */
export function stateKey(v: SqlValue): string {
  if (typeof v === 'string') return `s${v}`;
  if (Buffer.isBuffer(v)) return `s${v.toString('latin1')}`;
  if (typeof v === 'number') return `${Number.isInteger(v) ? 'i' : 'f'}${v}`;
  return `t${encodeJsonValue(v)}${v === undefined ? 'u' : ''}`;
}

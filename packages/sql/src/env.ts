import { isUtf8 } from 'node:buffer';
import { RuleEvaluationError, type RuleInput } from '@sluice/core';
import type { FunctionContext } from './functions';
import type { FunctionState } from './functions/state';
import { JsonLimitError, decodeJson } from './json';
import type { SqlMap, SqlValue } from './values';

/**
 * Everything one evaluation of one rule reads and writes. One Env is allocated per evaluate() call; the
 * compiled closures take it as their only argument. It doubles as the built-ins' FunctionContext.
 */
export class Env implements FunctionContext {
  /**
   * The map being built: the SELECT/DO output, or the FOREACH aliases while the FOREACH list runs. Each
   * field list puts its own fresh map here before writing (so none is allocated here in vain).
   */
  output: SqlMap = EMPTY;
  /** FOREACH aliases (the FOREACH list's output), visible to WHERE, INCASE and DO. */
  locals: SqlMap = EMPTY;
  /** The current FOREACH element. */
  item: SqlValue = undefined;
  /** True while WHERE / INCASE run: context functions then return undefined, as in EMQX. */
  inCondition = false;
  private payload: SqlValue = undefined;

  constructor(
    readonly input: RuleInput,
    readonly state: FunctionState,
  ) {}

  /** The payload decoded from JSON (RULE-SQL.md §4.3); raises when it is not JSON. Decoded once per input. */
  decodedPayload(): SqlValue {
    if (this.payload !== undefined) return this.payload;
    this.payload = decodedPayloadOf(this.input);
    return this.payload;
  }
}

const EMPTY: SqlMap = Object.freeze({}) as SqlMap;

/** Marks a payload that failed to decode, so a second rule on the same message fails without re-parsing. */
const NOT_JSON = Symbol('not JSON');

/*
 * The decoded payload of the last input seen, shared by every rule: the runtime hands one message to all
 * its matching rules in a row, so they decode it once. A one-entry cache rather than a WeakMap keyed by
 * input: WeakMap get/set cost more than the JSON decoding of a small payload, and a miss (inputs
 * interleaved) only costs a second decode. It keeps at most one input alive, until the next evaluation.
 */
let lastInput: RuleInput | undefined;
let lastRaw: unknown;
let lastDecoded: SqlValue | typeof NOT_JSON;

function decodedPayloadOf(input: RuleInput): SqlValue {
  const raw = input['payload'];
  if (input === lastInput && raw === lastRaw) {
    if (lastDecoded === NOT_JSON) throw notJson();
    return lastDecoded;
  }
  let decoded: SqlValue;
  try {
    decoded = decodeJson(typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw));
  } catch (error) {
    remember(input, raw, NOT_JSON);
    throw notJson(error);
  }
  remember(input, raw, decoded);
  return decoded;
}

function remember(input: RuleInput, raw: unknown, decoded: SqlValue | typeof NOT_JSON): void {
  lastInput = input;
  lastRaw = raw;
  lastDecoded = decoded;
}

/** A payload nested deeper than MAX_JSON_DEPTH is refused like one that is not JSON, saying why. */
function notJson(cause?: unknown): RuleEvaluationError {
  const why = cause instanceof JsonLimitError ? `is ${cause.message} (the limit of JSON payloads)` : 'is not valid JSON';
  return new RuleEvaluationError(`decode_json_failed: the payload ${why}`, cause === undefined ? {} : { cause });
}

/**
 * A column of the input. `payload` given as a Buffer reads as its UTF-8 text when it is valid UTF-8
 * (EMQX payloads are bytes, and nearly always text); other bytes stay a Buffer.
 */
export function columnValue(input: RuleInput, name: string): SqlValue {
  const value = Object.prototype.hasOwnProperty.call(input, name) ? (input[name] as SqlValue) : undefined;
  if (Buffer.isBuffer(value) && name === 'payload') return bufferText(value);
  return value;
}

/**
 * columnValue specialised for one name, chosen once at compile time (per message it is the hottest read).
 * A name that plain objects do not inherit (`clientid`, `qos`, ...) is read directly: the input is a
 * record (a plain object), so whatever it finds is an own property. The own-property check, which cost
 * about 20% of a string-function rule, stays for inherited names (`toString`, `constructor`, ...).
 */
export function columnReader(name: string): (input: RuleInput) => SqlValue {
  if (name === 'payload') return (input) => columnValue(input, 'payload');
  if (name in Object.prototype) return (input) => columnValue(input, name);
  return (input) => input[name] as SqlValue;
}

export function bufferText(value: Buffer): string | Buffer {
  return isUtf8(value) ? value.toString('utf8') : value;
}

/** Tries to read a string met while walking a path as JSON; undefined when it is not JSON (§4.2). */
export function tryDecode(text: string | Buffer): SqlValue {
  try {
    return decodeJson(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    return undefined;
  }
}

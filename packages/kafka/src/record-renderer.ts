import { type ActionContext, type Message, type RuleOutput, ActionWriteError, type ActionRef, type Template, TopicTemplate, parseJsonExact, quoteExcerpt, stringifyJson, valueRenderer } from '@sluice/core';
import type { IHeaders, Message as KafkaMessage } from 'kafkajs';
import { JsonChecker, type JsonProblem } from './json-check';
import type { KafkaActionSettings } from './kafka-connector-config';
import { PICK_PARTITION, type PickPartition, type RoutedMessage } from './partitioning';
import type { SchemaValueEncoder } from './schema-value-encoder';

/** One record ready for kafkajs, with its topic and size estimates for batching and for the buffer's limits. */
export interface RenderedRecord {
  readonly topic: string;
  readonly message: RoutedMessage;
  /** Estimated bytes on the wire: key + value + headers + a fixed per-record overhead (batches, the disk log). */
  readonly bytes: number;
  /**
   * Estimated heap the record holds while it waits (`buffer.limit`, `perPartitionLimit`): its wire bytes, the
   * pipeline's objects around it and, for a record a rule just produced, the MQTT message and rule output the
   * runtime keeps until the send settles (heldInMemory, heldFromDisk).
   */
  readonly held: number;
}

/**
 * The pipeline's objects around a waiting record (entry, promise, record and message objects, timestamp string)
 * beyond its wire bytes; and the runtime's (the MQTT message without its payload, the rule output, the pending
 * send). Measured with `npm run bench:kafka-memory`: 603 bytes of heap per waiting record in the action alone and
 * 1,499 through the runtime, for a record of 135 wire bytes from a 183-byte payload; the estimate gives 647 and 1,598.
 */
const PIPELINE_HELD = 512;
const RUNTIME_HELD = 768;

/** The heap estimate of a record a rule just produced from `message` (see RenderedRecord.held). */
export function heldInMemory(bytes: number, message: Message): number {
  return bytes + PIPELINE_HELD + RUNTIME_HELD + message.payload.length;
}

/** The heap estimate of a record read back from a disk log: no MQTT message waits on it. */
export function heldFromDisk(bytes: number): number {
  return bytes + PIPELINE_HELD;
}

/** What a send waiting before it is rendered (for a schema id) holds: the MQTT message and the rule output. */
export function heldBeforeRender(message: Message): number {
  return RUNTIME_HELD + message.payload.length + message.topic.length;
}

/** Records the renderer refused, by reason; read into the action's metrics. */
export interface RenderCounters {
  /** A rendered key or value failed `check: json`. */
  invalidJson: number;
  /** The rule output did not fit the `valueSchema` (or the registry refused its subject). */
  schema: number;
}

const RECORD_OVERHEAD = 64;
const INTEGER = /^\d{1,16}$/;

/**
 * Renders rule outputs into Kafka records. Templates are compiled once, here; render() does no
 * parsing beyond what a `headers` placeholder (JSON) needs.
 */
export class RecordRenderer {
  private readonly topic: TopicTemplate;
  /** Key, value and header values keep binary bytes (Template.renderValue); keys and timestamps are text. */
  private readonly key: (output: RuleOutput) => string | Buffer;
  private readonly value: (output: RuleOutput) => string | Buffer;
  private readonly timestamp: Template;
  private readonly headers: Template | undefined;
  private readonly extHeaders: ReadonlyArray<{ readonly key: Template; readonly value: (output: RuleOutput) => string | Buffer }>;
  private readonly jsonHeaderValues: boolean;
  private readonly userProperties: boolean;
  /** One scanner for key and value: render() runs to completion, never two at once. */
  private readonly json: JsonChecker | undefined;
  private readonly checkKey: boolean;
  private readonly checkValue: boolean;
  readonly counters: RenderCounters = { invalidJson: 0, schema: 0 };

  constructor(
    private readonly where: ActionRef,
    private readonly settings: KafkaActionSettings,
    templates: ActionContext['templates'],
    private readonly pick: PickPartition,
    /** With `valueSchema`: encodes the whole output in place of the value template. */
    private readonly encoder?: SchemaValueEncoder,
  ) {
    // a missing placeholder fails the record rather than producing to "t-"
    this.topic = new TopicTemplate(settings.topic, templates);
    this.key = valueRenderer(templates.compileTemplate(settings.key));
    this.value = valueRenderer(templates.compileTemplate(settings.value));
    this.timestamp = templates.compileTemplate(settings.timestamp);
    this.headers = settings.headers === undefined ? undefined : templates.compileTemplate(settings.headers);
    this.extHeaders = settings.extHeaders.map((entry) => ({
      key: templates.compileTemplate(entry.key),
      value: valueRenderer(templates.compileTemplate(entry.value)),
    }));
    this.jsonHeaderValues = settings.headerValueEncodeMode === 'json';
    this.userProperties = settings.userPropertiesAsHeaders;
    this.checkKey = settings.check.key === 'json';
    this.checkValue = settings.check.value === 'json' && encoder === undefined;
    this.json = this.checkKey || this.checkValue ? new JsonChecker() : undefined;
  }

  /** The topic when it is not templated (the connection test checks it). */
  get constantTopic(): string | undefined {
    return this.topic.constant;
  }

  /**
   * Throws ActionWriteError (not retriable) when the record cannot be built from this output, or fails a
   * check; throws SubjectPending while the value's schema id is still being fetched from the registry.
   */
  render(output: RuleOutput, message: Message): RenderedRecord {
    const topic = this.topic.constant ?? this.renderTopic(output);
    const key = this.key(output);
    if (this.checkKey && key.length > 0) this.checkJson('key', key);
    const value = this.encoder === undefined ? this.value(output) : this.encode(output, topic);
    if (this.checkValue) this.checkJson('value', value);
    const stamp = this.timestamp.render(output);
    const record: RoutedMessage = {
      key: key.length === 0 ? null : key,
      value,
      timestamp: INTEGER.test(stamp) ? stamp : String(Date.now()),
      [PICK_PARTITION]: this.pick,
    };
    // characters of text, bytes of binary: an estimate (the exact UTF-8 size would cost a scan per record)
    let bytes = RECORD_OVERHEAD + key.length + value.length;
    const headers = this.renderHeaders(output, message);
    if (headers !== undefined) {
      record.headers = headers.headers;
      bytes += headers.bytes;
    }
    return { topic, message: record, bytes, held: heldInMemory(bytes, message) };
  }

  private checkJson(part: 'key' | 'value', text: string | Buffer): void {
    const problem = (this.json as JsonChecker).problem(text);
    if (problem === undefined) return;
    this.counters.invalidJson++;
    throw new ActionWriteError(this.where, invalidJsonMessage(part, part === 'key' ? this.settings.key : this.settings.value, text, problem), { retriable: false });
  }

  private encode(output: RuleOutput, topic: string): Buffer {
    try {
      return (this.encoder as SchemaValueEncoder).encode(output, topic);
    } catch (error) {
      if (error instanceof ActionWriteError && !error.retriable) this.counters.schema++;
      throw error;
    }
  }

  private renderTopic(output: RuleOutput): string {
    const topic = this.topic.render(output);
    if (typeof topic === 'string') return topic;
    throw new ActionWriteError(this.where,
      `topic template "${this.settings.topic}": ${topic.missing} has no value in the rule output, so the record has no topic; it is dropped`,
      { retriable: false });
  }

  private renderHeaders(output: RuleOutput, message: Message): { headers: IHeaders; bytes: number } | undefined {
    let headers: IHeaders | undefined;
    let bytes = 0;
    const add = (key: string, value: string | Buffer): void => {
      // keyed by device data (user property names such as `toString` or `__proto__`): own properties only
      headers ??= Object.create(null) as IHeaders;
      bytes += key.length + value.length + 8;
      const existing = headers[key];
      if (existing === undefined) headers[key] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else headers[key] = [existing, value];
    };
    if (this.userProperties) {
      const props = message.properties?.userProperties;
      if (props !== undefined) {
        for (const name of Object.keys(props)) {
          const value = props[name] as string | readonly string[];
          if (typeof value === 'string') add(name, value);
          else for (const item of value) add(name, item);
        }
      }
    }
    if (this.headers !== undefined) {
      const text = this.headers.render(output);
      if (text !== '') this.addPlaceholderHeaders(text, add);
    }
    for (const entry of this.extHeaders) {
      const key = entry.key.render(output);
      if (key !== '') add(key, entry.value(output));
    }
    return headers === undefined ? undefined : { headers, bytes };
  }

  private addPlaceholderHeaders(text: string, add: (key: string, value: string) => void): void {
    let parsed: unknown;
    try {
      // exact: an integer beyond 2^53 (a nanosecond timestamp) keeps its digits in the header value
      parsed = parseJsonExact(text);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed)) {
      for (const item of parsed) {
        if (typeof item !== 'object' || item === null || typeof (item as { key?: unknown }).key !== 'string') {
          throw this.badHeaders();
        }
        const entry = item as { key: string; value?: unknown };
        add(entry.key, this.headerValue(entry.value));
      }
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) throw this.badHeaders();
    for (const [key, value] of Object.entries(parsed)) add(key, this.headerValue(value));
  }

  private headerValue(value: unknown): string {
    if (this.jsonHeaderValues) return stringifyJson(value ?? null) as string;
    if (typeof value === 'string') return value;
    if (value === undefined || value === null) return '';
    return typeof value === 'object' ? (stringifyJson(value) as string) : String(value);
  }

  private badHeaders(): ActionWriteError {
    return new ActionWriteError(this.where,
      `headers placeholder ${this.settings.headers ?? ''} must yield a map, a list of {key, value} or their JSON text; the record is dropped`,
      { retriable: false });
  }
}


/** Says which template rendered what, where the text stops being JSON, and the text around that point. */
function invalidJsonMessage(part: 'key' | 'value', template: string, rendered: string | Buffer, problem: JsonProblem): string {
  const text = typeof rendered === 'string' ? rendered : rendered.toString('utf8');
  const from = Math.max(0, problem.at - 24);
  const near = `${from > 0 ? '…' : ''}${text.slice(from, problem.at + 24)}${problem.at + 24 < text.length ? '…' : ''}`;
  return `${part} template ${quoteExcerpt(template)} rendered text that is not JSON: ${problem.reason} at character ${problem.at + 1} of ${text.length} (near ${JSON.stringify(near)}); `
    + `the record is not sent (check.${part}: json). A placeholder of a missing or non-numeric value is the usual cause: quote it ("\${x}") or make the rule give a number`;
}

const isBytes = (v: unknown): v is string | Buffer => typeof v === 'string' || Buffer.isBuffer(v);

/**
 * What would make kafkajs fail to encode this record, or undefined when it can be encoded. kafkajs
 * encodes a whole produce request at once, and one value it cannot write (a function, a number, an
 * undefined value) throws for every record of the request: each record is checked before it joins one,
 * so a bad record fails alone. Records come from the renderer and from disk logs written by earlier runs.
 */
export function recordProblem(message: KafkaMessage): string | undefined {
  const { key, value, timestamp, headers } = message;
  if (key !== null && key !== undefined && !isBytes(key)) return `its key is ${describe(key)}, not text or bytes`;
  if (value !== null && !isBytes(value)) return `its value is ${describe(value)}, not text or bytes`;
  if (timestamp !== undefined && typeof timestamp !== 'string') return `its timestamp is ${describe(timestamp)}, not text`;
  if (headers === undefined) return undefined;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || Buffer.isBuffer(headers)) {
    return `its headers are ${describe(headers)}, not a map of names to values`;
  }
  for (const name of Object.keys(headers)) {
    const entry = headers[name];
    if (isBytes(entry)) continue;
    if (Array.isArray(entry) && entry.every(isBytes)) continue;
    return `its header ${quoteExcerpt(name)} is ${describe(entry)}, not text, bytes or a list of them`;
  }
  return undefined;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'a list with values that are not text or bytes';
  if (Buffer.isBuffer(v)) return 'bytes';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** The error that fails one record recordProblem() refused: not retriable (the same record fails again). */
export function unencodableRecord(where: ActionRef, topic: string, problem: string): ActionWriteError {
  return new ActionWriteError(where, `a record for kafka topic "${topic}" cannot be encoded: ${problem}; the record is dropped (the other records are sent)`, { retriable: false });
}

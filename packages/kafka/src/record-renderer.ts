import { type ActionContext, type Message, type RuleOutput, SinkWriteError, type Template } from '@sluice/core';
import type { IHeaders } from 'kafkajs';
import type { KafkaActionSettings } from './kafka-sink-config';
import { PICK_PARTITION, type PickPartition, type RoutedMessage } from './partitioning';

/** One record ready for kafkajs, with its topic and a size estimate for batching. */
export interface RenderedRecord {
  readonly topic: string;
  readonly message: RoutedMessage;
  /** Estimated bytes on the wire: key + value + headers + a fixed per-record overhead. */
  readonly bytes: number;
}

const RECORD_OVERHEAD = 64;
const INTEGER = /^\d{1,16}$/;
// `$${` is the template language's escape for a literal `${`
const PLACEHOLDER = /\$\$\{|\$\{([^${}]*)\}/g;

type TopicPart = string | { readonly placeholder: string; readonly template: Template };

/**
 * Renders rule outputs into Kafka records. Templates are compiled once, here; render() does no
 * parsing beyond what a `headers` placeholder (JSON) needs.
 */
export class RecordRenderer {
  private readonly topicConstant: string | undefined;
  private readonly topicParts: readonly TopicPart[];
  private readonly key: Template;
  private readonly value: Template;
  private readonly timestamp: Template;
  private readonly headers: Template | undefined;
  private readonly extHeaders: ReadonlyArray<{ readonly key: Template; readonly value: Template }>;
  private readonly jsonHeaderValues: boolean;
  private readonly userProperties: boolean;

  constructor(
    private readonly sinkId: string,
    private readonly settings: KafkaActionSettings,
    templates: ActionContext['templates'],
    private readonly pick: PickPartition,
  ) {
    const topic = templates.compileTemplate(settings.topic);
    this.topicConstant = topic.isConstant ? topic.render({}) : undefined;
    // A missing placeholder must fail the record rather than produce to "t-", so each placeholder of
    // the topic is its own template and is checked for an empty rendering.
    this.topicParts = topic.isConstant ? [] : splitPlaceholders(settings.topic).map((part) =>
      typeof part === 'string' ? part : { placeholder: part.placeholder, template: templates.compileTemplate(part.placeholder) });
    this.key = templates.compileTemplate(settings.key);
    this.value = templates.compileTemplate(settings.value);
    this.timestamp = templates.compileTemplate(settings.timestamp);
    this.headers = settings.headers === undefined ? undefined : templates.compileTemplate(settings.headers);
    this.extHeaders = settings.extHeaders.map((entry) => ({
      key: templates.compileTemplate(entry.key),
      value: templates.compileTemplate(entry.value),
    }));
    this.jsonHeaderValues = settings.headerValueEncodeMode === 'json';
    this.userProperties = settings.userPropertiesAsHeaders;
  }

  /** The topic when it is not templated (the connection test checks it). */
  get constantTopic(): string | undefined {
    return this.topicConstant;
  }

  /** Throws SinkWriteError (not retriable) when the record cannot be built from this output. */
  render(output: RuleOutput, message: Message): RenderedRecord {
    const topic = this.topicConstant ?? this.renderTopic(output);
    const keyText = this.key.render(output);
    const value = this.value.render(output);
    const stamp = this.timestamp.render(output);
    const record: RoutedMessage = {
      key: keyText === '' ? null : keyText,
      value,
      timestamp: INTEGER.test(stamp) ? stamp : String(Date.now()),
      [PICK_PARTITION]: this.pick,
    };
    let bytes = RECORD_OVERHEAD + keyText.length + value.length;
    const headers = this.renderHeaders(output, message);
    if (headers !== undefined) {
      record.headers = headers.headers;
      bytes += headers.bytes;
    }
    return { topic, message: record, bytes };
  }

  private renderTopic(output: RuleOutput): string {
    let topic = '';
    for (const part of this.topicParts) {
      if (typeof part === 'string') {
        topic += part;
        continue;
      }
      const text = part.template.render(output);
      if (text === '') {
        throw new SinkWriteError(this.sinkId,
          `topic template "${this.settings.topic}": ${part.placeholder} has no value in the rule output, so the record has no topic; it is dropped`,
          { retriable: false });
      }
      topic += text;
    }
    return topic;
  }

  private renderHeaders(output: RuleOutput, message: Message): { headers: IHeaders; bytes: number } | undefined {
    let headers: IHeaders | undefined;
    let bytes = 0;
    const add = (key: string, value: string): void => {
      headers ??= {};
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
      if (key !== '') add(key, entry.value.render(output));
    }
    return headers === undefined ? undefined : { headers, bytes };
  }

  private addPlaceholderHeaders(text: string, add: (key: string, value: string) => void): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
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
    if (this.jsonHeaderValues) return JSON.stringify(value ?? null);
    if (typeof value === 'string') return value;
    if (value === undefined || value === null) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  private badHeaders(): SinkWriteError {
    return new SinkWriteError(this.sinkId,
      `headers placeholder ${this.settings.headers ?? ''} must yield a map, a list of {key, value} or their JSON text; the record is dropped`,
      { retriable: false });
  }
}

/** 't-${a}-${b.c}' → ['t-', {placeholder: '${a}'}, '-', {placeholder: '${b.c}'}] */
export function splitPlaceholders(text: string): Array<string | { placeholder: string }> {
  const parts: Array<string | { placeholder: string }> = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(match[0] === '$${' ? '${' : { placeholder: match[0] });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

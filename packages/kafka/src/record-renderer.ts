import { type ActionContext, type Message, type RuleOutput, SinkWriteError, type Template, TopicTemplate } from '@sluice/core';
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

/**
 * Renders rule outputs into Kafka records. Templates are compiled once, here; render() does no
 * parsing beyond what a `headers` placeholder (JSON) needs.
 */
export class RecordRenderer {
  private readonly topic: TopicTemplate;
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
    // a missing placeholder fails the record rather than producing to "t-"
    this.topic = new TopicTemplate(settings.topic, templates);
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
    return this.topic.constant;
  }

  /** Throws SinkWriteError (not retriable) when the record cannot be built from this output. */
  render(output: RuleOutput, message: Message): RenderedRecord {
    const topic = this.topic.constant ?? this.renderTopic(output);
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
    const topic = this.topic.render(output);
    if (typeof topic === 'string') return topic;
    throw new SinkWriteError(this.sinkId,
      `topic template "${this.settings.topic}": ${topic.missing} has no value in the rule output, so the record has no topic; it is dropped`,
      { retriable: false });
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


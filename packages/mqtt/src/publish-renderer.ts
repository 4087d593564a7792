import { type ActionContext, type RuleOutput, ActionWriteError, type ActionRef, type Template, TopicTemplate, parseJsonExact, quoteExcerpt, stringifyJson, valueRenderer } from '@sluice/core';
import type { MqttPublishActionSettings } from './mqtt-publish-config';

/** One MQTT publish built from a rule output. */
export interface RenderedPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** MQTT 5 user properties (a map without prototype: any name, `__proto__` included, is its own key); undefined when there are none. */
  readonly userProperties?: Record<string, string | string[]>;
}


/**
 * Renders rule outputs into publishes. Templates are compiled once, here; render() throws an ActionWriteError
 * that is not retriable when an output cannot make a valid publish (the same output would fail again).
 */
export class PublishRenderer {
  private readonly topic: TopicTemplate;
  /** Keeps a binary value's bytes (Template.renderValue): `${payload}` republishes the payload as received. */
  private readonly payload: (output: RuleOutput) => string | Buffer;
  private readonly qos: 0 | 1 | 2 | Template;
  private readonly retain: boolean | Template;
  private readonly userProperties: Template | undefined;

  constructor(
    private readonly where: ActionRef,
    private readonly settings: MqttPublishActionSettings,
    templates: ActionContext['templates'],
  ) {
    // a placeholder without a value fails the output instead of publishing to `dead//t` (a topic some other
    // subscriber may well read)
    this.topic = new TopicTemplate(settings.topic, templates);
    this.payload = valueRenderer(templates.compileTemplate(settings.payload));
    this.qos = typeof settings.qos === 'number' ? settings.qos : templates.compileTemplate(settings.qos);
    this.retain = typeof settings.retain === 'boolean' ? settings.retain : templates.compileTemplate(settings.retain);
    this.userProperties = settings.userProperties === undefined ? undefined : templates.compileTemplate(settings.userProperties);
  }

  /** The topic when it is not templated (the loop check compares it with the rule's FROM). */
  get constantTopic(): string | undefined {
    return this.topic.constant;
  }

  render(output: RuleOutput): RenderedPublish {
    const topic = this.topic.constant ?? this.renderTopic(output);
    const userProperties = this.userProperties === undefined ? undefined : this.renderUserProperties(this.userProperties.render(output));
    const payload = this.payload(output);
    return {
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload,
      qos: typeof this.qos === 'number' ? this.qos : this.renderQos(this.qos.render(output)),
      retain: typeof this.retain === 'boolean' ? this.retain : this.renderRetain(this.retain.render(output)),
      ...(userProperties !== undefined && { userProperties }),
    };
  }

  private renderTopic(output: RuleOutput): string {
    const topic = this.topic.render(output);
    if (typeof topic !== 'string') throw this.refuse(`topic template "${this.settings.topic}": ${topic.missing} has no value in the rule output, so there is no topic to publish to`);
    if (/[+#]/.test(topic)) throw this.refuse(`topic template "${this.settings.topic}" rendered ${quoteExcerpt(topic)}, which has a wildcard (+ or #) and cannot be published to`);
    const problem = stringProblem(topic);
    if (problem !== undefined) throw this.refuse(`topic template "${this.settings.topic}" rendered a topic that ${problem}`);
    return topic;
  }

  private renderQos(text: string): 0 | 1 | 2 {
    if (text === '') return 0;
    if (text === '0' || text === '1' || text === '2') return Number(text) as 0 | 1 | 2;
    throw this.refuse(`qos "${this.settings.qos as string}" rendered ${quoteExcerpt(text)}: expected 0, 1 or 2`);
  }

  private renderRetain(text: string): boolean {
    if (text === '' || text === 'false') return false;
    if (text === 'true') return true;
    throw this.refuse(`retain "${this.settings.retain as string}" rendered ${quoteExcerpt(text)}: expected true or false`);
  }

  /**
   * A map of names to text or lists of text (`pub_props.User-Property`, one value per name), or a
   * [{key, value}] list (`pub_props.User-Property-Pairs`, repeated names kept), or their JSON text.
   * Values that are not text are written as JSON.
   */
  private renderUserProperties(text: string): Record<string, string | string[]> | undefined {
    if (text === '') return undefined;
    let parsed: unknown;
    try {
      // exact: an integer beyond 2^53 (a nanosecond timestamp) keeps its digits in the property's text
      parsed = parseJsonExact(text);
    } catch {
      parsed = undefined;
    }
    // names are data (a device's `toString`, `constructor`, `__proto__`): own keys only, no prototype to read through
    const properties = Object.create(null) as Record<string, string | string[]>;
    let any = false;
    const add = (name: string, value: string): void => {
      const problem = stringProblem(name) ?? stringProblem(value);
      if (problem !== undefined) throw this.refuse(`user property ${quoteExcerpt(name)} has a name or value that ${problem}`);
      any = true;
      const existing = properties[name];
      if (existing === undefined) properties[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else properties[name] = [existing, value];
    };
    if (Array.isArray(parsed)) {
      for (const item of parsed) {
        if (typeof item !== 'object' || item === null || typeof (item as { key?: unknown }).key !== 'string') throw this.badUserProperties();
        const entry = item as { key: string; value?: unknown };
        add(entry.key, asText(entry.value ?? ''));
      }
    } else if (typeof parsed === 'object' && parsed !== null) {
      for (const [name, value] of Object.entries(parsed)) {
        if (Array.isArray(value)) for (const item of value) add(name, asText(item));
        else add(name, asText(value));
      }
    } else {
      throw this.badUserProperties();
    }
    return any ? properties : undefined;
  }

  private badUserProperties(): ActionWriteError {
    return this.refuse(`userProperties "${this.settings.userProperties ?? ''}" is not a map of names to values nor a [{key, value}] list`);
  }

  private refuse(reason: string): ActionWriteError {
    return new ActionWriteError(this.where, `${reason}; the output is not published`, { retriable: false });
  }
}

// Code points the broker refuses in a UTF-8 string (topic, user property): U+0000 is a malformed packet in
// MQTT 5 (§1.5.4) and Mosquitto also refuses the other C0 and the C1 controls. The broker answers by closing
// the connection, which every rule publishing through the connector shares, and the client then sends the
// same packet again after reconnecting: one such value must fail alone, before it is written.
const REFUSED_CONTROLS = /[\u0000-\u001f\u007f-\u009f]/;
/** An MQTT UTF-8 string holds at most 65,535 bytes (a 2-byte length); JS length × 3 bounds the bytes. */
const MAX_STRING_BYTES = 65_535;

/** Why the broker would refuse this string in a packet, or undefined when it is fine. */
function stringProblem(text: string): string | undefined {
  if (REFUSED_CONTROLS.test(text)) return 'holds a control character (U+0000-U+001F, U+007F-U+009F), which the broker refuses';
  if (text.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(text, 'utf8') > MAX_STRING_BYTES) return `is longer than an MQTT string may be (${MAX_STRING_BYTES} bytes)`;
  return undefined;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : (stringifyJson(value) ?? '');
}

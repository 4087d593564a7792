import { type ActionContext, type RuleOutput, SinkWriteError, type Template } from '@sluice/core';
import type { MqttPublishActionSettings } from './mqtt-publish-config';

/** One MQTT publish built from a rule output. */
export interface RenderedPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** MQTT 5 user properties; undefined when there are none. */
  readonly userProperties?: Record<string, string | string[]>;
}

// `$${` is the template language's escape for a literal `${`
const PLACEHOLDER = /\$\$\{|\$\{([^${}]*)\}/g;

type TopicPart = string | { readonly placeholder: string; readonly template: Template };

/**
 * Renders rule outputs into publishes. Templates are compiled once, here; render() throws a SinkWriteError
 * that is not retriable when an output cannot make a valid publish (the same output would fail again).
 */
export class PublishRenderer {
  private readonly topicConstant: string | undefined;
  private readonly topicParts: readonly TopicPart[];
  private readonly payload: Template;
  private readonly qos: 0 | 1 | 2 | Template;
  private readonly retain: boolean | Template;
  private readonly userProperties: Template | undefined;

  constructor(
    private readonly sinkId: string,
    private readonly settings: MqttPublishActionSettings,
    templates: ActionContext['templates'],
  ) {
    const topic = templates.compileTemplate(settings.topic);
    this.topicConstant = topic.isConstant ? topic.render({}) : undefined;
    // Each placeholder is its own template, so one without a value fails the output instead of
    // publishing to `dead//t` (a topic some other subscriber may well read).
    this.topicParts = topic.isConstant ? [] : splitPlaceholders(settings.topic).map((part) =>
      // Literal parts go through the engine too, which turns its escapes (`$${`, `${$}`) into text.
      typeof part === 'string' ? templates.compileTemplate(part).render({}) : { placeholder: part.placeholder, template: templates.compileTemplate(part.placeholder) });
    this.payload = templates.compileTemplate(settings.payload);
    this.qos = typeof settings.qos === 'number' ? settings.qos : templates.compileTemplate(settings.qos);
    this.retain = typeof settings.retain === 'boolean' ? settings.retain : templates.compileTemplate(settings.retain);
    this.userProperties = settings.userProperties === undefined ? undefined : templates.compileTemplate(settings.userProperties);
  }

  /** The topic when it is not templated (the loop check compares it with the rule's FROM). */
  get constantTopic(): string | undefined {
    return this.topicConstant;
  }

  render(output: RuleOutput): RenderedPublish {
    const topic = this.topicConstant ?? this.renderTopic(output);
    const userProperties = this.userProperties === undefined ? undefined : this.renderUserProperties(this.userProperties.render(output));
    return {
      topic,
      payload: Buffer.from(this.payload.render(output), 'utf8'),
      qos: typeof this.qos === 'number' ? this.qos : this.renderQos(this.qos.render(output)),
      retain: typeof this.retain === 'boolean' ? this.retain : this.renderRetain(this.retain.render(output)),
      ...(userProperties !== undefined && { userProperties }),
    };
  }

  private renderTopic(output: RuleOutput): string {
    let topic = '';
    for (const part of this.topicParts) {
      if (typeof part === 'string') {
        topic += part;
        continue;
      }
      const text = part.template.render(output);
      if (text === '') throw this.refuse(`topic template "${this.settings.topic}": ${part.placeholder} has no value in the rule output, so there is no topic to publish to`);
      topic += text;
    }
    if (/[+#]/.test(topic)) throw this.refuse(`topic template "${this.settings.topic}" rendered "${topic}", which has a wildcard (+ or #) and cannot be published to`);
    return topic;
  }

  private renderQos(text: string): 0 | 1 | 2 {
    if (text === '') return 0;
    if (text === '0' || text === '1' || text === '2') return Number(text) as 0 | 1 | 2;
    throw this.refuse(`qos "${this.settings.qos as string}" rendered "${text}": expected 0, 1 or 2`);
  }

  private renderRetain(text: string): boolean {
    if (text === '' || text === 'false') return false;
    if (text === 'true') return true;
    throw this.refuse(`retain "${this.settings.retain as string}" rendered "${text}": expected true or false`);
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
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const properties: Record<string, string | string[]> = {};
    const add = (name: string, value: string): void => {
      const existing = properties[name];
      properties[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
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
    return Object.keys(properties).length === 0 ? undefined : properties;
  }

  private badUserProperties(): SinkWriteError {
    return this.refuse(`userProperties "${this.settings.userProperties ?? ''}" is not a map of names to values nor a [{key, value}] list`);
  }

  private refuse(reason: string): SinkWriteError {
    return new SinkWriteError(this.sinkId, `${reason}; the output is not published`, { retriable: false });
  }
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Splits a template into literal text and its `${...}` placeholders (an escaped `$${` stays literal). */
export function splitPlaceholders(text: string): Array<string | { readonly placeholder: string }> {
  const parts: Array<string | { readonly placeholder: string }> = [];
  let literal = '';
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    literal += text.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[1] === undefined) {
      literal += '$${'; // kept escaped: the literal part is rendered by the template engine too
      continue;
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push({ placeholder: match[0] });
  }
  literal += text.slice(last);
  if (literal !== '') parts.push(literal);
  return parts;
}

import type { RuleEngine, RuleOutput, Template } from './rule-engine';

/** `${path}`, nothing around it: a setting whose value is taken from one field of the rule output. */
export const SINGLE_PLACEHOLDER = /^\$\{[^${}]+\}$/;

// `$${` is the template language's escape for a literal `${`
const PLACEHOLDER = /\$\$\{|\$\{([^${}]*)\}/g;

type Part = string | { readonly placeholder: string; readonly template: Template };

/**
 * A destination name built from a template, such as a Kafka topic `plant-${payload.site}` or an MQTT topic
 * `dead/${clientid}/${topic}`. Unlike a value template, every placeholder must have a value: a record
 * whose `${payload.site}` is missing must fail rather than go to `plant-` (a name someone else may use).
 * Each placeholder is therefore its own template, compiled once here, and checked when rendered.
 */
export class TopicTemplate {
  /** The name when the template has no placeholder. */
  readonly constant: string | undefined;
  private readonly parts: readonly Part[];

  constructor(readonly source: string, templates: Pick<RuleEngine, 'compileTemplate'>) {
    const whole = templates.compileTemplate(source);
    this.constant = whole.isConstant ? whole.render({}) : undefined;
    this.parts = whole.isConstant ? [] : splitPlaceholders(source).map((part) =>
      // literal parts go through the engine too, which turns its escapes (`$${`) into text
      typeof part === 'string' ? templates.compileTemplate(part).render({}) : { placeholder: part.placeholder, template: templates.compileTemplate(part.placeholder) });
  }

  /** The rendered name, or which placeholder rendered empty (the caller says what that means for it). */
  render(output: RuleOutput): string | { readonly missing: string } {
    if (this.constant !== undefined) return this.constant;
    let name = '';
    for (const part of this.parts) {
      if (typeof part === 'string') {
        name += part;
        continue;
      }
      const text = part.template.render(output);
      if (text === '') return { missing: part.placeholder };
      name += text;
    }
    return name;
  }
}

/** 't-${a}.${b.c}' → ['t-', {placeholder: '${a}'}, '.', {placeholder: '${b.c}'}]; an escaped `$${` stays literal. */
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

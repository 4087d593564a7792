/**
 * An action of a rule as the action editor holds it: the settings it shows as fields of their own (topic,
 * key, value, headers as text), and the rest as the schema form edits them. Pure, so it runs under jest.
 */
import type { ActionDefinition } from './api-types';
import { headersToText, parseHeadersText, type HeaderTemplate, type LineProblem } from './rule-text';

/** Action settings with a field of their own in the editor; the others go to "More settings". */
export const DEDICATED_SETTINGS = ['topic', 'key', 'value', 'extHeaders'] as const;
export type DedicatedSetting = (typeof DEDICATED_SETTINGS)[number];

/** EMQX's defaults for the Kafka action's key and value (the action schema has the same). */
export const DEFAULT_KEY = '${clientid}';
export const DEFAULT_VALUE = '${.}';

export interface ActionDraft {
  readonly connector: string;
  /** Kept as stored: metrics and the API name the action by it. */
  readonly id?: string | undefined;
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  /** `extHeaders` as one `name: value` per line. */
  readonly headersText: string;
  /** Every other setting (SchemaForm's value), fallbackActions included: written back untouched. */
  readonly rest: Readonly<Record<string, unknown>>;
}

export function newDraft(connector: string): ActionDraft {
  return { connector, topic: '', key: DEFAULT_KEY, value: DEFAULT_VALUE, headersText: '', rest: {} };
}

/** A stored action definition as the editor shows it. */
export function draftOf(definition: ActionDefinition): ActionDraft {
  const { connector, id, topic, key, value, extHeaders, ...rest } = definition as ActionDefinition & Record<string, unknown>;
  return {
    connector,
    id,
    topic: typeof topic === 'string' ? topic : '',
    key: typeof key === 'string' ? key : DEFAULT_KEY,
    value: typeof value === 'string' ? value : DEFAULT_VALUE,
    headersText: Array.isArray(extHeaders) ? headersToText(extHeaders as HeaderTemplate[]) : '',
    rest,
  };
}

/**
 * The definition to send, with only the dedicated settings the connector's action schema knows (a
 * connector type without `topic` gets none). An empty topic is sent as it is, so the server names the
 * field (`actions[0].topic`). Lines of Headers that cannot be read are returned as problems.
 */
export function definitionOf(draft: ActionDraft, known: ReadonlySet<string>): { definition: ActionDefinition; problems: readonly LineProblem[] } {
  const definition: Record<string, unknown> = { connector: draft.connector };
  if (draft.id !== undefined) definition['id'] = draft.id;
  if (known.has('topic')) definition['topic'] = draft.topic.trim();
  if (known.has('key')) definition['key'] = draft.key;
  if (known.has('value')) definition['value'] = draft.value;
  let problems: readonly LineProblem[] = [];
  if (known.has('extHeaders')) {
    const headers = parseHeadersText(draft.headersText);
    problems = headers.problems;
    if (headers.value.length > 0) definition['extHeaders'] = headers.value;
  }
  for (const [setting, value] of Object.entries(draft.rest)) {
    if (value !== undefined && !(setting in definition)) definition[setting] = value;
  }
  return { definition: definition as ActionDefinition, problems };
}

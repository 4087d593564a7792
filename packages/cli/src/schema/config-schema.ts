import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ActionDefinition, type PluginDescriptor } from '@sluice/core';
import { ConfigFile } from '../config-file';
import { PluginRegistry } from '../plugins';

/** The subset of JSON Schema (2020-12) that z.toJSONSchema produces and this module reads. */
export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  minLength?: number;
  pattern?: string;
  [keyword: string]: unknown;
}

/** Input side (what users write: defaults make keys optional); functions become "any". */
const toJson = (schema: z.ZodType): JsonSchema => {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override: restoreDefault }) as JsonSchema;
  delete json['$schema'];
  return json;
};

/**
 * zod leaves out, on the input side, the default of any schema that transforms (durations, sizes,
 * objects holding them), because the default is an output value: `connectTimeout: duration.default(5000)`
 * would show no default at all. Put it back when it is also a valid input that parses to the same value,
 * as for `5000` ms; Infinity, which JSON cannot hold, is written as the `'infinity'` the schemas accept
 * for it. A default that fails that check stays out rather than mislead.
 */
function restoreDefault(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  // By its def rather than instanceof: a plugin may carry its own copy of zod.
  const def = (ctx.zodSchema as z.ZodType).def as { type: string; defaultValue?: unknown; innerType?: z.ZodType };
  if (def.type !== 'default' || def.innerType === undefined) return;
  const value = def.defaultValue;
  const asInput = withInfinityWord(value);
  const parsed = def.innerType.safeParse(asInput);
  if (parsed.success && isDeepStrictEqual(parsed.data, value)) ctx.jsonSchema['default'] = asInput;
  else delete ctx.jsonSchema['default'];
}

function withInfinityWord(value: unknown): unknown {
  if (value === Number.POSITIVE_INFINITY) return 'infinity';
  if (Array.isArray(value)) return value.map(withInfinityWord);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withInfinityWord(item)]));
  }
  return value;
}

/** A plugin's schema as one entry of `sources`/`connectors`: its keys plus `type: <name>` first, described by the summary. */
function withType(descriptor: PluginDescriptor): JsonSchema {
  const schema = toJson(descriptor.settings);
  return {
    ...schema,
    properties: { type: { type: 'string', const: descriptor.type, description: descriptor.summary }, ...schema.properties },
    required: ['type', ...(schema.required ?? [])],
  };
}

/**
 * The JSON Schema of a config file, for editors (yaml-language-server, VS Code): the file's own schema
 * with each source/connector entry replaced by the plugin's schema for its `type`, and each action by
 * the core action keys plus the connector plugins' action settings. The descriptions and examples are
 * those of the zod schemas (`.describe()`, `.meta()`), of the runner's and the plugins' alike.
 */
export function configJsonSchema(registry: PluginRegistry = PluginRegistry.withBuiltIns()): JsonSchema {
  const connectors = [...registry.connectors.values()].map(({ descriptor }) => descriptor);
  const root = toJson(ConfigFile);
  const props = root.properties as Record<string, JsonSchema>;
  props['sources'] = { ...props['sources'], items: { oneOf: [...registry.sources.values()].map(({ descriptor }) => withType(descriptor)) } };
  props['connectors'] = { ...props['connectors'], items: { oneOf: connectors.map(withType) } };

  const base = toJson(ActionDefinition);
  const settingsByType = connectors.map(({ type, actionSettings }) => {
    const settings = toJson(actionSettings);
    const { connector: _connector, ...settingProps } = settings.properties ?? {};
    return { type, settingProps, required: settings.required ?? [] };
  });
  // A fallback is a connector plus that connector's action settings; any connector type may be the
  // fallback of any action (a Kafka action with an MQTT republish as its dead letter), so every type.
  const fallbackConnector = base.properties?.['fallbackActions']?.items?.properties?.['connector']?.description;
  const fallbackVariants = settingsByType.map(({ type, settingProps, required }): JsonSchema => ({
    type: 'object',
    title: type,
    properties: { connector: { type: 'string', ...(fallbackConnector !== undefined && { description: fallbackConnector }) }, ...structuredClone(settingProps) },
    required: ['connector', ...required],
    additionalProperties: false,
  }));
  const actionVariants = settingsByType.map(({ type, settingProps, required }): JsonSchema => {
    const baseProps = { ...base.properties };
    const fallbacks = baseProps['fallbackActions'];
    if (fallbacks?.items !== undefined) {
      const items = fallbackVariants.length === 1 ? structuredClone(fallbackVariants[0] as JsonSchema) : { anyOf: structuredClone(fallbackVariants) };
      baseProps['fallbackActions'] = { ...fallbacks, items };
    }
    return {
      type: 'object',
      title: type,
      properties: { ...baseProps, ...settingProps },
      required: [...new Set([...(base.required ?? []), ...required])],
      additionalProperties: false,
    };
  });
  const rules = props['rules'] as JsonSchema;
  const ruleItems = rules.items as JsonSchema;
  (ruleItems.properties as Record<string, JsonSchema>)['actions'] = {
    ...ruleItems.properties?.['actions'],
    items: actionVariants.length === 1 ? (actionVariants[0] as JsonSchema) : { anyOf: actionVariants },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Sluice configuration file',
    description: 'Sources, connectors, rules with their actions, and the runner settings of `sluice run` (see docs/configuration.md).',
    ...root,
  };
}

/**
 * Each connector plugin's own schemas, described as in the config file: `config` is its `connectors[]`
 * entry (with `type`), `action` the settings of its actions. docs/kafka.md's generated tables come from here.
 */
export function connectorPluginSchemas(registry: PluginRegistry = PluginRegistry.withBuiltIns()): Record<string, { readonly config: JsonSchema; readonly action: JsonSchema }> {
  return Object.fromEntries([...registry.connectors].map(([type, { descriptor }]) => [
    type,
    { config: withType(descriptor), action: toJson(descriptor.actionSettings) },
  ]));
}

/**
 * The keys below `schema` that have no description, as paths (`sources[mqtt].tls.ca`,
 * `rules[].actions[kafka].buffer.limit`): a zod schema key without `.describe()`. Union members share
 * their key's path; the entries of `sources`, `connectors` and actions are named by their type.
 */
export function undescribedKeys(schema: JsonSchema, path = ''): string[] {
  const out = new Set<string>();
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const childPath = path === '' ? key : `${path}.${key}`;
    if (child.description === undefined || child.description.trim() === '') out.add(childPath);
    for (const nested of undescribedKeys(child, childPath)) out.add(nested);
  }
  if (schema.items !== undefined) {
    const variants = [...(schema.items.oneOf ?? []), ...(schema.items.anyOf ?? [])];
    const walks = variants.length === 0 ? [[schema.items, `${path}[]`] as const] : variants.map((variant) => [variant, `${path}[${variantName(variant)}]`] as const);
    for (const [item, itemPath] of walks) for (const nested of undescribedKeys(item, itemPath)) out.add(nested);
  }
  for (const variant of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) for (const nested of undescribedKeys(variant, path)) out.add(nested);
  return [...out];
}

/** A source/connector entry's `type`, an action variant's title (its connector type). */
function variantName(variant: JsonSchema): string {
  const type = variant.properties?.['type']?.const;
  return typeof type === 'string' ? type : variant.title ?? '';
}

import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ActionDefinition } from '@sluice/core';
import { ConfigFile } from '../config-file';
import { PluginRegistry } from '../plugins';
import { DESCRIPTIONS } from './descriptions';

/** The subset of JSON Schema (2020-12) that z.toJSONSchema produces and this module reads. */
export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
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

/** The settings schema of each source type, by `type`. */
function sourceSchemasOf(registry: PluginRegistry): Record<string, z.ZodType> {
  return Object.fromEntries([...registry.sources].map(([type, { descriptor }]) => [type, descriptor.settings]));
}

/** The settings and action-settings schemas of each connector type, by `type`. */
function connectorSchemasOf(registry: PluginRegistry): Record<string, { readonly config: z.ZodType; readonly action: z.ZodType }> {
  return Object.fromEntries([...registry.connectors].map(([type, { descriptor }]) => [type, { config: descriptor.settings, action: descriptor.actionSettings }]));
}

/** A plugin's schema as one entry of `sources`/`connectors`: its keys plus `type: <name>` first. */
function withType(type: string, schema: JsonSchema): JsonSchema {
  return {
    ...schema,
    properties: { type: { type: 'string', const: type }, ...schema.properties },
    required: ['type', ...(schema.required ?? [])],
  };
}

/**
 * The JSON Schema of a config file, for editors (yaml-language-server, VS Code): the file's own schema
 * with each source/connector entry replaced by the plugin's schema for its `type`, and each action by
 * the core action keys plus the connector plugins' action settings. Every key carries its description.
 */
export function configJsonSchema(registry: PluginRegistry = PluginRegistry.withBuiltIns()): JsonSchema {
  const sourceSchemas = sourceSchemasOf(registry);
  const connectorSchemas = connectorSchemasOf(registry);
  const root = toJson(ConfigFile);
  const props = root.properties as Record<string, JsonSchema>;
  const variants = (schemas: Readonly<Record<string, z.ZodType>>, kind: string): JsonSchema[] =>
    Object.entries(schemas).map(([type, schema]) => describeTree(withType(type, toJson(schema)), `${kind}[${type}]`));
  props['sources'] = { ...props['sources'], items: { oneOf: variants(sourceSchemas, 'sources') } };
  props['connectors'] = {
    ...props['connectors'],
    items: { oneOf: variants(Object.fromEntries(Object.entries(connectorSchemas).map(([type, s]) => [type, s.config])), 'connectors') },
  };

  const base = toJson(ActionDefinition);
  const settingsByType = Object.entries(connectorSchemas).map(([type, { action }]) => {
    const settings = toJson(action);
    const { connector: _connector, ...settingProps } = settings.properties ?? {};
    return { type, settingProps, required: settings.required ?? [] };
  });
  // A fallback is a connector plus that connector's action settings; any connector type may be the
  // fallback of any action (a Kafka action with an MQTT republish as its dead letter), so every type.
  const fallbackVariants = settingsByType.map(({ type, settingProps, required }): JsonSchema => ({
    type: 'object',
    title: type,
    properties: { connector: { type: 'string' }, ...structuredClone(settingProps) },
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
  for (const key of ['sources', 'connectors']) {
    const section = props[key] as JsonSchema;
    section.description = DESCRIPTIONS[key] as string;
  }
  for (const [key, child] of Object.entries(props)) {
    if (key === 'sources' || key === 'connectors') continue;
    describeTree(child, key, true);
  }
  // Then each connector type's own wording where a key means something else there (`topic` of an
  // `mqtt` action is an MQTT topic): `rules[].actions[<type>].<key>` in DESCRIPTIONS.
  for (const variant of actionVariants) describeTyped(variant);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Sluice configuration file',
    description: 'Sources, connectors, rules with their actions, and the runner settings of `sluice run` (see docs/configuration.md).',
    ...root,
  };
}

/**
 * Each connector plugin's own schemas, described as in the config file: `config` is its `connectors[]`
 * entry (with `type`), `action` the settings of its actions (described at `rules[].actions[].<key>`).
 * docs/kafka.md's generated tables come from here.
 */
export function connectorPluginSchemas(registry: PluginRegistry = PluginRegistry.withBuiltIns()): Record<string, { readonly config: JsonSchema; readonly action: JsonSchema }> {
  return Object.fromEntries(Object.entries(connectorSchemasOf(registry)).map(([type, { config, action }]) => [
    type,
    { config: describeTree(withType(type, toJson(config)), `connectors[${type}]`), action: describeTree(toJson(action), 'rules[].actions[]') },
  ]));
}

/**
 * Sets the description of every property below `schema` from DESCRIPTIONS (`path` is the schema's own
 * path); `self` also describes the schema itself. Returns the schema.
 */
function describeTree(schema: JsonSchema, path: string, self = false): JsonSchema {
  const description = descriptionOf(path);
  if (self && description !== undefined) schema.description = description;
  for (const [key, child] of Object.entries(schema.properties ?? {})) describeTree(child, `${path}.${key}`, true);
  if (schema.items !== undefined) describeTree(schema.items, `${path}[]`);
  for (const variant of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) describeTree(variant, path);
  return schema;
}

/** Describes an action variant (and its fallback variants) at `rules[].actions[<its type>]`. */
function describeTyped(variant: JsonSchema, path = 'rules[].actions[]'): void {
  const typed = path.replace(/\[\]$/, `[${String(variant.title)}]`);
  for (const [key, child] of Object.entries(variant.properties ?? {})) {
    if (key === 'fallbackActions') {
      const items = child.items;
      for (const fallback of items?.anyOf ?? (items === undefined ? [] : [items])) describeTyped(fallback, 'rules[].actions[]');
      continue;
    }
    describeTree(child, `${typed}.${key}`, true);
  }
}

/**
 * The description of a path; a fallback action's settings share those of the action's own, and a
 * connector type's action key (`rules[].actions[mqtt].topic`) falls back to the shared one.
 */
export function descriptionOf(path: string): string | undefined {
  const own = DESCRIPTIONS[path] ?? (path.includes('.fallbackActions[].') ? DESCRIPTIONS[path.replace('.fallbackActions[].', '.')] : undefined);
  if (own !== undefined) return own;
  const shared = path.replace(/^rules\[\]\.actions\[[^\]]+\]/, 'rules[].actions[]');
  return shared === path ? undefined : descriptionOf(shared);
}

/** Every documented path of the schema (`sources[mqtt].tls.ca`, `rules[].actions[].topic` ...), in order. */
export function schemaPaths(root: JsonSchema): string[] {
  const out: string[] = [];
  const walk = (schema: JsonSchema, path: string): void => {
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      const childPath = path === '' ? key : `${path}.${key}`;
      out.push(childPath);
      walk(child, childPath);
    }
    if (schema.items !== undefined) {
      const variants = schema.items.oneOf;
      if (variants !== undefined && (path === 'sources' || path === 'connectors')) {
        for (const variant of variants) walk(variant, `${path}[${String(variant.properties?.['type']?.const)}]`);
      } else walk(schema.items, `${path}[]`);
      // Each connector type's actions also under their typed path, for type-specific descriptions.
      if (path === 'rules[].actions') for (const variant of schema.items.anyOf ?? []) if (variant.title !== undefined) walk(variant, `${path}[${variant.title}]`);
    }
    for (const variant of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) walk(variant, path);
  };
  walk(root, '');
  return [...new Set(out)];
}

import type { FastifyInstance } from 'fastify';
import { isSecretField } from '../config-store/secret-entries';
import { configJsonSchema, connectorPluginSchemas, type JsonSchema } from '../schema/config-schema';
import { configView, connectorViews, ruleViews, sourceViews } from './api-views';
import { configWriter, storedDocument, type ApiContext } from './api-context';

/** GET /api/config (the stored config, secrets redacted), /api/schema (the forms' JSON Schemas) and /api/overview. */
export function configRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get('/api/config', { exposeHeadRoute: true }, async () => {
    const { revision, document } = await configWriter(api, 'reading the stored config').read();
    return configView(revision, document);
  });

  // the registry does not change while the process runs (plugin code loads once): computed once
  let schemas: ReturnType<typeof pluginSchemas> | undefined;
  app.get('/api/schema', { exposeHeadRoute: true }, async () => (schemas ??= pluginSchemas(api)));

  app.get('/api/overview', { exposeHeadRoute: true }, async () => {
    const document = await storedDocument(api);
    return { sources: sourceViews(api, document), connectors: connectorViews(api, document), rules: ruleViews(api) };
  });
}

/**
 * JSON Schema (2020-12, from the plugins' zod schemas, as `sluice schema` makes it) of each source type's
 * entry, each connector type's entry and each connector type's action settings, secret fields marked
 * `writeOnly` (the API never answers them).
 */
function pluginSchemas(api: ApiContext): { sources: Record<string, JsonSchema>; connectors: Record<string, JsonSchema>; actions: Record<string, JsonSchema> } {
  const sourceItems = (configJsonSchema(api.plugins).properties?.['sources']?.items?.oneOf ?? []);
  const sources = Object.fromEntries(sourceItems.map((schema) => [String(schema.properties?.['type']?.const), markWriteOnly(schema, [])]));
  const connectors: Record<string, JsonSchema> = {};
  const actions: Record<string, JsonSchema> = {};
  for (const [type, { config, action }] of Object.entries(connectorPluginSchemas(api.plugins))) {
    connectors[type] = markWriteOnly(config, []);
    actions[type] = markWriteOnly(action, []);
  }
  return { sources, connectors, actions };
}

/** Marks every property at a secret position (see isSecretField) `writeOnly: true`, in place. */
function markWriteOnly(schema: JsonSchema, path: ReadonlyArray<string | number>): JsonSchema {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const childPath = [...path, key];
    if (isSecretField(childPath)) child['writeOnly'] = true;
    markWriteOnly(child, childPath);
  }
  if (schema.items !== undefined) markWriteOnly(schema.items, [...path, 0]);
  for (const variant of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) markWriteOnly(variant, path);
  return schema;
}

import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ConfigError, createIntegration, silentLogger, type ConnectionTestReport } from '@sluice/core';
import { sqlModule } from '@sluice/sql';
import { ConfigStoreError } from '../config-store/config-store';
import { isPlainObject, storableEntry, type PendingSecret } from '../config-store/secret-entries';
import { scrub } from '../logger';
import { resolveSecrets } from '../secrets';
import { ApiError } from './api-error';
import { storedEntries } from './api-views';
import { checkPlainId, idParams, storedDocument, type ApiContext, type IdParams } from './api-context';
import { invalid } from './config-writes';
import { entryOf } from './entry-routes';

/** The id a connector tested before it is saved goes by when the body names none. */
const UNSAVED_ID = 'unsaved-connector';

/**
 * POST /api/connectors/:id/test (the running connector's staged connection test) and POST
 * /api/connectors/test (a definition not saved yet, the "Test" of a create form: its connector is built
 * through the plugin registry in an integration of its own that is never started, tested, and dropped).
 */
export function connectorTestRoutes(app: FastifyInstance, api: ApiContext): void {
  app.post<{ Params: IdParams }>('/api/connectors/:id/test', { onRequest: api.write, schema: { params: idParams } }, async (request) => {
    const id = request.params.id;
    if (!api.integration.connectorIds().includes(id)) throw new ApiError(404, { error: `no connector has the id "${id}"` });
    const report = await api.integration.testConnection(id);
    if (report === undefined) throw new ApiError(501, { error: `connector "${id}" has no connection test`, code: 'ERR_NOT_SUPPORTED' });
    return scrubbed(report, api.secrets ?? new Set());
  });

  app.post<{ Body: unknown }>('/api/connectors/test', { onRequest: api.write }, async (request) => {
    const body = entryOf(request.body, 'connector');
    checkPlainId(body['id'], 'id');
    const id = typeof body['id'] === 'string' && body['id'] !== '' ? body['id'] : UNSAVED_ID;
    // `[redacted]` (or a left-out secret) stands for the stored connector's secret: only for the same type and destination
    const stored = storedEntries(await storedDocument(api), 'connectors').find((entry) => entry.id === id && entry['type'] === body.type);
    const { entry, typed } = withStoredSecrets({ ...body, id }, stored);
    const resolved = new Set<string>(typed.values());
    let module;
    try {
      const settings = resolveSecrets(entry, api.env, '', resolved) as typeof entry;
      module = api.plugins.buildModule('connectors', 0, restoreTyped(settings, typed) as { type: string } & Record<string, unknown>);
    } catch (error) {
      if (error instanceof ConfigError) throw invalid(error, { section: 'connectors', id, index: 0 });
      throw error;
    }
    const probe = await createIntegration({ modules: [module, sqlModule()], rules: [], logger: silentLogger });
    const report = (await probe.testConnections())[0];
    if (report === undefined) throw new ApiError(501, { error: `connectors of type "${body.type}" have no connection test`, code: 'ERR_NOT_SUPPORTED' });
    // the id as given: nothing of the test's resolved settings goes back but the stages' scrubbed details
    return scrubbed({ ...report, connectorId: id }, new Set([...resolved, ...(api.secrets ?? [])]));
  });
}

/**
 * The entry with `[redacted]` and left-out secrets taken from the stored entry, as the store would take
 * them (storableEntry: list items matched by identity, never by position). A typed secret the store
 * would put in a file comes back as a placeholder (not a `${…}` reference, so resolving leaves it alone),
 * with its value in `typed` by placeholder.
 */
function withStoredSecrets(entry: Record<string, unknown>, stored: Readonly<Record<string, unknown>> | undefined): { entry: Record<string, unknown>; typed: Map<string, string> } {
  const pending: PendingSecret[] = [];
  let merged: Record<string, unknown>;
  try {
    merged = storableEntry('connectors', entry, stored, '/unsaved', pending);
  } catch (error) {
    if (error instanceof ConfigStoreError) throw new ApiError(400, { error: error.message, code: 'ERR_CONFIG_INVALID' });
    // a kept secret whose destination changed: issue paths are relative to the entry already
    if (error instanceof ConfigError) throw invalid(error, undefined);
    throw error;
  }
  const typed = new Map<string, string>();
  const byReference = new Map(pending.map((secret) => [secret.reference, secret.value]));
  const swap = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const typedValue = byReference.get(value);
      if (typedValue === undefined) return value;
      const placeholder = `unsaved-secret-${randomBytes(12).toString('hex')}`;
      typed.set(placeholder, typedValue);
      return placeholder;
    }
    if (Array.isArray(value)) return value.map(swap);
    return isPlainObject(value) ? Object.fromEntries(Object.entries(value).map(([key, child]) => [key, swap(child)])) : value;
  };
  return { entry: swap(merged) as Record<string, unknown>, typed };
}

/** The placeholders of withStoredSecrets replaced by the typed values again. */
function restoreTyped<T>(value: T, typed: ReadonlyMap<string, string>): T {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return typed.get(node) ?? node;
    if (Array.isArray(node)) return node.map(walk);
    return isPlainObject(node) ? Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)])) : node;
  };
  return walk(value) as T;
}

/** A report with the secrets scrubbed from the stage details (a library's message may quote a setting). */
function scrubbed(report: ConnectionTestReport, secrets: ReadonlySet<string>): ConnectionTestReport {
  return { ...report, stages: report.stages.map((stage) => ({ ...stage, detail: scrub(stage.detail, secrets) })) };
}

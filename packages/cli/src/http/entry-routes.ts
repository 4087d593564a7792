import type { FastifyInstance } from 'fastify';
import type { ConfigDocument, PluginEntry } from '../config-store/config-store';
import { isPlainObject } from '../config-store/secret-entries';
import { ApiError } from './api-error';
import { connectorView, connectorViews, sourceView, sourceViews, storedEntries, type Section } from './api-views';
import { checkBodyId, configWriter, idParams, storedDocument, type ApiContext, type IdParams } from './api-context';

/**
 * GET, PUT and DELETE of `/api/connectors[/:id]` and `/api/sources[/:id]`: the entries of the config file,
 * with their state; written through the config store and applied at run time (see ConfigWriter).
 */
export function entryRoutes(app: FastifyInstance, api: ApiContext, section: Section): void {
  const base = `/api/${section}`;
  const noun = section === 'connectors' ? 'connector' : 'source';
  const views = section === 'connectors' ? connectorViews : sourceViews;
  const viewOf = section === 'connectors' ? connectorView : sourceView;
  const known = (document: ConfigDocument | undefined, id: string): boolean =>
    storedEntries(document, section).some((entry) => entry.id === id)
    || (section === 'connectors' ? api.integration.connectorIds() : api.integration.sourceIds()).includes(id);

  app.get(base, { exposeHeadRoute: true }, async () => views(api, await storedDocument(api)));

  app.get<{ Params: IdParams }>(`${base}/:id`, { exposeHeadRoute: true, schema: { params: idParams } }, async (request) => {
    const document = await storedDocument(api);
    if (!known(document, request.params.id)) throw new ApiError(404, { error: `no ${noun} has the id "${request.params.id}"` });
    return viewOf(api, document, request.params.id);
  });

  /** Creates (201) or replaces (200) an entry; refused (400, 409) with the file and the running integration unchanged. */
  app.put<{ Params: IdParams; Body: unknown }>(`${base}/:id`, { onRequest: api.write, schema: { params: idParams } }, async (request, reply) => {
    const writer = configWriter(api, `writing a ${noun}`);
    const id = request.params.id;
    const body = entryOf(request.body, noun);
    checkBodyId(body, id);
    // `type` and `id` first, as people write entries (the key order of a new entry is the file's)
    const { type, id: _id, ...settings } = body;
    const entry: PluginEntry = { type, id, ...settings };
    const { snapshot, outcome } = await writer.write(request, { section, id }, [section === 'connectors' ? { op: 'upsert-connector', connector: entry } : { op: 'upsert-source', source: entry }]);
    // told by the reload that applied it (two writes of one new id at once: the first creates it)
    const created = outcome[section].added.includes(id);
    api.logger.info(created ? `${noun} created through the API` : `${noun} replaced through the API`, { [noun]: id });
    return reply.code(created ? 201 : 200).send({
      [noun]: viewOf(api, snapshot.document, id),
      revision: snapshot.revision,
      ...(outcome.needsRestart.length > 0 ? { restartNeeded: outcome.needsRestart } : {}),
    });
  });

  /** Removes an entry; 409 ERR_IN_USE while a rule of the stored config uses it. */
  app.delete<{ Params: IdParams }>(`${base}/:id`, { onRequest: api.write, schema: { params: idParams } }, async (request) => {
    const writer = configWriter(api, `removing a ${noun}`);
    const id = request.params.id;
    const { document } = await writer.read();
    if (!storedEntries(document, section).some((entry) => entry.id === id)) throw new ApiError(404, { error: `no ${noun} has the id "${id}"` });
    const users = usersOf(document, section, id);
    if (users.length > 0) {
      throw new ApiError(409, { error: `${noun} "${id}" is used by rule ${users.map((rule) => `"${rule}"`).join(', ')}: change or remove those rules first`, code: 'ERR_IN_USE' });
    }
    const { snapshot } = await writer.write(request, { section, id }, [section === 'connectors' ? { op: 'remove-connector', id } : { op: 'remove-source', id }]);
    api.logger.info(`${noun} removed through the API`, { [noun]: id });
    return { removed: id, revision: snapshot.revision };
  });
}

/** A PUT body: a JSON object with a `type` (the plugin's settings are the plugin schema's to judge). */
export function entryOf(body: unknown, noun: string): Readonly<Record<string, unknown>> & { type: string } {
  if (!isPlainObject(body) || typeof body['type'] !== 'string' || body['type'] === '') {
    throw ApiError.badRequest(`the body must be a ${noun} definition: { "type": "kafka", ...settings } (a JSON object with a type)`);
  }
  return body as Record<string, unknown> & { type: string };
}

/** The ids of the stored rules that use a connector (in an action or fallback action) or name a source. */
function usersOf(document: ConfigDocument, section: Section, id: string): string[] {
  return storedEntries(document, 'rules').filter((rule) => {
    if (section === 'sources') return Array.isArray(rule['sources']) && rule['sources'].includes(id);
    const actions = Array.isArray(rule['actions']) ? rule['actions'] : [];
    return actions.some((action) => isPlainObject(action) && (action['connector'] === id
      || (Array.isArray(action['fallbackActions']) && action['fallbackActions'].some((f) => isPlainObject(f) && f['connector'] === id))));
  }).map((rule) => rule.id);
}

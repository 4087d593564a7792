import type { onRequestHookHandler } from 'fastify';
import type { Logger } from '@sluice/core';
import type { ConfigDocument } from '../config-store/config-store';
import { MAX_PATH_ID_LENGTH } from '../http-guards';
import type { PluginRegistry } from '../plugins';
import { holdsReference, ID_REFERENCE_MESSAGE } from '../config-store/plain-ids';
import { ApiError } from './api-error';
import type { ViewSources } from './api-views';
import type { ConfigWriter } from './config-writes';

/** What the route modules of the API share (built once by sluiceApi). */
export interface ApiContext extends ViewSources {
  readonly logger: Logger;
  /** The onRequest hooks of write routes (the token, when one is set). */
  readonly write: onRequestHookHandler[];
  /** Persists changes and applies them; undefined when the API has no config store (a host composing in code). */
  readonly config: ConfigWriter | undefined;
  /** The source and connector types (schemas, building a connector to test). */
  readonly plugins: PluginRegistry;
  /** Resolves `${env:…}` references of a connector tested before it is saved. */
  readonly env: NodeJS.ProcessEnv;
  /** The only directory under which rules written through the API may keep disk buffers. */
  readonly dataDir: string | undefined;
}

/**
 * The `:id` of a path: at most MAX_PATH_ID_LENGTH characters, and a plain name (no `${`: see plain-ids.ts;
 * a connector PUT as `k${env:X}` would be resolved to the variable's value when the config is loaded).
 */
export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: MAX_PATH_ID_LENGTH, pattern: '^(?![\\s\\S]*\\$\\{)' } },
  required: ['id'],
} as const;

export interface IdParams {
  readonly id: string;
}

/** A source or connector entry as PUT takes it: `type` and the plugin's settings (checked by the plugin's schema). */
export const entryBody = { type: 'object', properties: { type: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['type'] } as const;

/** The ConfigWriter, or 501 when there is no store to write to. */
export function configWriter(api: ApiContext, what: string): ConfigWriter {
  if (api.config === undefined) {
    throw new ApiError(501, { error: `${what} needs a config store: this API runs without one (an integration composed in code); change the code that composes it`, code: 'ERR_NOT_SUPPORTED' });
  }
  return api.config;
}

/** The stored config (undefined without a store). */
export async function storedDocument(api: ApiContext): Promise<ConfigDocument | undefined> {
  return api.config === undefined ? undefined : (await api.config.read()).document;
}

/** 400 when a body's `id` differs from the path's. */
export function checkBodyId(body: Readonly<Record<string, unknown>>, id: string): void {
  checkPlainId(body['id'], 'id');
  if (body['id'] !== undefined && body['id'] !== id) {
    throw ApiError.badRequest(`the body's id "${String(body['id']).slice(0, 200)}" differs from the id in the path "${id}"`);
  }
}

/** 400 ERR_CONFIG_INVALID when an id given in a body holds `${` (see plain-ids.ts). */
export function checkPlainId(id: unknown, path: string): void {
  if (holdsReference(id)) throw new ApiError(400, { error: `${path}: ${ID_REFERENCE_MESSAGE}`, code: 'ERR_CONFIG_INVALID', issues: [{ path, message: ID_REFERENCE_MESSAGE }] }, { malformed: true });
}

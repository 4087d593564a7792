import type { onRequestHookHandler } from 'fastify';
import type { Logger } from '@sluice/core';
import type { ConfigDocument } from '../config-store/config-store';
import { MAX_PATH_ID_LENGTH } from '../http-guards';
import type { PluginRegistry } from '../plugins';
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

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: MAX_PATH_ID_LENGTH } },
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
  if (body['id'] !== undefined && body['id'] !== id) {
    throw ApiError.badRequest(`the body's id "${String(body['id']).slice(0, 200)}" differs from the id in the path "${id}"`);
  }
}

import type { FastifyInstance } from 'fastify';
import { cliVersion } from '../version';
import type { SluiceApiOptions } from './sluice-api';

/**
 * `GET /api/session`: whether the API wants a token, and the version. The console's login page calls it
 * with the token typed in: 200 means the token is good (or none is needed), 401 that it is not (the
 * token check of request-guards answers before this handler).
 */
export function sessionRoutes(app: FastifyInstance, options: SluiceApiOptions): void {
  const answer = { tokenRequired: options.token !== undefined, version: cliVersion() };
  app.get('/api/session', { exposeHeadRoute: true }, async () => answer);
}

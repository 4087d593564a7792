import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error';
import type { SluiceApiOptions } from './sluice-api';

/**
 * `GET /api/cluster`: in cluster mode, every member the status topic knows (id, host, state, since, last
 * seen, the config revision it runs) and the running members' counters summed per rule and per action.
 * 404 outside cluster mode, saying how to enable it.
 */
export function clusterRoutes(app: FastifyInstance, options: SluiceApiOptions): void {
  app.get('/api/cluster', { exposeHeadRoute: true }, async () => {
    const view = options.cluster?.view();
    if (view === undefined) throw new ApiError(404, { error: 'this process does not run in cluster mode: add a cluster: section to its config (docs/cluster.md)' });
    return view;
  });
}

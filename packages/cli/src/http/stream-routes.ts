import type { FastifyInstance } from 'fastify';
import type { ConnectorStatus, Integration } from '@sluice/core';
import { scrub } from '../logger';
import { EventStreams, type EventStream } from './event-stream';
import type { SluiceApiOptions } from './sluice-api';

/** How often the console's live view gets a snapshot. */
export const SNAPSHOT_INTERVAL_MS = 1000;

/** Open `/api/stream` connections one server takes (each browser tab of the console holds one). */
export const MAX_METRIC_STREAMS = 16;

/** What one `event: snapshot` carries: the metrics of core (metrics.ts) as they are, and the states. */
export interface Snapshot {
  readonly at: number;
  readonly status: Readonly<Record<string, ConnectorStatus>>;
  readonly rules: ReturnType<Integration['metrics']['snapshot']>['rules'];
  readonly actions: ReturnType<Integration['metrics']['snapshot']>['actions'];
  readonly sources: ReturnType<Integration['metrics']['snapshot']>['sources'];
}

/**
 * `GET /api/stream`: server-sent events, `event: snapshot` once on connect and then every second, with the
 * metrics of every rule, action and source and the state of every connector and source. One snapshot is
 * taken per tick whatever the number of streams, and only while one is open.
 */
export function streamRoutes(app: FastifyInstance, options: SluiceApiOptions): void {
  const integration = options.integration;
  const streams = new EventStreams(app, MAX_METRIC_STREAMS, 'metric streams (/api/stream)');
  const subscribers = new Set<EventStream>();
  let ticker: NodeJS.Timeout | undefined;

  const snapshot = (): Snapshot => {
    const metrics = integration.metrics.snapshot();
    return { at: Date.now(), status: scrubbedStatus(integration.status(), options.secrets), rules: metrics.rules, actions: metrics.actions, sources: metrics.sources };
  };
  const tick = (): void => {
    const current = snapshot();
    // a client that does not read misses snapshots rather than piling them up: the next one says it all
    for (const stream of subscribers) stream.send('snapshot', current);
  };

  app.get('/api/stream', { exposeHeadRoute: false }, async (_request, reply) => {
    const stream = streams.start(reply);
    stream.send('snapshot', snapshot());
    subscribers.add(stream);
    if (ticker === undefined) {
      ticker = setInterval(tick, SNAPSHOT_INTERVAL_MS);
      ticker.unref();
    }
    stream.onClose(() => {
      subscribers.delete(stream);
      if (subscribers.size === 0 && ticker !== undefined) {
        clearInterval(ticker);
        ticker = undefined;
      }
    });
  });
}

/**
 * Connectors' status reasons are library error messages, not text a caller wrote, and a library may quote
 * a setting: the secrets of the config are scrubbed from them, as /readyz does.
 */
export function scrubbedStatus(status: Record<string, ConnectorStatus>, secrets: ReadonlySet<string> | undefined): Record<string, ConnectorStatus> {
  if (secrets === undefined || secrets.size === 0) return status;
  return Object.fromEntries(Object.entries(status).map(([id, s]) => [id, s.reason === undefined ? s : { ...s, reason: scrub(s.reason, secrets) }]));
}

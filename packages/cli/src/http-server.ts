import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Integration, Logger } from '@sluice/core';
import { prometheusRegistry } from './prometheus';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** When set, write endpoints require `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
}

/**
 * The runner's HTTP endpoint: GET /metrics (Prometheus), /healthz (alive), /readyz (every connector
 * connected), and a small JSON API: GET /api/rules, GET /api/rules/:id, POST /api/rules/:id/reset-metrics,
 * POST /api/rules/:id/enable, POST /api/rules/:id/disable.
 */
export async function startHttpServer(app: Integration, options: HttpServerOptions, logger: Logger): Promise<{ server: Server; address: AddressInfo }> {
  const registry = prometheusRegistry(app);
  const server = createServer((req, res) => {
    handle(app, registry, options, req, res).catch((error: unknown) => {
      logger.error('http request failed', { url: req.url, error: (error as Error).message });
      send(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return { server, address: server.address() as AddressInfo };
}

async function handle(app: Integration, registry: ReturnType<typeof prometheusRegistry>, options: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/metrics') {
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(await registry.metrics());
    return;
  }
  if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
  if (req.method === 'GET' && path === '/readyz') {
    const status = app.status();
    const notReady = Object.entries(status).filter(([, s]) => s.state !== 'connected');
    return send(res, notReady.length === 0 ? 200 : 503, { ready: notReady.length === 0, connectors: status });
  }
  if (req.method === 'GET' && path === '/api/rules') {
    return send(res, 200, app.rules().map((rule) => ({ ...rule, metrics: app.metrics.rule(rule.id) })));
  }
  const ruleRoute = /^\/api\/rules\/([^/]+)(?:\/(reset-metrics|enable|disable))?$/.exec(path);
  if (ruleRoute !== null) {
    const id = decodeURIComponent(ruleRoute[1] as string);
    const rule = app.rules().find((r) => r.id === id);
    if (rule === undefined) return send(res, 404, { error: `no rule has the id "${id}"` });
    const verb = ruleRoute[2];
    if (verb === undefined && req.method === 'GET') {
      return send(res, 200, { ...rule, metrics: app.metrics.rule(id), actions: rule.actions.map((a) => ({ ...a, metrics: app.metrics.action(a.id) })) });
    }
    if (verb !== undefined && req.method === 'POST') {
      if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
        return send(res, 401, { error: 'this endpoint needs Authorization: Bearer <token> (http.token in the config)' });
      }
      if (verb === 'reset-metrics') app.metrics.resetRule(id);
      else app.setRuleEnabled(id, verb === 'enable');
      return send(res, 200, { ok: true });
    }
  }
  send(res, 404, { error: `no route for ${req.method ?? 'GET'} ${path}` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, IntegrationError, RuleSyntaxError, type Integration, type Logger } from '@sluice/core';
import { scrub } from './logger';
import { prometheusRegistry } from './prometheus';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** When set, write endpoints (POST, PUT, DELETE) require `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /**
   * Values that must never appear in an answer (what the config's secret references resolved to): a rule
   * definition may carry one in an action setting, and the read endpoints are open.
   */
  readonly secrets?: ReadonlySet<string> | undefined;
}

export interface HttpEndpoint {
  readonly server: Server;
  readonly address: AddressInfo;
  /** Stops listening and closes idle keep-alive connections. */
  close(): Promise<void>;
}

/** The largest request body the API reads (a rule definition is a few hundred bytes). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The runner's HTTP endpoint: GET /metrics (Prometheus), /healthz (alive), /readyz (every connector
 * connected or buffering on disk), and a small JSON API over the rules and actions (see docs/cli.md).
 */
export async function startHttpServer(app: Integration, options: HttpServerOptions, logger: Logger): Promise<HttpEndpoint> {
  const registry = prometheusRegistry(app, logger);
  const server = createServer((req, res) => {
    handle(app, registry, options, logger, req, res).catch((error: unknown) => {
      logger.error('http request failed', { method: req.method, url: req.url, error: (error as Error).message });
      if (!res.headersSent) send(options, res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

type Registry = ReturnType<typeof prometheusRegistry>;

async function handle(app: Integration, registry: Registry, options: HttpServerOptions, logger: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/metrics') {
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(await registry.metrics());
    return;
  }
  if (method === 'GET' && path === '/healthz') return send(options, res, 200, { status: 'ok' });
  if (method === 'GET' && path === '/readyz') {
    const status = app.status();
    // a connector that buffers on disk while its peer is away still does its job: ready, with the reason shown
    const notReady = Object.entries(status).filter(([, s]) => s.state !== 'connected' && s.state !== 'buffering');
    return send(options, res, notReady.length === 0 ? 200 : 503, { ready: notReady.length === 0, connectors: status });
  }
  if (method === 'GET' && path === '/api/rules') {
    return send(options, res, 200, app.rules().map((rule) => ({ ...rule, metrics: app.metrics.rule(rule.id) })));
  }
  if (method === 'GET' && path === '/api/actions') return send(options, res, 200, actions(app));

  const actionRoute = /^\/api\/actions\/([^/]+)$/.exec(path);
  if (actionRoute !== null && method === 'GET') {
    const id = decodeURIComponent(actionRoute[1] as string);
    const action = actions(app).find((a) => a['id'] === id);
    return action === undefined ? send(options, res, 404, { error: `no action has the id "${id}"` }) : send(options, res, 200, action);
  }

  const ruleRoute = /^\/api\/rules\/([^/]+)(?:\/(reset-metrics|enable|disable))?$/.exec(path);
  if (ruleRoute === null) return send(options, res, 404, { error: `no route for ${method} ${path}` });
  const id = decodeURIComponent(ruleRoute[1] as string);
  const verb = ruleRoute[2];
  const write = method === 'POST' || method === 'PUT' || method === 'DELETE';
  if (write && !authorized(options, req)) {
    return send(options, res, 401, { error: 'this endpoint needs Authorization: Bearer <token> (http.token in the config)' }, { 'www-authenticate': 'Bearer' });
  }
  if (verb === undefined && method === 'PUT') return putRule(app, options, logger, id, req, res);
  const rule = app.rules().find((r) => r.id === id);
  if (rule === undefined) return send(options, res, 404, { error: `no rule has the id "${id}"` });
  if (verb === undefined && method === 'GET') {
    return send(options, res, 200, {
      ...rule,
      definition: app.ruleDefinition(id),
      metrics: app.metrics.rule(id),
      actions: rule.actions.map((a) => ({ ...a, metrics: app.metrics.action(a.id) })),
    });
  }
  if (verb === undefined && method === 'DELETE') {
    const removed = await app.removeRule(id);
    if (removed) logger.info('rule removed through the API', { rule: id });
    return send(options, res, removed ? 200 : 404, removed ? { removed: id } : { error: `no rule has the id "${id}"` });
  }
  if (verb !== undefined && method === 'POST') {
    if (verb === 'reset-metrics') app.metrics.resetRule(id);
    else {
      app.setRuleEnabled(id, verb === 'enable');
      logger.info(verb === 'enable' ? 'rule enabled through the API' : 'rule disabled through the API', { rule: id });
    }
    return send(options, res, 200, { ok: true });
  }
  send(options, res, 405, { error: `${method} is not allowed on ${path}` });
}

/** PUT /api/rules/:id — creates or replaces a rule; a bad one is refused (400) and nothing changes. */
async function putRule(app: Integration, options: HttpServerOptions, logger: Logger, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch (error) {
    return send(options, res, error instanceof BodyTooLarge ? 413 : 400, { error: error instanceof BodyTooLarge ? error.message : `the body is not JSON: ${(error as Error).message}` });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return send(options, res, 400, { error: 'the body must be a rule definition: { "sql": "SELECT ...", "actions": [...] }' });
  }
  const definition = body as Record<string, unknown>;
  if (definition['id'] !== undefined && definition['id'] !== id) {
    return send(options, res, 400, { error: `the body's id "${String(definition['id'])}" differs from the id in the path "${id}"` });
  }
  const existed = app.rules().some((r) => r.id === id);
  try {
    const report = await app.upsertRule({ ...definition, id } as Parameters<Integration['upsertRule']>[0]);
    logger.info(existed ? 'rule replaced through the API' : 'rule created through the API', { rule: id });
    const rule = app.rules().find((r) => r.id === id);
    return send(options, res, existed ? 200 : 201, { ...rule, ...(report.restartNeeded.length > 0 ? { restartNeeded: report.restartNeeded } : {}) });
  } catch (error) {
    if (error instanceof ConfigError) {
      const syntax = error.cause instanceof RuleSyntaxError ? error.cause : undefined;
      return send(options, res, 400, {
        error: error.message,
        code: syntax?.code ?? error.code,
        issues: error.issues,
        ...(syntax === undefined ? {} : { line: syntax.line, column: syntax.column }),
      });
    }
    if (IntegrationError.is(error) && error.code === 'ERR_STOPPED') return send(options, res, 503, { error: error.message });
    throw error;
  }
}

function actions(app: Integration): Array<Record<string, unknown>> {
  return app.rules().flatMap((rule) =>
    rule.actions.map((action) => ({ id: action.id, rule: rule.id, connector: action.connector, ruleEnabled: rule.enabled, metrics: app.metrics.action(action.id) })),
  );
}

function authorized(options: HttpServerOptions, req: IncomingMessage): boolean {
  if (options.token === undefined) return true;
  const given = Buffer.from(req.headers.authorization ?? '');
  const wanted = Buffer.from(`Bearer ${options.token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge(`the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(options: HttpServerOptions, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  const text = JSON.stringify(body);
  res.end(options.secrets === undefined ? text : scrub(text, options.secrets));
}

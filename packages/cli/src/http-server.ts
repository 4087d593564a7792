import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, IntegrationError, RuleSyntaxError, ThrottledLog, type Integration, type Logger } from '@sluice/core';
import {
  checkContentType, checkHost, checkListenerExposure, checkRequestOrigin, decodePathSegment, isWriteMethod, jsonNestsDeeperThan,
  MAX_BODY_DEPTH, MAX_PATH_ID_LENGTH, resolveApiBufferDir, type ListenerIdentity, type Refusal,
} from './http-guards';
import { scrub } from './logger';
import { prometheusRegistry } from './prometheus';
import { pathsHoldingRedacted, REDACTED, redactFields } from './secret-fields';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** When set, write endpoints (POST, PUT, DELETE) require `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** Host names the Host header may carry besides IP addresses, localhost and `host` (see checkHost). */
  readonly allowedHosts?: readonly string[] | undefined;
  /** The only directory under which rules PUT through the API may put a disk buffer of their own. */
  readonly dataDir?: string | undefined;
  /**
   * The fields of each rule that came from a secret reference (SecretFields): answered as `[redacted]`
   * by position. Rule text is never compared with the secrets (that would be a guessing oracle).
   */
  readonly secretFields?: { of(ruleId: string): readonly string[] } | undefined;
  /**
   * Values scrubbed from connectors' status reasons in /readyz: those are library error messages, not
   * text a caller wrote, and a library may quote a setting.
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
/** A 500 is a bug of ours; one error line per this many milliseconds (with the count between) is enough. */
const INTERNAL_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * The runner's HTTP endpoint: GET /metrics (Prometheus), /healthz (alive), /readyz (every connector
 * connected or buffering on disk), and a small JSON API over the rules and actions (see docs/cli.md).
 * Every request passes the checks of http-guards first (Host, then for writes Origin/Sec-Fetch-Site and
 * a JSON body), so that a web page in the operator's browser cannot use it. Refuses to listen on a
 * non-loopback address without a token (ConfigError).
 */
export async function startHttpServer(app: Integration, options: HttpServerOptions, logger: Logger): Promise<HttpEndpoint> {
  const exposed = checkListenerExposure(options.host, options.token);
  if (exposed !== undefined) throw new ConfigError('sluice', [{ path: 'http.token', message: exposed }]);
  const registry = prometheusRegistry(app, logger);
  const refusals = new ThrottledLog(logger);
  let lastInternalError = Number.NEGATIVE_INFINITY;
  let suppressedInternalErrors = 0;
  // the actual port is known once listening (http.port 0 picks one); no request is served before that
  let listener: ListenerIdentity = { host: options.host, port: options.port, allowedHosts: options.allowedHosts };
  const server = createServer((req, res) => {
    handle({ app, registry, options, logger, refusals, listener }, req, res).catch((error: unknown) => {
      const now = Date.now();
      if (now - lastInternalError >= INTERNAL_ERROR_LOG_INTERVAL_MS) {
        logger.error('http request failed', { method: req.method, error: (error as Error).message, ...(suppressedInternalErrors > 0 ? { suppressedSinceLast: suppressedInternalErrors } : {}) });
        lastInternalError = now;
        suppressedInternalErrors = 0;
      } else suppressedInternalErrors++;
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
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
  const address = server.address() as AddressInfo;
  listener = { ...listener, port: address.port };
  return {
    server,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

type Registry = ReturnType<typeof prometheusRegistry>;

interface RequestContext {
  readonly app: Integration;
  readonly registry: Registry;
  readonly options: HttpServerOptions;
  readonly logger: Logger;
  readonly refusals: ThrottledLog;
  readonly listener: ListenerIdentity;
}

/** The routes and the methods each takes; a known path with another method is a 405. */
const ROUTES: ReadonlyArray<{ readonly pattern: RegExp; readonly methods: readonly string[] }> = [
  { pattern: /^\/(?:metrics|healthz|readyz)$/, methods: ['GET'] },
  { pattern: /^\/api\/(?:rules|actions)$/, methods: ['GET'] },
  { pattern: /^\/api\/actions\/[^/]+$/, methods: ['GET'] },
  { pattern: /^\/api\/rules\/[^/]+$/, methods: ['GET', 'PUT', 'DELETE'] },
  { pattern: /^\/api\/rules\/[^/]+\/(?:reset-metrics|enable|disable)$/, methods: ['POST'] },
];

async function handle(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { app, registry, options } = ctx;
  // HEAD is a GET without the body (node leaves the body out); health checkers use it.
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  const refusal = checkHost(req.headers, ctx.listener) ?? checkRequestOrigin(req.headers, method, ctx.listener) ?? checkContentType(req.headers, method);
  if (refusal !== undefined) return refuse(ctx, req, res, refusal);

  let path: string;
  try {
    path = new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return badRequest(ctx, res, 'the request target is not a valid URL path');
  }
  const route = ROUTES.find((r) => r.pattern.test(path));
  if (route === undefined) return send(res, 404, { error: `no route for ${path.slice(0, 200)}; see docs/cli.md for the endpoints` });
  if (!route.methods.includes(method)) {
    return send(res, 405, { error: `${method.slice(0, 20)} is not allowed on ${path.slice(0, 200)} (allowed: ${route.methods.join(', ')})` }, { allow: route.methods.join(', ') });
  }
  if (isWriteMethod(method) && !authorized(options, req)) {
    return send(res, 401, { error: 'this endpoint needs Authorization: Bearer <token> (http.token in the config)' }, { 'www-authenticate': 'Bearer' });
  }

  if (path === '/metrics') {
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(await registry.metrics());
    return;
  }
  if (path === '/healthz') return send(res, 200, { status: 'ok' });
  if (path === '/readyz') return readyz(ctx, res);
  if (path === '/api/rules') return send(res, 200, app.rules().map((rule) => redactRule(ctx, rule.id, { ...rule, metrics: app.metrics.rule(rule.id) })));
  if (path === '/api/actions') return send(res, 200, actions(app));

  const segments = path.split('/');
  const id = decodePathSegment(segments[3] as string);
  if (id === undefined) return badRequest(ctx, res, `the id in ${path.slice(0, 200)} is not valid percent-encoding (encode it with encodeURIComponent)`);
  if (id.length > MAX_PATH_ID_LENGTH) return badRequest(ctx, res, `the id is ${id.length} characters long; ids have at most ${MAX_PATH_ID_LENGTH}`);

  if (segments[2] === 'actions') {
    const action = actions(app).find((a) => a['id'] === id);
    return action === undefined ? send(res, 404, { error: `no action has the id "${id}"` }) : send(res, 200, action);
  }
  const verb = segments[4];
  if (verb === undefined && method === 'PUT') return putRule(ctx, id, req, res);
  const rule = app.rules().find((r) => r.id === id);
  if (rule === undefined) return send(res, 404, { error: `no rule has the id "${id}"` });
  if (verb === undefined && method === 'GET') {
    return send(res, 200, redactRule(ctx, id, {
      ...rule,
      definition: app.ruleDefinition(id),
      metrics: app.metrics.rule(id),
      actions: rule.actions.map((a) => ({ ...a, metrics: app.metrics.action(a.id) })),
    }));
  }
  if (verb === undefined) {
    const removed = await app.removeRule(id);
    if (removed) ctx.logger.info('rule removed through the API', { rule: id });
    return send(res, removed ? 200 : 404, removed ? { removed: id } : { error: `no rule has the id "${id}"` });
  }
  if (verb === 'reset-metrics') app.metrics.resetRule(id);
  else {
    app.setRuleEnabled(id, verb === 'enable');
    ctx.logger.info(verb === 'enable' ? 'rule enabled through the API' : 'rule disabled through the API', { rule: id });
  }
  return send(res, 200, { ok: true });
}

function readyz(ctx: RequestContext, res: ServerResponse): void {
  const status = ctx.app.status();
  // a connector that buffers on disk while its peer is away still does its job: ready, with the reason shown
  const notReady = Object.entries(status).filter(([, s]) => s.state !== 'connected' && s.state !== 'buffering');
  const secrets = ctx.options.secrets;
  const connectors = secrets === undefined
    ? status
    : Object.fromEntries(Object.entries(status).map(([id, s]) => [id, s.reason === undefined ? s : { ...s, reason: scrub(s.reason, secrets) }]));
  send(res, notReady.length === 0 ? 200 : 503, { ready: notReady.length === 0, connectors });
}

/**
 * A rule answer with its secret-bearing fields (by position, see SecretFields) redacted, in the definition
 * too. The `topics` of a rule are quoted from its SQL's FROM, so a secret-bearing `sql` redacts them as well.
 */
function redactRule<T>(ctx: RequestContext, id: string, answer: T): T {
  const fields = ctx.options.secretFields?.of(id) ?? [];
  if (fields.length === 0) return answer;
  const topics = fields.includes('sql') ? (ctx.app.rules().find((r) => r.id === id)?.topics.length ?? 0) : 0;
  return redactFields(answer, [...fields, ...fields.map((field) => `definition.${field}`), ...Array.from({ length: topics }, (_, i) => `topics[${i}]`)]);
}

/** PUT /api/rules/:id — creates or replaces a rule; a bad one is refused (400) and nothing changes. */
async function putRule(ctx: RequestContext, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { app, logger } = ctx;
  let body: unknown;
  try {
    const text = await readBody(req);
    if (jsonNestsDeeperThan(text, MAX_BODY_DEPTH)) return badRequest(ctx, res, `the body is nested deeper than ${MAX_BODY_DEPTH} levels of arrays and objects; a rule definition needs about 6`);
    body = JSON.parse(text);
  } catch (error) {
    if (error instanceof BodyTooLarge) return send(res, 413, { error: error.message });
    return badRequest(ctx, res, `the body is not JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return badRequest(ctx, res, 'the body must be a rule definition: { "sql": "SELECT ...", "actions": [...] }');
  }
  const definition = body as Record<string, unknown>;
  if (definition['id'] !== undefined && definition['id'] !== id) {
    return badRequest(ctx, res, `the body's id "${String(definition['id']).slice(0, 200)}" differs from the id in the path "${id}"`);
  }
  const placeholders = pathsHoldingRedacted(definition, ctx.options.secretFields?.of(id) ?? []);
  if (placeholders.length > 0) {
    const issues = placeholders.map((path) => ({ path, message: `holds "${REDACTED}", which stands for a secret of the config file and cannot be written back; change this field in the config file, or give its full text` }));
    return send(res, 400, { error: issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), code: 'ERR_CONFIG_INVALID', issues });
  }
  const dirIssue = checkBufferDirs(app, ctx.options.dataDir, definition);
  if (dirIssue !== undefined) return send(res, 400, { error: `${dirIssue.path}: ${dirIssue.message}`, code: 'ERR_CONFIG_INVALID', issues: [dirIssue] });
  const existed = app.rules().some((r) => r.id === id);
  try {
    const report = await app.upsertRule({ ...definition, id } as Parameters<Integration['upsertRule']>[0]);
    logger.info(existed ? 'rule replaced through the API' : 'rule created through the API', { rule: id });
    const rule = app.rules().find((r) => r.id === id);
    return send(res, existed ? 200 : 201, redactRule(ctx, id, { ...rule, ...(report.restartNeeded.length > 0 ? { restartNeeded: report.restartNeeded } : {}) }));
  } catch (error) {
    const refused = refusedRule(error);
    if (refused !== undefined) {
      logger.debug('rule refused through the API', { rule: id, error: refused['error'] });
      return send(res, 400, refused);
    }
    if (IntegrationError.is(error) && error.code === 'ERR_STOPPED') return send(res, 503, { error: error.message });
    throw error;
  }
}

/** The 400 answer for an error that means "this rule is wrong" (ConfigError, RuleSyntaxError), or undefined. */
function refusedRule(error: unknown): Record<string, unknown> | undefined {
  if (error instanceof ConfigError) {
    const syntax = error.cause instanceof RuleSyntaxError ? error.cause : undefined;
    return {
      error: error.message,
      code: syntax?.code ?? error.code,
      issues: error.issues,
      ...(syntax === undefined ? {} : { line: syntax.line, column: syntax.column }),
    };
  }
  if (error instanceof RuleSyntaxError) return { error: error.message, code: error.code, line: error.line, column: error.column };
  if (IntegrationError.is(error) && (error.code === 'ERR_RULE_SYNTAX' || error.code === 'ERR_CONFIG_INVALID')) return { error: error.message, code: error.code };
  return undefined;
}

/**
 * A rule written through the API must not pick where files go: each `buffer.dir` of its actions and
 * fallbacks must be one a running rule already uses (those came from the config file, or passed this
 * check) or lie inside `http.dataDir` (a relative one is taken relative to it and written back absolute).
 */
function checkBufferDirs(app: Integration, dataDir: string | undefined, definition: Record<string, unknown>): { path: string; message: string } | undefined {
  const inUse = new Set<string>();
  for (const rule of app.rules()) {
    for (const action of app.ruleDefinition(rule.id)?.actions ?? []) for (const settings of [action, ...(action.fallbackActions ?? [])]) {
      const dir = bufferDirOf(settings);
      if (dir !== undefined) inUse.add(dir);
    }
  }
  const actionList = Array.isArray(definition['actions']) ? (definition['actions'] as unknown[]) : [];
  const targets: Array<{ settings: unknown; path: string }> = [];
  actionList.forEach((action, a) => {
    targets.push({ settings: action, path: `actions[${a}]` });
    const fallbacks = (action as { fallbackActions?: unknown } | null)?.fallbackActions;
    if (Array.isArray(fallbacks)) fallbacks.forEach((fallback, f) => targets.push({ settings: fallback, path: `actions[${a}].fallbackActions[${f}]` }));
  });
  for (const { settings, path } of targets) {
    const dir = bufferDirOf(settings);
    if (dir === undefined || inUse.has(dir)) continue;
    const resolved = resolveApiBufferDir(dir, dataDir);
    if ('error' in resolved) return { path: `${path}.buffer.dir`, message: `${resolved.error}; or use a buffer.dir a rule of the config file uses` };
    ((settings as { buffer: Record<string, unknown> }).buffer)['dir'] = resolved.dir;
  }
  return undefined;
}

function bufferDirOf(settings: unknown): string | undefined {
  const buffer = (settings as { buffer?: unknown } | null | undefined)?.buffer;
  const dir = typeof buffer === 'object' && buffer !== null ? (buffer as { dir?: unknown }).dir : undefined;
  return typeof dir === 'string' ? dir : undefined;
}

function actions(app: Integration): Array<Record<string, unknown>> {
  return app.rules().flatMap((rule) =>
    rule.actions.map((action) => ({ id: action.id, rule: rule.id, connector: action.connector, ruleEnabled: rule.enabled, metrics: app.metrics.action(action.id) })),
  );
}

/**
 * `Authorization: Bearer <token>`, the scheme in any case (RFC 9110). Compared as bytes: node hands header
 * bytes over as latin1, the config's token is UTF-8 (what curl sends). Digests of both are compared, so the
 * time taken tells nothing, not even the token's length.
 */
function authorized(options: HttpServerOptions, req: IncomingMessage): boolean {
  if (options.token === undefined) return true;
  const match = /^bearer +(.+)$/i.exec(req.headers.authorization ?? '');
  const given = createHash('sha256').update(Buffer.from(match?.[1] ?? '', 'latin1')).digest();
  const wanted = createHash('sha256').update(Buffer.from(options.token, 'utf8')).digest();
  return timingSafeEqual(given, wanted) && match !== null;
}

/** A request the guards refused: answered, and logged as one throttled warning per kind (never one line per request). */
function refuse(ctx: RequestContext, req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  ctx.refusals.warn(`refused ${refusal.status}`, 'http request refused (a web page or a misconfigured client?)', () => ({ status: refusal.status, method: req.method, reason: refusal.error }));
  send(res, refusal.status, { error: refusal.error });
}

/** Malformed input: a 400 that says what to fix, logged at debug level only (anyone can send it). */
function badRequest(ctx: RequestContext, res: ServerResponse, error: string): void {
  ctx.logger.debug('http request malformed', { error });
  send(res, 400, { error });
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

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

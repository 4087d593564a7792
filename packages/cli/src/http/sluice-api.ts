import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { silentLogger, ThrottledLog, type Integration, type Logger } from '@sluice/core';
import type { SqlRuleEngineOptions } from '@sluice/sql';
import { MAX_PATH_ID_LENGTH } from '../http-guards';
import { scrub } from '../logger';
import { prometheusRegistry } from '../prometheus';
import { ApiError } from './api-error';
import { acceptJsonBodiesOnly, MAX_BODY_BYTES } from './json-body';
import { guardRequests, requireToken } from './request-guards';
import { listActions, redactRule, type SecretFieldsOf } from './rule-answers';
import type { ConfigStore } from '../config-store/config-store';
import { holdsReference, ID_REFERENCE_MESSAGE } from '../config-store/plain-ids';
import { PluginRegistry } from '../plugins';
import { idParams, type ApiContext, type IdParams } from './api-context';
import type { ClusterView } from '../cluster/cluster-status';
import { clusterRoutes } from './cluster-routes';
import { configRoutes } from './config-routes';
import { ConfigWriter, type Reloader } from './config-writes';
import { connectorTestRoutes } from './connector-test-routes';
import { entryRoutes } from './entry-routes';
import { ruleWriteRoutes } from './rule-write-routes';
import { messagesRoutes } from './messages-routes';
import { ruleTestRoutes } from './rule-test-routes';
import { sessionRoutes } from './session-routes';
import { streamRoutes } from './stream-routes';

export interface SluiceApiOptions {
  /** The integration the API reads and changes. */
  readonly integration: Integration;
  /** Where refusals (throttled warn), malformed input (debug) and internal errors go; silent by default. */
  readonly logger?: Logger | undefined;
  /** When set, every route under `/api/` (reads and event streams included) requires `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /**
   * The name the server is bound to (`http.host`), which the Host header may then carry. An embedding host
   * leaves it out: IP addresses, localhost and `allowedHosts` are accepted.
   */
  readonly host?: string | undefined;
  /** Host names the Host header may carry besides IP addresses, localhost and `host` (see checkHost). */
  readonly allowedHosts?: readonly string[] | undefined;
  /** The only directory under which rules PUT through the API may put a disk buffer of their own. */
  readonly dataDir?: string | undefined;
  /**
   * The fields of each rule that came from a secret reference (SecretFields): answered as `[redacted]`
   * by position. Rule text is never compared with the secrets (that would be a guessing oracle).
   */
  readonly secretFields?: SecretFieldsOf | undefined;
  /**
   * Values scrubbed from connectors' status reasons in /readyz: those are library error messages, not
   * text a caller wrote, and a library may quote a setting.
   */
  readonly secrets?: ReadonlySet<string> | undefined;
  /** The rule engine's limits (the config's `sql.limits`), which `POST /api/rules/test` evaluates with. */
  readonly ruleEngine?: SqlRuleEngineOptions | undefined;
  /**
   * Where the config is kept (`sluice run`: a FileConfigStore on its config file). With it and `reloader`,
   * rule, connector and source writes are stored there and applied by a reload (they survive a restart);
   * without, connector and source writes answer 501 and rule writes change the running integration only.
   */
  readonly store?: ConfigStore | undefined;
  /** Applies the stored config to the running integration (ConfigReloader); needed with `store`. */
  readonly reloader?: Reloader | undefined;
  /** The source and connector types (GET /api/schema, connection tests); the built-in ones by default. */
  readonly plugins?: PluginRegistry | undefined;
  /** Resolves `${env:…}` in a connector tested before it is saved (`sluice run` passes its environment). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** In cluster mode, the members and cluster-wide totals GET /api/cluster answers (ClusterMember). */
  readonly cluster?: { view(): ClusterView | undefined } | undefined;
}

/** A 500 is a bug of ours; one error line per this many milliseconds (with the count between) is enough. */
const INTERNAL_ERROR_LOG_INTERVAL_MS = 10_000;


/**
 * The HTTP API of Sluice as a Fastify plugin: GET /metrics (Prometheus), /healthz, /readyz, and the JSON API
 * over rules and actions (see docs/cli.md). `sluice run` registers it on a server of its own
 * (startHttpServer); a service that composes Sluice in code mounts it on its own Fastify instance:
 *
 *     await host.register(sluiceApi, { prefix: '/sluice', integration, token, logger });
 *
 * Everything it sets is encapsulated (not wrapped with fastify-plugin): its hooks run for its routes only
 * (every request: Host, then for writes Origin/Sec-Fetch-Site and a JSON body, see http-guards; the token
 * on writes), it takes application/json bodies only (1 MiB, 64 levels), and its 404, 405 and error answers
 * are `{ error, code?, issues? }`. The host's routes, parsers and error handler are left alone. Two things
 * stay the host's: binding (do not listen beyond loopback without a token), and URLs Fastify refuses before
 * routing (bad percent-encoding, a parameter longer than `maxParamLength`), which its `frameworkErrors` answers.
 */
export async function sluiceApi(app: FastifyInstance, options: SluiceApiOptions): Promise<void> {
  const integration = options.integration;
  const logger = options.logger ?? silentLogger;
  const registry = prometheusRegistry(integration, logger);
  const refusals = new ThrottledLog(logger);
  const redact = <T>(id: string, answer: T): T => redactRule(integration, options.secretFields, id, answer);
  const write: onRequestHookHandler[] = options.token === undefined ? [] : [requireToken(options.token)];

  const api: ApiContext = {
    integration,
    logger,
    write,
    config: options.store === undefined || options.reloader === undefined ? undefined : new ConfigWriter(options.store, options.reloader, logger, options.secrets),
    plugins: options.plugins ?? PluginRegistry.withBuiltIns(),
    env: options.env ?? {},
    dataDir: options.dataDir,
    secretFields: options.secretFields,
    secrets: options.secrets,
  };

  app.addHook('onRequest', guardRequests({ host: options.host ?? '', allowedHosts: options.allowedHosts, token: options.token, prefix: app.prefix }, refusals));
  acceptJsonBodiesOnly(app);
  app.setErrorHandler(errorHandler(logger));
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route for ${pathOf(request).slice(0, 200)}; see docs/cli.md for the endpoints` });
  });

  app.get('/metrics', { exposeHeadRoute: true }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  app.get('/healthz', { exposeHeadRoute: true }, async () => ({ status: 'ok' }));
  app.get('/readyz', { exposeHeadRoute: true }, async (_request, reply) => {
    const status = integration.status();
    // a connector that buffers on disk while its peer is away still does its job: ready, with the reason shown
    const ready = Object.values(status).every((s) => s.state === 'connected' || s.state === 'buffering');
    const secrets = options.secrets;
    const connectors = secrets === undefined
      ? status
      : Object.fromEntries(Object.entries(status).map(([id, s]) => [id, s.reason === undefined ? s : { ...s, reason: scrub(s.reason, secrets) }]));
    return reply.code(ready ? 200 : 503).send({ ready, connectors });
  });

  app.get('/api/rules', { exposeHeadRoute: true }, async () =>
    integration.rules().map((rule) => redact(rule.id, { ...rule, metrics: integration.metrics.rule(rule.id) })));
  app.get('/api/actions', { exposeHeadRoute: true }, async () => listActions(integration));
  app.get<{ Params: IdParams }>('/api/actions/:id', { exposeHeadRoute: true, schema: { params: idParams } }, async (request) => {
    const action = listActions(integration).find((a) => a['id'] === request.params.id);
    if (action === undefined) throw new ApiError(404, { error: `no action has the id "${request.params.id}"` });
    return action;
  });

  app.get<{ Params: IdParams }>('/api/rules/:id', { exposeHeadRoute: true, schema: { params: idParams } }, async (request) => {
    const id = request.params.id;
    const rule = existingRule(integration, id);
    return redact(id, {
      ...rule,
      definition: integration.ruleDefinition(id),
      metrics: integration.metrics.rule(id),
      actions: rule.actions.map((a) => ({ ...a, metrics: integration.metrics.action(a.id) })),
    });
  });

  ruleWriteRoutes(app, api);
  configRoutes(app, api);
  entryRoutes(app, api, 'connectors');
  entryRoutes(app, api, 'sources');
  connectorTestRoutes(app, api);

  app.post<{ Params: IdParams }>('/api/rules/:id/reset-metrics', { onRequest: write, schema: { params: idParams } }, async (request) => {
    existingRule(integration, request.params.id);
    integration.metrics.resetRule(request.params.id);
    return { ok: true };
  });

  clusterRoutes(app, options);
  sessionRoutes(app, options);
  streamRoutes(app, options);
  ruleTestRoutes(app, options);
  messagesRoutes(app, options);

  answerOtherMethodsWith405(app, {
    '/metrics': ['GET'], '/healthz': ['GET'], '/readyz': ['GET'], '/api/rules': ['GET'], '/api/actions': ['GET'], '/api/actions/:id': ['GET'],
    '/api/rules/:id': ['GET', 'PUT', 'DELETE'], '/api/rules/:id/reset-metrics': ['POST'], '/api/rules/:id/enable': ['POST'], '/api/rules/:id/disable': ['POST'],
    '/api/config': ['GET'], '/api/schema': ['GET'], '/api/overview': ['GET'], '/api/connectors': ['GET'], '/api/connectors/:id': ['GET', 'PUT', 'DELETE'],
    '/api/sources': ['GET'], '/api/cluster': ['GET'], '/api/sources/:id': ['GET', 'PUT', 'DELETE'], '/api/connectors/:id/test': ['POST'],
  });
}

function existingRule(integration: Integration, id: string): ReturnType<Integration['rules']>[number] {
  const rule = integration.rules().find((r) => r.id === id);
  if (rule === undefined) throw new ApiError(404, { error: `no rule has the id "${id}"` });
  return rule;
}

/** The config key the 405 routes carry: the methods their path takes. */
interface MethodNotAllowedConfig {
  readonly allow?: string;
}

/**
 * Fastify answers a known path with an unknown method as a 404; the API has always said 405 with `Allow`
 * (what HTTP asks for). Every other method Fastify knows gets a route that answers so; HEAD is covered by
 * GET (a GET without body, which Fastify adds for each GET route).
 */
function answerOtherMethodsWith405(app: FastifyInstance, routes: Readonly<Record<string, readonly string[]>>): void {
  for (const [url, allowed] of Object.entries(routes)) {
    const taken = new Set(allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed);
    const others = app.supportedMethods.filter((method) => !taken.has(method));
    const allow = allowed.join(', ');
    app.route({ method: others, url, config: { allow } satisfies MethodNotAllowedConfig, handler: (request) => { throw methodNotAllowed(request, allow); } });
  }
}

function methodNotAllowed(request: FastifyRequest, allow: string): ApiError {
  return new ApiError(405, { error: `${request.method.slice(0, 20)} is not allowed on ${pathOf(request).slice(0, 200)} (allowed: ${allow})` }, { headers: { allow } });
}

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Maps what routes, hooks and the body parser throw to the API's answers. Malformed input is logged at
 * debug level (anyone can send it); only an error nobody anticipated is a 500 and an error line, at most
 * one per INTERNAL_ERROR_LOG_INTERVAL_MS.
 */
function errorHandler(logger: Logger): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  let lastInternalError = Number.NEGATIVE_INFINITY;
  let suppressedInternalErrors = 0;
  return (error, request, reply) => {
    const allow = (request.routeOptions.config as MethodNotAllowedConfig).allow;
    // a 405 route still reads a body before its handler (an OPTIONS with one): the method is the answer
    const answer = allow !== undefined ? methodNotAllowed(request, allow) : asApiError(error, request);
    if (answer !== undefined) {
      if (answer.options.malformed === true) logger.debug('http request malformed', { error: answer.message });
      void reply.code(answer.status).headers(answer.options.headers ?? {}).send(answer.body);
      return;
    }
    const now = Date.now();
    if (now - lastInternalError >= INTERNAL_ERROR_LOG_INTERVAL_MS) {
      logger.error('http request failed', { method: request.method, error: error.message, ...(suppressedInternalErrors > 0 ? { suppressedSinceLast: suppressedInternalErrors } : {}) });
      lastInternalError = now;
      suppressedInternalErrors = 0;
    } else suppressedInternalErrors++;
    void reply.code(500).send({ error: 'internal error' });
  };
}

/** The API answer for an error of ours or one Fastify raised about the request; undefined for a bug. */
function asApiError(error: FastifyError, request: FastifyRequest): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error.validation !== undefined) {
    if (error.validationContext === 'params') {
      const id = (request.params as Partial<IdParams>).id ?? '';
      if (holdsReference(id)) return ApiError.badRequest(ID_REFERENCE_MESSAGE);
      return ApiError.badRequest(`the id is ${id.length} characters long; ids have at most ${MAX_PATH_ID_LENGTH}`);
    }
    return ApiError.badRequest('the body must be a rule definition: { "sql": "SELECT ...", "actions": [...] }');
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` }, { malformed: true });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, { error: 'a request body must be JSON: send Content-Type: application/json' }, { malformed: true });
    default:
      // Fastify's other request errors (a bad Content-Length, an aborted body ...) are the client's
      return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? new ApiError(error.statusCode, { error: error.message }, { malformed: true }) : undefined;
  }
}

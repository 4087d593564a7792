import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConfigError, ThrottledLog, type Integration, type Logger } from '@sluice/core';
import { checkListenerExposure, MAX_PATH_ID_LENGTH } from './http-guards';
import { findConsoleBuild, sluiceConsole } from './http/console-routes';
import { refusalOf, sendRefusal, type GuardSettings } from './http/request-guards';
import { sluiceApi, type SluiceApiOptions } from './http/sluice-api';

export { sluiceApi, type SluiceApiOptions } from './http/sluice-api';
export { sluiceConsole, type SluiceConsoleOptions } from './http/console-routes';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** When set, every route under `/api/` (reads and event streams included) requires `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** Host names the Host header may carry besides IP addresses, localhost and `host` (see checkHost). */
  readonly allowedHosts?: readonly string[] | undefined;
  /** The only directory under which rules PUT through the API may put a disk buffer of their own. */
  readonly dataDir?: string | undefined;
  /**
   * The fields of each rule that came from a secret reference (SecretFields): answered as `[redacted]`
   * by position. Rule text is never compared with the secrets (that would be a guessing oracle).
   */
  readonly secretFields?: SluiceApiOptions['secretFields'];
  /**
   * Values scrubbed from connectors' status reasons in /readyz: those are library error messages, not
   * text a caller wrote, and a library may quote a setting.
   */
  readonly secrets?: ReadonlySet<string> | undefined;
  /** The config store and what applies it, the plugin registry and environment (see SluiceApiOptions). */
  readonly config?: Pick<SluiceApiOptions, 'store' | 'reloader' | 'plugins' | 'env' | 'cluster'> | undefined;
  /** The rule engine's limits (`sql.limits`), which `POST /api/rules/test` evaluates with. */
  readonly ruleEngine?: SluiceApiOptions['ruleEngine'];
  /** `http.console`: serve the web console at `/` (default); false leaves the API alone. */
  readonly console?: boolean | undefined;
}

export interface HttpEndpoint {
  readonly server: Server;
  readonly address: AddressInfo;
  /** Stops listening and closes idle keep-alive connections. */
  close(): Promise<void>;
}

/**
 * An encoded path parameter may be this long before the router refuses it outright: an id of
 * MAX_PATH_ID_LENGTH characters percent-encodes to at most 9 characters each (3 UTF-8 bytes as %XX; a
 * 4-byte character is 2 UTF-16 units), and the params schema then checks the decoded length.
 */
const MAX_ENCODED_PARAM_LENGTH = MAX_PATH_ID_LENGTH * 9;

/** Longest a request may take to arrive in full (node's default for a server of its own). */
const REQUEST_TIMEOUT_MS = 300_000;

/**
 * The runner's HTTP endpoint: the sluiceApi plugin (GET /metrics, /healthz, /readyz and the JSON API over
 * rules and actions, see docs/cli.md) on a Fastify server of its own. Refuses to listen on a non-loopback
 * address without a token (ConfigError).
 */
export async function startHttpServer(app: Integration, options: HttpServerOptions, logger: Logger): Promise<HttpEndpoint> {
  const exposed = checkListenerExposure(options.host, options.token);
  if (exposed !== undefined) throw new ConfigError('sluice', [{ path: 'http.token', message: exposed }]);
  const guards: GuardSettings = { host: options.host, allowedHosts: options.allowedHosts };
  const server = Fastify({
    logger: false, // the plugin logs through our logger: refusals throttled, malformed input at debug
    // Fastify sets 0 (no limit) unless told; node's own default bounds a request that trickles in slowly
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions: { maxParamLength: MAX_ENCODED_PARAM_LENGTH },
    frameworkErrors: urlRefusals(guards, new ThrottledLog(logger), logger),
  });
  await server.register(sluiceApi, {
    integration: app,
    logger,
    host: options.host,
    token: options.token,
    allowedHosts: options.allowedHosts,
    dataDir: options.dataDir,
    secretFields: options.secretFields,
    secrets: options.secrets,
    ruleEngine: options.ruleEngine,
    ...options.config,
  });
  const build = options.console === false ? undefined : findConsoleBuild();
  if (build !== undefined && 'dir' in build) await server.register(sluiceConsole, { assetsDir: build.dir });
  await server.listen({ host: options.host, port: options.port });
  const address = server.server.address() as AddressInfo;
  if (build !== undefined && 'missing' in build) logger.warn('web console not served', { reason: build.missing });
  else if (build !== undefined) logger.info('web console', { url: `http://${browsable(address)}/`, login: options.token === undefined ? 'none (no http.token)' : 'http.token' });
  return {
    server: server.server,
    address,
    close: () => server.close(),
  };
}

/**
 * Fastify answers a URL its router cannot take (bad percent-encoding, an over-long parameter) before any
 * route or hook: the Host check runs here too, and the answer is the API's `{ error }`, logged at debug.
 */
function urlRefusals(guards: GuardSettings, refusals: ThrottledLog, logger: Logger): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const refusal = refusalOf(request, guards);
    if (refusal !== undefined) return sendRefusal(request, reply, refusal, refusals);
    const path = request.url.split('?')[0]?.slice(0, 200) ?? '';
    const message = error.code === 'FST_ERR_BAD_URL'
      ? `the id in ${path} is not valid percent-encoding (encode it with encodeURIComponent)`
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? `the id in ${path.slice(0, 100)}... is longer than ids can be (at most ${MAX_PATH_ID_LENGTH} characters)`
        : error.message;
    logger.debug('http request malformed', { error: message });
    void reply.code(400).send({ error: message });
  };
}

/** Where a browser on this machine reaches the listener (a wildcard address is not one to type in). */
function browsable(address: AddressInfo): string {
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
  return `${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

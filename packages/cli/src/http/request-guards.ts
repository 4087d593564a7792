import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ThrottledLog } from '@sluice/core';
import { checkContentType, checkHost, checkRequestOrigin, type ListenerIdentity, type Refusal } from '../http-guards';
import { ApiError } from './api-error';

/** What the request checks need to know besides the request itself. */
export interface GuardSettings {
  /** The name the listener was bound to (`http.host`); '' when unknown (an embedding host's server). */
  readonly host: string;
  readonly allowedHosts?: readonly string[] | undefined;
  /**
   * `http.token`: when set, every route under `<prefix>/api/` needs `Authorization: Bearer <token>`, reads
   * and event streams included (the console's data is the API's); /metrics, /healthz and /readyz do not.
   */
  readonly token?: string | undefined;
  /** The prefix the API is mounted under (`app.prefix`: '' for `sluice run`, '/sluice' in a host service). */
  readonly prefix?: string | undefined;
}

/**
 * The listener a request arrived on: its port is the socket's (the actual one when `http.port` is 0, and
 * whatever port an embedding host listens on). Injected requests (light-my-request) have none: 0.
 */
export function listenerOf(request: FastifyRequest, settings: GuardSettings): ListenerIdentity {
  return { host: settings.host, port: request.socket.localPort ?? 0, allowedHosts: settings.allowedHosts };
}

/**
 * The checks of http-guards in their order (Host; Origin/Sec-Fetch-Site for writes and for every request
 * under `<prefix>/api/`, reads included; a JSON body for writes); the token comes after.
 */
export function refusalOf(request: FastifyRequest, settings: GuardSettings): Refusal | undefined {
  const listener = listenerOf(request, settings);
  return checkHost(request.headers, listener)
    ?? checkRequestOrigin(request.headers, request.method, listener, { reads: isUnder(routeOrPath(request), `${settings.prefix ?? ''}/api`) })
    ?? checkContentType(request.headers, request.method);
}

/**
 * The onRequest hook of every route of the API, 404s and 405s included: it runs before a body is read. A
 * refusal is answered and logged as one throttled warning per kind (never one line per request: a page or
 * a scanner could send thousands). Then, when a token is set, every request under `<prefix>/api/` must
 * carry it (401 otherwise, not logged: a console whose session expired sends a few).
 */
export function guardRequests(settings: GuardSettings, refusals: ThrottledLog): onRequestHookHandler {
  const apiRoot = `${settings.prefix ?? ''}/api`;
  const hasToken = settings.token === undefined ? undefined : bearerCheck(settings.token);
  return (request, reply, done) => {
    const refusal = refusalOf(request, settings);
    if (refusal !== undefined) return sendRefusal(request, reply, refusal, refusals);
    if (hasToken === undefined || !isUnder(routeOrPath(request), apiRoot) || hasToken(request.headers.authorization)) return done();
    done(unauthorized());
  };
}

/**
 * What the request addresses: the pattern of the route it matched (`/sluice/api/rules/:id`), which is what
 * the router decided whatever options the host gave it (case-insensitive or duplicate-slash-tolerant
 * routing, percent-encoded letters), else, for a 404, its path.
 */
function routeOrPath(request: FastifyRequest): string {
  const route = request.routeOptions.url;
  if (route !== undefined) return route;
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/** Answers a refused request (also used where Fastify answers before any hook, see frameworkErrors). */
export function sendRefusal(request: FastifyRequest, reply: FastifyReply, refusal: Refusal, refusals: ThrottledLog): void {
  refusals.warn(`refused ${refusal.status}`, 'http request refused (a web page or a misconfigured client?)', () => ({ status: refusal.status, method: request.method, reason: refusal.error }));
  void reply.code(refusal.status).send({ error: refusal.error });
}

/**
 * A route-level onRequest hook that needs `Authorization: Bearer <token>` (the scheme in any case, RFC 9110),
 * for a route outside `/api/`; guardRequests already asks for it on every route under `/api/`.
 */
export function requireToken(token: string): onRequestHookHandler {
  const hasToken = bearerCheck(token);
  return (request, _reply, done) => {
    if (hasToken(request.headers.authorization)) return done();
    done(unauthorized());
  };
}

function unauthorized(): ApiError {
  return new ApiError(401, {
    error: 'this endpoint needs the API token: send Authorization: Bearer <token> (http.token in the config; the console asks for it on its login page)',
    code: 'ERR_UNAUTHORIZED',
  }, { headers: { 'www-authenticate': 'Bearer' } });
}

/** Whether an Authorization header carries the token (see bearerMatches). */
function bearerCheck(token: string): (authorization: string | undefined) => boolean {
  const wanted = createHash('sha256').update(Buffer.from(token, 'utf8')).digest();
  return (authorization) => bearerMatches(authorization, wanted);
}

/**
 * Compared as bytes: node hands header bytes over as latin1, the config's token is UTF-8 (what curl sends).
 * SHA-256 digests of both are compared, so the time taken tells nothing, not even the token's length.
 */
function bearerMatches(authorization: string | undefined, wanted: Buffer): boolean {
  const match = /^bearer +(.+)$/i.exec(authorization ?? '');
  const given = createHash('sha256').update(Buffer.from(match?.[1] ?? '', 'latin1')).digest();
  return timingSafeEqual(given, wanted) && match !== null;
}

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
}

/**
 * The listener a request arrived on: its port is the socket's (the actual one when `http.port` is 0, and
 * whatever port an embedding host listens on). Injected requests (light-my-request) have none: 0.
 */
export function listenerOf(request: FastifyRequest, settings: GuardSettings): ListenerIdentity {
  return { host: settings.host, port: request.socket.localPort ?? 0, allowedHosts: settings.allowedHosts };
}

/** The checks of http-guards in their order (Host, then for writes Origin/Sec-Fetch-Site and a JSON body). */
export function refusalOf(request: FastifyRequest, settings: GuardSettings): Refusal | undefined {
  const listener = listenerOf(request, settings);
  return checkHost(request.headers, listener)
    ?? checkRequestOrigin(request.headers, request.method, listener)
    ?? checkContentType(request.headers, request.method);
}

/**
 * The onRequest hook of every route of the API, 404s and 405s included: it runs before routing decides
 * anything and before a body is read. A refusal is answered and logged as one throttled warning per kind
 * (never one line per request: a page or a scanner could send thousands).
 */
export function guardRequests(settings: GuardSettings, refusals: ThrottledLog): onRequestHookHandler {
  return (request, reply, done) => {
    const refusal = refusalOf(request, settings);
    if (refusal === undefined) return done();
    sendRefusal(request, reply, refusal, refusals);
  };
}

/** Answers a refused request (also used where Fastify answers before any hook, see frameworkErrors). */
export function sendRefusal(request: FastifyRequest, reply: FastifyReply, refusal: Refusal, refusals: ThrottledLog): void {
  refusals.warn(`refused ${refusal.status}`, 'http request refused (a web page or a misconfigured client?)', () => ({ status: refusal.status, method: request.method, reason: refusal.error }));
  void reply.code(refusal.status).send({ error: refusal.error });
}

/**
 * The onRequest hook of the write routes when a token is set: `Authorization: Bearer <token>`, the scheme
 * in any case (RFC 9110). It runs after routing, so an unknown path or a wrong method is a 404/405 rather
 * than a 401, as before.
 */
export function requireToken(token: string): onRequestHookHandler {
  const wanted = createHash('sha256').update(Buffer.from(token, 'utf8')).digest();
  return (request, _reply, done) => {
    if (bearerMatches(request.headers.authorization, wanted)) return done();
    done(new ApiError(401, { error: 'this endpoint needs Authorization: Bearer <token> (http.token in the config)' }, { headers: { 'www-authenticate': 'Bearer' } }));
  };
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

import type { FastifyInstance } from 'fastify';
import { jsonNestsDeeperThan, MAX_BODY_DEPTH } from '../http-guards';
import { ApiError } from './api-error';

/** The largest request body the API reads (a rule definition is a few hundred bytes). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Makes `application/json` the only body type of this (encapsulated) Fastify context: the default parsers
 * (text/plain among them) are removed, so any other type is a 415 and never read. Bodies are read up to
 * MAX_BODY_BYTES (413 beyond) and refused before JSON.parse when they nest deeper than MAX_BODY_DEPTH:
 * the rule validation walks a body recursively and a deep one would overflow the stack (a 500).
 * An empty body parses as undefined: a POST that names the type but sends nothing is fine, and a PUT's
 * body schema refuses it.
 */
export function acceptJsonBodiesOnly(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_request, text, done) => {
    const body = text as string;
    if (body.length === 0) return done(null, undefined);
    if (jsonNestsDeeperThan(body, MAX_BODY_DEPTH)) {
      return done(ApiError.badRequest(`the body is nested deeper than ${MAX_BODY_DEPTH} levels of arrays and objects; a rule definition needs about 6`), undefined);
    }
    try {
      // JSON.parse, not a reviver-based "secure" parse: an own __proto__ key stays an own data property,
      // and the handlers only ever copy bodies with spread (CreateDataProperty), never assign them
      done(null, JSON.parse(body) as unknown);
    } catch (error) {
      done(ApiError.badRequest(`the body is not JSON: ${(error as Error).message}`), undefined);
    }
  });
}

import { isIP } from 'node:net';
import path from 'node:path';

/**
 * The request checks of the HTTP API, as pure functions of the request's headers: the web pages an
 * operator visits must not be able to drive the API (cross-site writes, DNS rebinding). They do not
 * depend on the HTTP layer: http/request-guards.ts calls them from the API's Fastify onRequest hook.
 */

/** What the checks need to know about the listener. */
export interface ListenerIdentity {
  /** The address the listener was asked to bind (`http.host`): `127.0.0.1`, `0.0.0.0`, `sluice.lan` ... */
  readonly host: string;
  /** The port it listens on (the actual one when `http.port` is 0). */
  readonly port: number;
  /** `http.allowedHosts`: further names (optionally `name:port`) the Host header may carry. */
  readonly allowedHosts?: readonly string[] | undefined;
}

/** Headers as node:http gives them (lower-case names); a Fastify request's headers have the same shape. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A refused request: the status to answer and what the caller should change. */
export interface Refusal {
  readonly status: 403 | 415 | 421;
  readonly error: string;
}

const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

export function isWriteMethod(method: string): boolean {
  return WRITE_METHODS.has(method);
}

function header(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

/** `Host`/`authority` text → lower-case host name (IPv6 without brackets) and port; undefined when malformed. */
export function parseAuthority(authority: string): { readonly hostname: string; readonly port: number | undefined } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(authority.trim().toLowerCase());
  if (match === null) return undefined;
  const bracketed = match[1] as string;
  const hostname = bracketed.startsWith('[') ? bracketed.slice(1, -1) : bracketed.replace(/\.$/, '');
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { hostname, port };
}

const LOCAL_NAMES: ReadonlySet<string> = new Set(['localhost', 'localhost.localdomain']);
const WILDCARD_ADDRESSES: ReadonlySet<string> = new Set(['0.0.0.0', '::', '']);

/** True for addresses only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const name = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (LOCAL_NAMES.has(name)) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1' || name === '0:0:0:0:0:0:0:1' || name === '::ffff:127.0.0.1';
}

/**
 * The Host header must name this listener: an IP address (a browser sends an IP only when the page's own
 * origin is that IP, which DNS cannot rebind), `localhost`, the bound name, or one of `allowedHosts`.
 * A name such as `attacker.example` is what a DNS-rebinding page sends: refused with 421, reads included
 * (metrics and rule definitions would otherwise be readable by that page). The port is not compared:
 * rebinding changes what a name resolves to, never the port, and a proxy may forward from another port
 * (an allowed host written `name:port` does pin it). Requests without a Host header (HTTP/1.0 tools) do
 * not come from a browser and pass.
 */
export function checkHost(headers: RequestHeaders, listener: ListenerIdentity): Refusal | undefined {
  const given = header(headers, 'host');
  if (given === undefined) return undefined;
  const refuse = (): Refusal => ({
    status: 421,
    error: `the Host header "${given.slice(0, 100)}" does not name this endpoint; add it to http.allowedHosts in the config if a proxy or DNS name leads here`,
  });
  const authority = parseAuthority(given);
  if (authority === undefined) return refuse();
  const { hostname, port } = authority;
  for (const allowed of listener.allowedHosts ?? []) {
    const entry = parseAuthority(allowed);
    if (entry !== undefined && entry.hostname === hostname && (entry.port === undefined || entry.port === (port ?? 80))) return undefined;
  }
  const bound = listener.host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const ours = isIP(hostname) !== 0 || LOCAL_NAMES.has(hostname) || (!WILDCARD_ADDRESSES.has(bound) && hostname === bound);
  return ours ? undefined : refuse();
}

/**
 * A write (POST, PUT, DELETE, PATCH), and with `reads` any request, must not come from another site's page.
 * Browsers say where a request comes from: `Sec-Fetch-Site` (anything but `same-origin` or `none` is
 * refused) and `Origin` (it must be the origin the browser addressed, i.e. its host is this request's Host,
 * which checkHost accepted). `Origin: null` (sandboxed frames, file:// pages) is refused. A request with
 * neither header does not come from a browser (curl, scripts; the token guards those) and passes.
 * Reads of the API are checked too (`reads`): a cross-site page cannot read their answers, but it can
 * make them cost (a `no-cors` fetch loop opening a Kafka consumer group per request, holding every
 * stream slot). /metrics and the probes are read by scrapers and are left to the Host check.
 */
export function checkRequestOrigin(headers: RequestHeaders, method: string, listener: ListenerIdentity, options: { readonly reads?: boolean } = {}): Refusal | undefined {
  if (!isWriteMethod(method) && options.reads !== true) return undefined;
  const what = isWriteMethod(method) ? 'write' : 'request';
  const site = header(headers, 'sec-fetch-site')?.trim().toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, error: `cross-site ${what} refused (Sec-Fetch-Site: ${site.slice(0, 40)}): call the API from a page served by this endpoint, or from a script or curl` };
  }
  const origin = header(headers, 'origin');
  if (origin === undefined) return undefined;
  const refuse: Refusal = {
    status: 403,
    error: `cross-origin ${what} refused (Origin: ${origin.slice(0, 100)}): the API takes requests only from its own origin or from tools that send no Origin (curl, scripts)`,
  };
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return refuse;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return refuse;
  const target = header(headers, 'host') ?? `${listener.host}:${listener.port}`;
  const wanted = parseAuthority(target);
  const from = parseAuthority(parsed.host);
  if (wanted === undefined || from === undefined) return refuse;
  const defaultPort = parsed.protocol === 'https:' ? 443 : 80;
  const same = from.hostname === wanted.hostname && (from.port ?? defaultPort) === (wanted.port ?? defaultPort);
  return same ? undefined : refuse;
}

/**
 * A write that carries a body (or names its type) must say `application/json`: text/plain, form and
 * multipart bodies are what a page can send without a CORS preflight, so refusing them (415) leaves a
 * cross-origin page no way to send a body the server would read.
 */
export function checkContentType(headers: RequestHeaders, method: string): Refusal | undefined {
  if (!isWriteMethod(method)) return undefined;
  const type = header(headers, 'content-type');
  const length = header(headers, 'content-length');
  const hasBody = header(headers, 'transfer-encoding') !== undefined || (length !== undefined && length.trim() !== '0');
  if (type === undefined && !hasBody && method !== 'PUT') return undefined;
  const essence = type?.split(';')[0]?.trim().toLowerCase();
  if (essence === 'application/json') return undefined;
  return {
    status: 415,
    error: `a request body must be JSON: send Content-Type: application/json${type === undefined ? '' : ` (got ${type.slice(0, 60)})`}`,
  };
}

/**
 * Binding to an address other machines reach, with no token, would let anyone who reaches it change the
 * rules. Returns the message of the ConfigError that refuses such a config, or undefined.
 */
export function checkListenerExposure(host: string, token: string | undefined): string | undefined {
  if (token !== undefined || isLoopbackHost(host)) return undefined;
  return `binding the HTTP endpoint to ${host} (reachable from other machines) needs http.token: set token: \${env:SLUICE_API_TOKEN} (or \${file:/path}), or bind host: 127.0.0.1 and reach it through a proxy or SSH tunnel`;
}

/**
 * Deepest nesting of arrays and objects a request body may have. A rule definition nests about six deep
 * (rule, actions, action, fallbackActions, fallback, buffer); validation walks a body recursively, so a
 * 1 MiB body of `[[[[...` would overflow the stack (a 500) instead of being refused.
 */
export const MAX_BODY_DEPTH = 64;

/**
 * True when the JSON text nests arrays/objects deeper than `max`. One pass over the text, brackets inside
 * strings skipped; it runs before JSON.parse, so a deep body is never parsed, let alone walked.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Longest rule or action id the API takes in a path (ids are names; a longer one is a mistake or an attack). */
export const MAX_PATH_ID_LENGTH = 256;

/** Decodes one percent-encoded path segment; undefined when the encoding is malformed (a 400, not a 500). */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Where an action created through the API may keep its disk buffer: `dir` resolved against `dataDir`
 * (a relative one is taken relative to it) must stay inside it. Returns the absolute directory, or the
 * reason it is refused. Without a dataDir, no directory is accepted: directories then come from the
 * config file only.
 */
export function resolveApiBufferDir(dir: string, dataDir: string | undefined): { readonly dir: string } | { readonly error: string } {
  if (dataDir === undefined) {
    return { error: 'an action created through the API cannot set buffer.dir unless http.dataDir is configured; set http.dataDir in the config file, or define this rule there' };
  }
  const root = path.resolve(dataDir);
  const resolved = path.resolve(root, dir);
  const relative = path.relative(root, resolved);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    return { error: `buffer.dir must be inside http.dataDir (${root}); give a path relative to it, e.g. "buffers"` };
  }
  return { dir: resolved };
}

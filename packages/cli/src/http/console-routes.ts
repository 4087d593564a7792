import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface SluiceConsoleOptions {
  /**
   * The built console: a directory holding index.html and assets/. Default: the `assetsDir` of
   * @sluice/console (its `dist/`).
   */
  readonly assetsDir?: string | undefined;
}

/**
 * What index.html may load: its own scripts only (no inline script, no eval), API calls to its own origin,
 * never inside a frame (clickjacking). Styles: its own files, and the <style> elements CodeMirror creates at
 * run time when they carry this response's nonce (the app reads it from <meta name="csp-nonce">); no
 * other inline style.
 */
export function consoleCsp(styleNonce: string | undefined): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    styleNonce === undefined ? "style-src 'self'" : `style-src 'self' 'nonce-${styleNonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The first path segments of the console's client-side routes (packages/console/src/app.tsx): `/rules/x`
 * reloaded in the browser is index.html. A page under a new first segment is added here.
 */
export const CONSOLE_PAGES: readonly string[] = ['connectors', 'sources', 'rules', 'messages', 'cluster', 'login'];

/** Vite names every file under assets/ after a hash of its content: a changed file is a new URL. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html (and the few files beside it) are checked at every load, so a new build shows at once. */
const REVALIDATE = 'no-cache';

const BASE_TAG = /<base href="\/"\s*\/?>/;
/** Where the console wants its style nonce (packages/console/src/csp.ts). */
const NONCE_TAG = /<meta name="csp-nonce" content=""\s*\/?>/;

/**
 * The web console as a Fastify plugin: the built files of @sluice/console, mounted where it is registered
 * (`/` in `sluice run`, `/sluice` next to sluiceApi in a host service). index.html gets its
 * `<base href="/">` rewritten to the mount prefix + '/', so the app's routes and its relative API calls
 * (`api/rules` → `/sluice/api/rules`) live under the prefix; its client-side routes (`/rules/temp_hum`,
 * CONSOLE_PAGES) are index.html too; other paths are left to the API or the host (a 404, never the page).
 *
 *     await host.register(sluiceApi, { prefix: '/sluice', integration, token });
 *     await host.register(sluiceConsole, { prefix: '/sluice' });
 *
 * The files hold no data and are served to anyone (the app asks for the API token on its login page);
 * index.html carries a strict Content-Security-Policy (consoleCsp) with a fresh style nonce, and every answer `nosniff`.
 * Throws at registration when the console is not built (no index.html, or one without `<base href="/">`).
 */
export async function sluiceConsole(app: FastifyInstance, options: SluiceConsoleOptions = {}): Promise<void> {
  const build = findConsoleBuild(options.assetsDir);
  if ('missing' in build) throw new Error(build.missing);
  const root = build.dir;
  const index = mountedIndex(root, app.prefix);
  // split once where the nonce goes: each answer is then two concatenations and 16 random bytes
  const nonceAt = NONCE_TAG.exec(index);
  const [head, tail] = nonceAt === null ? [index, undefined] : [index.slice(0, nonceAt.index), index.slice(nonceAt.index + nonceAt[0].length)];
  const sendIndex = (reply: FastifyReply): FastifyReply => {
    const nonce = tail === undefined ? undefined : randomBytes(16).toString('base64');
    const html = tail === undefined ? head : `${head}<meta name="csp-nonce" content="${nonce}">${tail}`;
    return reply.headers({ 'cache-control': REVALIDATE, 'content-security-policy': consoleCsp(nonce), 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' })
      .type('text/html; charset=utf-8').send(html);
  };

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  await app.register(fastifyStatic, {
    root: path.join(root, 'assets'),
    prefix: '/assets/',
    index: false,
    dotfiles: 'deny',
    cacheControl: false,
    setHeaders: (res) => res.setHeader('cache-control', IMMUTABLE),
  });

  // the few files beside index.html (favicon.svg ...), known at start: a route each, nothing else read
  for (const name of readdirSync(root)) {
    if (name === 'index.html' || name.startsWith('.') || !statSync(path.join(root, name)).isFile()) continue;
    app.get(`/${name}`, async (_request, reply) => reply.header('cache-control', REVALIDATE).sendFile(name, root, { cacheControl: false }));
  }

  // client-side routes: the page itself. Named rather than a `/*` catch-all: mounted at the prefix of the API
  // (`sluice run`), a catch-all would take over the API's unknown paths (its 401 before 404, its 400 for an
  // over-long id), and a mistyped /metrics would get a page instead of a 404
  app.get('/', async (_request, reply) => sendIndex(reply));
  for (const page of CONSOLE_PAGES) {
    app.get(`/${page}`, async (_request, reply) => sendIndex(reply));
    app.get(`/${page}/*`, async (_request, reply) => sendIndex(reply));
  }
}

/**
 * The built console's directory, or why there is none (the package not installed, or not built: index.html
 * or assets/ missing). `sluice run` checks first and says so in its log rather than failing to start.
 */
export function findConsoleBuild(assetsDir?: string): { readonly dir: string } | { readonly missing: string } {
  let dir: string;
  try {
    dir = path.resolve(assetsDir ?? defaultAssetsDir());
  } catch (error) {
    return { missing: `the console package @sluice/console cannot be loaded (${(error as Error).message.split('\n')[0] ?? ''})` };
  }
  for (const needed of ['index.html', 'assets']) {
    const file = path.join(dir, needed);
    if (!existsSync(file)) return { missing: `the console is not built: ${file} is missing (run npm run build -w @sluice/console, or set http.console: false)` };
  }
  return { dir };
}

/** index.html with the mount prefix as its base; read once (it is small and changes only with a build). */
function mountedIndex(root: string, prefix: string): string {
  const file = path.join(root, 'index.html');
  const html = readFileSync(file, 'utf8');
  if (!BASE_TAG.test(html)) throw new Error(`${file} has no <base href="/"> to point at the mount prefix; is it the @sluice/console build?`);
  const base = `${prefix.replace(/\/+$/, '')}/`;
  return html.replace(BASE_TAG, () => `<base href="${escapeAttribute(base)}">`);
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Loaded when needed: @sluice/console only says where its build is (it holds no code the server runs). */
function defaultAssetsDir(): string {
  return (require('@sluice/console') as { assetsDir: string }).assetsDir;
}

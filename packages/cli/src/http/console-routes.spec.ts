import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { connectorModule, createIntegration, sourceModule, type Integration } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { consoleCsp, sluiceConsole } from './console-routes';
import { sluiceApi } from './sluice-api';

/** A console build as Vite lays it out: index.html with `<base href="/">`, hashed assets, a favicon. */
function fakeBuild(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-console-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html><head><base href="/" /><meta name="csp-nonce" content="" /><script type="module" src="./assets/index-AbC123.js"></script></head><body><div id="app"></div></body></html>');
  writeFileSync(path.join(dir, 'assets', 'index-AbC123.js'), 'console.log("console");');
  writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(dir, '.secret'), 'not served');
  return dir;
}

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

describe(sluiceConsole.name, () => {
  let assetsDir: string;
  let host: FastifyInstance;
  let integration: Integration;

  const get = (target: string, headers: Record<string, string> = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      // node:http, not fetch: the path is sent exactly as written (`..` and %2e included)
      const port = (host.server.address() as AddressInfo).port;
      const req = request({ host: '127.0.0.1', port, path: target, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end();
    });

  beforeEach(async () => {
    assetsDir = fakeBuild();
    integration = await createIntegration({
      modules: [sourceModule(new InMemorySource('plant')), connectorModule(new InMemoryConnector('store')), sqlModule()],
      rules: [{ id: 'temp_hum', sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'store' }] }],
    });
  });

  afterEach(async () => {
    await host.close();
    rmSync(assetsDir, { recursive: true, force: true });
  });

  describe('at / beside the API (sluice run)', () => {
    beforeEach(async () => {
      host = Fastify();
      await host.register(sluiceApi, { integration, token: 's3cret' });
      await host.register(sluiceConsole, { assetsDir });
      await host.listen({ host: '127.0.0.1', port: 0 });
    });

    it('serves index.html with its base at /, a strict CSP with a fresh style nonce, no caching and nosniff', async () => {
      const index = await get('/');
      expect(index.status).toBe(200);
      expect(index.text).toContain('<base href="/">');
      const nonce = /<meta name="csp-nonce" content="([A-Za-z0-9+/=]{24})">/.exec(index.text)?.[1] as string;
      expect(index.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': consoleCsp(nonce), 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' });
      const csp = index.headers['content-security-policy'] as string;
      for (const directive of ["script-src 'self';", `style-src 'self' 'nonce-${nonce}';`, "connect-src 'self';", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
      expect(csp).not.toContain('unsafe');
      expect((await get('/')).text).not.toContain(nonce); // one per answer
    });

    it('falls back to index.html for the client-side routes', async () => {
      for (const route of ['/connectors', '/connectors/new', '/sources/plant', '/rules', '/rules/temp_hum', '/rules/temp_hum/edit', '/messages', '/login']) {
        const answer = await get(route);
        expect([route, answer.status, answer.text.includes('<div id="app">')]).toEqual([route, 200, true]);
      }
      expect((await get('/nope')).status).toBe(404);
    });

    it('serves the hashed assets as immutable and the favicon revalidated; nothing else of the directory', async () => {
      const script = await get('/assets/index-AbC123.js');
      expect([script.status, script.text]).toEqual([200, 'console.log("console");']);
      expect(script.headers).toMatchObject({ 'content-type': expect.stringContaining('javascript'), 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' });
      const icon = await get('/favicon.svg');
      expect([icon.status, icon.headers['cache-control'], icon.headers['content-type']]).toEqual([200, 'no-cache', expect.stringContaining('svg')]);
      expect((await get('/assets/missing.js')).status).toBe(404);
      expect((await get('/assets')).status).toBe(404);
      expect((await get('/.secret')).text).not.toContain('not served');
      for (const escape of ['/assets/../index.html', '/assets/%2e%2e/index.html', '/assets/..%2f..%2fetc%2fpasswd', '/assets/.hidden']) {
        expect([escape, (await get(escape)).status]).toEqual([escape, 403]);
      }
    });

    it('leaves the API its routes, with the token: the page never stands in for an API path', async () => {
      expect((await get('/api/rules')).status).toBe(401);
      expect((await get('/api/rules', { authorization: 'Bearer s3cret' })).status).toBe(200);
      expect((await get('/metrics')).text).toContain('sluice_rule_matched_total');
      expect(JSON.parse((await get('/healthz')).text)).toEqual({ status: 'ok' });
      // unknown API paths stay the API's: the token first, then its 404
      expect((await get('/api/nope')).status).toBe(401);
      const missing = await get('/api/nope', { authorization: 'Bearer s3cret' });
      expect([missing.status, JSON.parse(missing.text)]).toEqual([404, { error: expect.stringContaining('no route for /api/nope') }]);
      expect((await get(`/api/rules/${'a'.repeat(5000)}`, { authorization: 'Bearer s3cret' })).status).toBe(414); // the router's, as without the console
    });
  });

  describe('mounted under /sluice in a host service', () => {
    beforeEach(async () => {
      host = Fastify();
      host.get('/hello', async () => ({ host: true }));
      await host.register(sluiceApi, { prefix: '/sluice', integration, token: 's3cret' });
      await host.register(sluiceConsole, { prefix: '/sluice', assetsDir });
      await host.listen({ host: '127.0.0.1', port: 0 });
    });

    it('rewrites the base to the prefix, so routes and relative API calls stay under it', async () => {
      for (const target of ['/sluice', '/sluice/', '/sluice/rules/temp_hum']) {
        const answer = await get(target);
        expect([target, answer.status, answer.text.includes('<base href="/sluice/">')]).toEqual([target, 200, true]);
      }
      expect((await get('/sluice/assets/index-AbC123.js')).status).toBe(200);
      expect((await get('/sluice/api/rules')).status).toBe(401);
      expect((await get('/sluice/api/rules', { authorization: 'Bearer s3cret' })).status).toBe(200);
      expect(JSON.parse((await get('/hello')).text)).toEqual({ host: true });
      expect((await get('/rules')).status).toBe(404); // outside the prefix: the host's
    });
  });

  describe('when the console is not built', () => {
    it('refuses to register, saying how to build it', async () => {
      host = Fastify();
      rmSync(path.join(assetsDir, 'index.html'));
      await expect(host.register(sluiceConsole, { assetsDir }).ready()).rejects.toThrow(/not built.*npm run build -w @sluice\/console/);
    });

    it('refuses an index.html without <base href="/">', async () => {
      host = Fastify();
      writeFileSync(path.join(assetsDir, 'index.html'), '<html><head></head></html>');
      await expect(host.register(sluiceConsole, { assetsDir }).ready()).rejects.toThrow(/<base href="\/">/);
    });
  });
});

import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { connectorModule, createIntegration, sourceModule, type Integration } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { sluiceApi } from './sluice-api';

interface Answer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  json(): unknown;
}

/**
 * A service of its own that mounts the API under /sluice next to a route and a body type of its own. Real
 * requests on loopback rather than Fastify's inject(): light-my-request needs cookie 2, an ES module that
 * jest's CommonJS runtime cannot load.
 */
describe(sluiceApi.name, () => {
  let integration: Integration;
  let host: FastifyInstance;

  const inject = (options: { method: string; url: string; headers?: Record<string, string>; payload?: string }): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers = options.headers ?? {};
      const port = (host.server.address() as AddressInfo).port;
      const req = request({ host: '127.0.0.1', port, method: options.method, path: options.url, headers, setHost: headers['host'] === undefined, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as unknown });
        });
      });
      req.on('error', reject);
      req.end(options.payload);
    });

  beforeEach(async () => {
    integration = await createIntegration({
      modules: [sourceModule(new InMemorySource('plant')), connectorModule(new InMemoryConnector('store')), sqlModule()],
      rules: [{ id: 'temp_hum', sql: 'SELECT payload.temp as temp FROM "t/#"', actions: [{ connector: 'store', template: '${temp}' }] }],
    });
    await integration.start();
    // a host body limit far below a rule definition: the API's own limit (1 MiB) applies to its routes
    host = Fastify({ bodyLimit: 64 });
    host.post('/echo', async (request) => ({ echoed: request.body }));
    await host.register(sluiceApi, { prefix: '/sluice', integration, token: 's3cret' });
    await host.listen({ host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await host.close();
    await integration.stop();
  });

  const rule = JSON.stringify({ sql: 'SELECT * FROM "x"', description: 'a rule written through the API mounted in a host service' });

  const withToken = { authorization: 'Bearer s3cret' };

  it('serves the endpoints under the prefix, beside the host route', async () => {
    expect((await inject({ method: 'GET', url: '/sluice/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await inject({ method: 'GET', url: '/sluice/api/rules', headers: withToken })).json()).toEqual([expect.objectContaining({ id: 'temp_hum' })]);
    expect((await inject({ method: 'GET', url: '/sluice/metrics' })).body).toContain('sluice_rule_matched_total{rule="temp_hum"} 0');
    const echoed = await inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
    expect([echoed.statusCode, echoed.json()]).toEqual([200, { echoed: 'hi' }]);
  });

  it('takes reads under /sluice/api/ with the token only', async () => {
    const read = await inject({ method: 'GET', url: '/sluice/api/rules' });
    expect([read.statusCode, read.json()]).toEqual([401, { error: expect.stringContaining('Bearer'), code: 'ERR_UNAUTHORIZED' }]);
    expect((await inject({ method: 'GET', url: '/sluice/api/nope' })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/sluice/nope' })).statusCode).toBe(404);
  });

  it('takes writes with the token only, with bodies over the host limit', async () => {
    const put = (headers: Record<string, string>) =>
      inject({ method: 'PUT', url: '/sluice/api/rules/x', headers: { 'content-type': 'application/json', ...headers }, payload: rule });
    expect((await put({})).statusCode).toBe(401);
    expect((await put({ authorization: 'Bearer wrong' })).statusCode).toBe(401);
    expect(integration.rules().map((r) => r.id)).toEqual(['temp_hum']);
    expect(rule.length).toBeGreaterThan(64);
    expect((await put({ authorization: 'Bearer s3cret' })).statusCode).toBe(201);
    expect(integration.rules().map((r) => r.id)).toEqual(['temp_hum', 'x']);
  });

  it('checks Host, Origin and the body type on its own routes only', async () => {
    const rebound = { host: 'attacker.example' };
    expect((await inject({ method: 'GET', url: '/sluice/api/rules', headers: { ...rebound, ...withToken } })).statusCode).toBe(421);
    expect((await inject({ method: 'POST', url: '/echo', headers: { ...rebound, origin: 'http://attacker.example', 'content-type': 'text/plain' }, payload: 'hi' })).statusCode).toBe(200);
    const crossSite = await inject({ method: 'POST', url: '/sluice/api/rules/temp_hum/disable', headers: { origin: 'http://evil.example', authorization: 'Bearer s3cret' } });
    expect([crossSite.statusCode, crossSite.json()]).toEqual([403, { error: expect.stringContaining('cross-origin write refused') }]);
    const text = await inject({ method: 'PUT', url: '/sluice/api/rules/x', headers: { 'content-type': 'text/plain', authorization: 'Bearer s3cret' }, payload: rule });
    expect([text.statusCode, text.json()]).toEqual([415, { error: expect.stringContaining('application/json') }]);
    expect(integration.rules().map((r) => [r.id, r.enabled])).toEqual([['temp_hum', true]]);
  });

  it('answers unknown paths and methods under the prefix as the API does, and leaves the host its own 404', async () => {
    const missing = await inject({ method: 'GET', url: '/sluice/nope' });
    expect([missing.statusCode, missing.json()]).toEqual([404, { error: expect.stringContaining('no route for /sluice/nope') }]);
    const wrongMethod = await inject({ method: 'POST', url: '/sluice/metrics' });
    expect([wrongMethod.statusCode, wrongMethod.headers['allow']]).toEqual([405, 'GET']);
    const hostMissing = await inject({ method: 'GET', url: '/nope' });
    expect([hostMissing.statusCode, hostMissing.json()]).toEqual([404, expect.objectContaining({ message: 'Route GET:/nope not found' })]);
  });
});

import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError, type ConnectorStatus, createIntegration, type Logger, silentLogger, connectorModule, sourceModule, type Integration } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { startHttpServer, type HttpEndpoint, type HttpServerOptions } from './http-server';

/** An in-memory source that follows rule changes, as the MQTT sources do. */
class UpdatableSource extends InMemorySource {
  async updateFilters(filters: readonly string[]): Promise<void> {
    this.filters = filters;
  }
}

/** An in-memory connector whose connection state a test sets. */
class ReportingConnector extends InMemoryConnector {
  current: ConnectorStatus = { state: 'connected' };

  status(): ConnectorStatus {
    return this.current;
  }
}

describe(startHttpServer.name, () => {
  let app: Integration;
  let source: UpdatableSource;
  let connector: ReportingConnector;
  let endpoint: HttpEndpoint;
  let base: string;

  /** Log lines by level, to show that hostile requests never write error lines. */
  let lines: Array<[string, string]>;
  const recording = (): Logger => {
    const logger: Logger = {
      debug: (message) => void lines.push(['debug', message]),
      info: (message) => void lines.push(['info', message]),
      warn: (message) => void lines.push(['warn', message]),
      error: (message) => void lines.push(['error', message]),
      child: () => logger,
    };
    return logger;
  };

  async function setup(token?: string, options: Partial<HttpServerOptions> = {}): Promise<void> {
    lines = [];
    source = new UpdatableSource('plant');
    connector = new ReportingConnector('store');
    app = await createIntegration({
      modules: [sourceModule(source), connectorModule(connector), sqlModule()],
      rules: [{ id: 'temp_hum', sql: 'SELECT payload.temp as temp FROM "t/#"', actions: [{ connector: 'store', template: '${temp}' }] }],
    });
    await app.start();
    endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0, ...(token === undefined ? {} : { token }), ...options }, recording());
    base = `http://127.0.0.1:${endpoint.address.port}`;
    lines = []; // the specs look at what requests log, not at the start-up lines (the console's URL)
  }

  afterEach(async () => {
    await endpoint.close();
    await app.stop();
  });

  const json = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const put = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    json(path, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

  /** A request with headers fetch will not send as given (Host) or at all; resolves with status and JSON body. */
  const raw = (method: string, target: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: endpoint.address.port, method, path: target, headers, setHost: headers['host'] === undefined }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(body);
    });

  describe('without a token', () => {
    beforeEach(() => setup());

    it('GET /healthz, /readyz and /metrics answer', async () => {
      expect(await json('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      expect((await json('/readyz')).status).toBe(200);
      await source.push('t/1', '{"temp": 21}').settled;
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain('sluice_rule_matched_total{rule="temp_hum"} 1');
      expect(text).toContain('sluice_action_success_total{action="temp_hum:store"} 1');
      expect(text).toContain('sluice_action_fallback_success_total{action="temp_hum:store"} 0');
      expect(text).toContain('sluice_source_received_total{source="plant"} 1');
      expect(text).toContain('sluice_source_acknowledged_total{source="plant"} 1');
      expect(text).toContain('sluice_source_pending{source="plant"} 0');
    });

    it('GET /readyz: ready while a connector buffers on disk, not while it is only reconnecting', async () => {
      connector.current = { state: 'buffering', reason: 'Connection closed; records are kept in the disk buffer of action "temp_hum:store"' };
      expect(await json('/readyz')).toMatchObject({ status: 200, body: { ready: true, connectors: { store: connector.current } } });
      connector.current = { state: 'connecting', reason: 'Connection closed' };
      expect(await json('/readyz')).toMatchObject({ status: 503, body: { ready: false, connectors: { store: { state: 'connecting', reason: 'Connection closed' } } } });
    });

    it('PUT /api/rules/:id creates a rule (201) that receives messages at once', async () => {
      const created = await put('/api/rules/hum', { sql: 'SELECT payload.hum as hum FROM "h/+"', actions: [{ connector: 'store', template: 'hum=${hum}' }] });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: 'hum', topics: ['h/+'], enabled: true, actions: [{ id: 'hum:store', connector: 'store' }] });
      expect([...source.filters].sort()).toEqual(['h/+', 't/#']);
      await source.push('h/1', '{"hum": 40}').settled;
      expect(connector.records.map((r) => r.rendered)).toEqual(['hum=40']);
    });

    it('PUT /api/rules/:id replaces a rule (200); new messages go to the new definition', async () => {
      const replaced = await put('/api/rules/temp_hum', { sql: 'SELECT payload.temp * 10 as temp FROM "t/#"', actions: [{ connector: 'store', template: 'x${temp}' }] });
      expect(replaced.status).toBe(200);
      await source.push('t/1', '{"temp": 2}').settled;
      expect(connector.records.map((r) => r.rendered)).toEqual(['x20']);
      expect((await json('/api/rules/temp_hum')).body).toMatchObject({ sql: 'SELECT payload.temp * 10 as temp FROM "t/#"', definition: { id: 'temp_hum', enabled: true } });
    });

    it('PUT refuses a syntax error with 400, the message, line and column, and changes nothing', async () => {
      const refused = await put('/api/rules/temp_hum', { sql: 'SELECT payload.temp\nFROM WHERE', actions: [] });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'ERR_RULE_SYNTAX', line: 2, column: 6 });
      expect(String(refused.body['error'])).toContain('sql: rule "temp_hum"');
      await source.push('t/1', '{"temp": 3}').settled;
      expect(connector.records.map((r) => r.rendered)).toEqual(['3']);
      expect((await json('/api/rules')).body).toEqual([expect.objectContaining({ id: 'temp_hum', sql: 'SELECT payload.temp as temp FROM "t/#"' })]);
    });

    it('PUT refuses a bad action, a body that is not JSON, and an id that differs from the path', async () => {
      const badAction = await put('/api/rules/n', { sql: 'SELECT * FROM "n"', actions: [{ connector: 'kafak' }] });
      expect(badAction).toMatchObject({ status: 400, body: { code: 'ERR_CONFIG_INVALID', issues: [{ path: 'actions[0].connector', message: 'no connector has the id "kafak" (known: store)' }] } });
      expect(await put('/api/rules/n', '{"sql": ')).toMatchObject({ status: 400, body: { error: expect.stringContaining('the body is not JSON') } });
      expect(await put('/api/rules/n', { id: 'm', sql: 'SELECT * FROM "n"' })).toMatchObject({ status: 400, body: { error: 'the body\'s id "m" differs from the id in the path "n"' } });
      expect(await put('/api/rules/n', { sql: 'SELECT * FROM "n"', typo: 1 })).toMatchObject({ status: 400, body: { issues: [{ path: '', message: expect.stringContaining('typo') }] } });
      expect(app.rules().map((r) => r.id)).toEqual(['temp_hum']);
    });

    it('DELETE /api/rules/:id removes a rule; 404 for an unknown one', async () => {
      expect(await json('/api/rules/temp_hum', { method: 'DELETE' })).toEqual({ status: 200, body: { removed: 'temp_hum' } });
      expect(app.rules()).toEqual([]);
      expect(source.filters).toEqual([]);
      expect((await json('/api/rules/temp_hum', { method: 'DELETE' })).status).toBe(404);
    });

    it('GET /api/actions and /api/actions/:id show an action with its rule, connector and metrics', async () => {
      await source.push('t/1', '{"temp": 1}').settled;
      const action = await json('/api/actions/temp_hum:store');
      expect(action).toMatchObject({ status: 200, body: { id: 'temp_hum:store', rule: 'temp_hum', connector: 'store', metrics: { matched: 1, success: 1 } } });
      expect((await json('/api/actions')).body).toEqual([action.body]);
      expect((await json('/api/actions/nope')).status).toBe(404);
    });

    it('enables, disables and resets a rule', async () => {
      expect((await json('/api/rules/temp_hum/disable', { method: 'POST' })).status).toBe(200);
      expect(app.rules()[0]?.enabled).toBe(false);
      await json('/api/rules/temp_hum/enable', { method: 'POST' });
      await source.push('t/1', '{"temp": 1}').settled;
      await json('/api/rules/temp_hum/reset-metrics', { method: 'POST' });
      expect(app.metrics.rule('temp_hum')).toMatchObject({ matched: 0 });
    });

    it('answers 404 for unknown routes and 405 for a wrong method', async () => {
      expect((await json('/nope')).status).toBe(404);
      expect((await json('/api/rules/temp_hum/enable')).status).toBe(405);
    });
  });

  describe('with a token', () => {
    beforeEach(() => setup('s3cret'));

    it('refuses every write endpoint without the bearer token and changes nothing', async () => {
      const definition = { sql: 'SELECT * FROM "x"' };
      expect((await put('/api/rules/x', definition)).status).toBe(401);
      expect((await put('/api/rules/x', definition, { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await json('/api/rules/temp_hum', { method: 'DELETE' })).status).toBe(401);
      expect((await json('/api/rules/temp_hum/disable', { method: 'POST' })).status).toBe(401);
      expect(app.rules().map((r) => [r.id, r.enabled])).toEqual([['temp_hum', true]]);
    });

    it('refuses every read under /api/ without the token too (401 ERR_UNAUTHORIZED), unknown paths included', async () => {
      for (const target of ['/api/rules', '/api/rules/temp_hum', '/api/actions', '/api/actions/temp_hum:store', '/api/nope']) {
        const answer = await raw('GET', target, {});
        expect([target, answer.status, answer.body, answer.headers['www-authenticate']]).toEqual([target, 401, { error: expect.stringContaining('Authorization: Bearer <token>'), code: 'ERR_UNAUTHORIZED' }, 'Bearer']);
      }
      expect((await raw('GET', '/api/rules', { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await raw('OPTIONS', '/api/rules', { authorization: 'Bearer s3cret' })).status).toBe(405);
      expect((await raw('GET', '/api/rules', { authorization: 'Bearer s3cret' })).status).toBe(200);
      expect(lines.filter(([level]) => level !== 'debug')).toEqual([]);
    });

    it('leaves /metrics, /healthz and /readyz open to probes and scrapers', async () => {
      for (const target of ['/metrics', '/healthz', '/readyz']) expect([target, (await fetch(`${base}${target}`)).status]).toEqual([target, 200]);
    });

    it('accepts writes with the token', async () => {
      expect((await put('/api/rules/x', { sql: 'SELECT * FROM "x"' }, { authorization: 'Bearer s3cret' })).status).toBe(201);
      expect((await json('/api/rules/x', { method: 'DELETE', headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    });

    it('checks Host and Origin before the token: a rebinding page learns nothing, not even that a token is needed', async () => {
      expect((await raw('GET', '/api/rules', { host: 'attacker.example' })).status).toBe(421);
      expect((await raw('POST', '/api/rules/temp_hum/disable', { origin: 'http://evil.example', authorization: 'Bearer s3cret' })).status).toBe(403);
    });
  });

  describe('with a token that is not ASCII', () => {
    beforeEach(() => setup('pässwört'));

    it('takes the token as the UTF-8 bytes curl sends, under a scheme in any case (RFC 9110); refuses others', async () => {
      // node reads header bytes as latin1: the token's UTF-8 bytes arrive as 'pÃ¤sswÃ¶rt'
      const utf8AsLatin1 = Buffer.from('pässwört', 'utf8').toString('latin1');
      const status = async (authorization: string): Promise<number> => (await raw('POST', '/api/rules/temp_hum/disable', { authorization })).status;
      expect(await status(`Bearer ${utf8AsLatin1}`)).toBe(200);
      expect(await status(`bearer ${utf8AsLatin1}`)).toBe(200);
      expect(await status(`Bearer ${utf8AsLatin1}x`)).toBe(401);
      expect(await status('Bearer pässwört')).toBe(401); // latin1 bytes: not the configured UTF-8 token
      expect(await status(`Basic ${utf8AsLatin1}`)).toBe(401);
    });
  });

  describe('a web page in the operator\'s browser (issue #10, item 9)', () => {
    beforeEach(() => setup());
    const own = (): string => `http://127.0.0.1:${endpoint.address.port}`;

    it('refuses a write from another origin (a simple CORS request needs no preflight) and changes nothing', async () => {
      const refused = await raw('POST', '/api/rules/temp_hum/disable', { origin: 'http://evil.example', 'content-type': 'text/plain' });
      expect(refused).toMatchObject({ status: 403, body: { error: expect.stringContaining('cross-origin write refused') } });
      expect((await raw('DELETE', '/api/rules/temp_hum', { origin: 'null' })).status).toBe(403);
      expect((await raw('POST', '/api/rules/temp_hum/disable', { origin: 'http://localhost:3000' })).status).toBe(403); // another port is another origin
      expect(app.rules().map((r) => [r.id, r.enabled])).toEqual([['temp_hum', true]]);
    });

    it('refuses a write a browser marks cross-site or same-site, and takes one from its own origin', async () => {
      expect((await raw('POST', '/api/rules/temp_hum/disable', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      expect((await raw('POST', '/api/rules/temp_hum/disable', { 'sec-fetch-site': 'same-site' })).status).toBe(403);
      expect(app.rules()[0]?.enabled).toBe(true);
      expect((await raw('POST', '/api/rules/temp_hum/disable', { 'sec-fetch-site': 'same-origin', origin: own() })).status).toBe(200);
      expect(app.rules()[0]?.enabled).toBe(false);
    });

    it('takes request bodies only as application/json (415 for text/plain and forms)', async () => {
      const body = JSON.stringify({ sql: 'SELECT * FROM "x"' });
      expect(await raw('PUT', '/api/rules/x', { 'content-type': 'text/plain' }, body)).toMatchObject({ status: 415, body: { error: expect.stringContaining('application/json') } });
      expect((await raw('PUT', '/api/rules/x', { 'content-type': 'application/x-www-form-urlencoded' }, body)).status).toBe(415);
      expect((await raw('POST', '/api/rules/temp_hum/disable', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--')).status).toBe(415);
      expect(app.rules().map((r) => [r.id, r.enabled])).toEqual([['temp_hum', true]]);
      expect((await raw('PUT', '/api/rules/x', { 'content-type': 'application/json; charset=utf-8' }, body)).status).toBe(201);
    });

    it('refuses a Host that does not name the endpoint (DNS rebinding), reads included, with 421', async () => {
      const put = await raw('PUT', '/api/rules/x', { host: 'attacker.example:8081', 'content-type': 'application/json' }, JSON.stringify({ sql: 'SELECT * FROM "x"' }));
      expect(put).toMatchObject({ status: 421, body: { error: expect.stringContaining('http.allowedHosts') } });
      expect((await raw('GET', '/api/rules', { host: 'attacker.example' })).status).toBe(421);
      expect((await raw('GET', '/metrics', { host: 'attacker.example' })).status).toBe(421);
      expect(app.rules().map((r) => r.id)).toEqual(['temp_hum']);
      for (const host of [`127.0.0.1:${endpoint.address.port}`, `localhost:${endpoint.address.port}`, `[::1]:${endpoint.address.port}`, '10.1.2.3']) {
        expect([host, (await raw('GET', '/healthz', { host })).status]).toEqual([host, 200]);
      }
      expect(lines.filter(([level]) => level === 'error')).toEqual([]);
      expect(lines.filter(([level]) => level === 'warn')).toHaveLength(1); // one throttled line, not one per request
    });

    it('accepts the names of http.allowedHosts', async () => {
      await endpoint.close();
      endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0, allowedHosts: ['sluice.example.com', 'proxy.lan:8443'] }, silentLogger);
      expect((await raw('GET', '/healthz', { host: 'sluice.example.com' })).status).toBe(200);
      expect((await raw('GET', '/healthz', { host: 'proxy.lan:8443' })).status).toBe(200);
      expect((await raw('GET', '/healthz', { host: 'proxy.lan:9999' })).status).toBe(421);
      const write = await raw('POST', '/api/rules/temp_hum/disable', { host: 'sluice.example.com', origin: 'https://sluice.example.com', 'sec-fetch-site': 'same-origin' });
      expect(write.status).toBe(200);
    });
  });

  describe('malformed requests (issue #10, item 12)', () => {
    beforeEach(() => setup());

    it('answers bad percent-encoding in an id with 400 and no error line', async () => {
      for (const target of ['/api/rules/%E0%A4%A', '/api/actions/%E0%A4%A', '/api/rules/%E0%A4%A/enable']) {
        const method = target.endsWith('enable') ? 'POST' : 'GET';
        expect([target, (await raw(method, target, {})).status]).toEqual([target, 400]);
      }
      expect((await raw('GET', '/api/rules/%E0%A4%A', {})).body).toEqual({ error: expect.stringContaining('percent-encoding') });
      expect(lines.filter(([level]) => level !== 'debug')).toEqual([]);
    });

    it('answers a huge id, a body that is not an object and a wrong type with 400', async () => {
      expect((await raw('GET', `/api/rules/${'a'.repeat(5000)}`, {})).status).toBe(400);
      expect((await put('/api/rules/n', [1, 2])).status).toBe(400);
      expect((await put('/api/rules/n', 'null')).status).toBe(400);
      expect(await put('/api/rules/n', { sql: 42 })).toMatchObject({ status: 400, body: { code: 'ERR_CONFIG_INVALID' } });
      expect(await put('/api/rules/n', { sql: 'SELECT FROM' })).toMatchObject({ status: 400, body: { code: 'ERR_RULE_SYNTAX' } });
      expect(lines.filter(([level]) => level === 'error' || level === 'warn')).toEqual([]);
    });

    it('answers a body nested deeper than a rule definition needs with 400, not a 500 from a stack overflow', async () => {
      const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
      const answer = await put('/api/rules/n', `{"sql":"SELECT * FROM \\"n\\"","actions":[{"connector":"store","x":${deep}}]}`);
      expect(answer).toMatchObject({ status: 400, body: { error: expect.stringContaining('nested deeper than 64') } });
      // brackets inside strings are text, not nesting
      expect((await put('/api/rules/n', { sql: 'SELECT * FROM "n"', description: '['.repeat(1000) })).status).toBe(201);
      expect(lines.filter(([level]) => level === 'error' || level === 'warn')).toEqual([]);
    });

    it('answers 405 with Allow for a method a route does not take', async () => {
      for (const [method, target, allow] of [['POST', '/metrics', 'GET'], ['OPTIONS', '/api/rules', 'GET'], ['PATCH', '/api/rules/temp_hum', 'GET, PUT, DELETE'], ['GET', '/api/rules/temp_hum/enable', 'POST']] as const) {
        const answer = await raw(method, target, {});
        expect([method, target, answer.status, answer.headers['allow']]).toEqual([method, target, 405, allow]);
      }
    });
  });

  describe('where a rule written through the API may put files (issue #10, item 10)', () => {
    let dataDir: string;
    beforeEach(() => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-api-data-'));
    });
    afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
    const withDir = (dir: string, fallback = false): object => ({
      sql: 'SELECT * FROM "x"',
      actions: [fallback ? { connector: 'store', fallbackActions: [{ connector: 'store', buffer: { dir } }] } : { connector: 'store', buffer: { dir } }],
    });

    it('refuses a buffer.dir without http.dataDir, in an action or a fallback', async () => {
      await setup();
      expect(await put('/api/rules/x', withDir('/etc/sluice-owned'))).toMatchObject({ status: 400, body: { issues: [{ path: 'actions[0].buffer.dir', message: expect.stringContaining('http.dataDir') }] } });
      expect(await put('/api/rules/x', withDir('/tmp/x', true))).toMatchObject({ status: 400, body: { issues: [{ path: 'actions[0].fallbackActions[0].buffer.dir' }] } });
      expect(app.rules().map((r) => r.id)).toEqual(['temp_hum']);
    });

    it('takes a buffer.dir inside http.dataDir (relative to it), refuses one outside', async () => {
      await setup(undefined, { dataDir });
      expect((await put('/api/rules/x', withDir('../escape'))).status).toBe(400);
      expect((await put('/api/rules/x', withDir('/var/tmp'))).status).toBe(400);
      expect((await put('/api/rules/x', withDir('buffers'))).status).toBe(201);
      expect(app.ruleDefinition('x')?.actions[0]).toMatchObject({ buffer: { dir: path.join(dataDir, 'buffers') } });
      expect((await put('/api/rules/y', withDir(path.join(dataDir, 'buffers')))).status).toBe(201); // as read back
    });
  });

  describe('secrets in answers (issue #10, item 11)', () => {
    const secret = 'api-key-123456';
    beforeEach(async () => {
      // rule "hook" came from the config file, where its action's template was `key=${env:API_KEY}`
      await setup(undefined, { secrets: new Set([secret]), secretFields: { of: (id) => (id === 'hook' ? ['actions[0].template'] : id === 'tenant' ? ['sql'] : []) } });
      await app.upsertRule({ id: 'hook', sql: 'SELECT * FROM "h"', actions: [{ connector: 'store', template: `key=${secret}` }] });
    });

    it('redacts the fields that came from a secret reference, by position', async () => {
      const text = await (await fetch(`${base}/api/rules/hook`)).text();
      expect(JSON.parse(text)).toMatchObject({ definition: { actions: [{ template: '[redacted]' }] } });
      expect(text).not.toContain(secret);
    });

    it('redacts the topics read from a secret-bearing SQL too (they are quoted from it)', async () => {
      // rule "tenant" came from the config file as SELECT * FROM "tenants/${env:TENANT_KEY}/#"
      await app.upsertRule({ id: 'tenant', sql: `SELECT * FROM "tenants/${secret}/#", "plain/#"`, actions: [] });
      for (const target of ['/api/rules/tenant', '/api/rules']) {
        const text = await (await fetch(`${base}${target}`)).text();
        expect([target, text]).toEqual([target, expect.not.stringContaining(secret)]);
      }
      expect((await json('/api/rules/tenant')).body).toMatchObject({ sql: '[redacted]', topics: ['[redacted]', '[redacted]'] });
    });

    it('refuses a rule read back and written as it was: its [redacted] would replace the secret', async () => {
      const read = (await json('/api/rules/hook')).body['definition'] as Record<string, unknown>;
      const answer = await put('/api/rules/hook', { ...read, description: 'edited' });
      expect(answer).toMatchObject({ status: 400, body: { issues: [{ path: 'actions[0].template', message: expect.stringContaining('config file') }] } });
      expect(app.ruleDefinition('hook')?.actions[0]).toMatchObject({ template: `key=${secret}` });
      // the field given in full is taken (and still answered as [redacted]: its position came from a secret)
      expect((await put('/api/rules/hook', { ...read, actions: [{ connector: 'store', template: 'key=other' }] })).status).toBe(200);
    });

    it('never tells whether text a caller wrote equals a secret (no guessing oracle)', async () => {
      const description = `candidates: hunter2222 ${secret} letmein99`;
      expect((await put('/api/rules/guess', { sql: 'SELECT * FROM "g"', description, actions: [{ connector: 'store', template: secret }] })).status).toBe(201);
      const answer = await json('/api/rules/guess');
      expect(answer.body).toMatchObject({ definition: { description, actions: [{ template: secret }] } });
      expect((await json('/api/rules/nope-hunter2222')).body).toEqual({ error: 'no rule has the id "nope-hunter2222"' });
    });
  });

  describe('the web console (http.console)', () => {
    it('is served at / by default (the built @sluice/console), its URL logged; false leaves / to the API', async () => {
      await setup();
      await endpoint.close();
      endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0 }, recording());
      expect(lines).toContainEqual(['info', 'web console']);
      const page = await fetch(`http://127.0.0.1:${endpoint.address.port}/rules/temp_hum`);
      expect([page.status, (await page.text()).includes('<base href="/">'), page.headers.get('content-security-policy')]).toEqual([200, true, expect.stringContaining("script-src 'self'")]);
      await endpoint.close();
      lines = [];
      endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0, console: false }, recording());
      expect((await fetch(`http://127.0.0.1:${endpoint.address.port}/`)).status).toBe(404);
      expect(lines).toEqual([]);
    });
  });

  describe('binding', () => {
    it('refuses a non-loopback address without a token (ConfigError naming http.token), and takes one with a token', async () => {
      await setup();
      await expect(startHttpServer(app, { host: '0.0.0.0', port: 0 }, silentLogger)).rejects.toThrow(ConfigError);
      await expect(startHttpServer(app, { host: '0.0.0.0', port: 0 }, silentLogger)).rejects.toThrow(/http\.token.*127\.0\.0\.1/s);
      const exposed = await startHttpServer(app, { host: '0.0.0.0', port: 0, token: 't0ken' }, silentLogger);
      await exposed.close();
    });
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ConnectorStatus, createIntegration, silentLogger, sinkModule, sourceModule, type Integration } from '@sluice/core';
import { InMemorySink, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { startHttpServer, type HttpEndpoint } from './http-server';

/** An in-memory source that follows rule changes, as the MQTT sources do. */
class UpdatableSource extends InMemorySource {
  async updateFilters(filters: readonly string[]): Promise<void> {
    this.filters = filters;
  }
}

/** An in-memory sink whose connection state a test sets. */
class ReportingSink extends InMemorySink {
  current: ConnectorStatus = { state: 'connected' };

  status(): ConnectorStatus {
    return this.current;
  }
}

describe(startHttpServer.name, () => {
  let app: Integration;
  let source: UpdatableSource;
  let sink: ReportingSink;
  let endpoint: HttpEndpoint;
  let base: string;

  async function setup(token?: string): Promise<void> {
    source = new UpdatableSource('plant');
    sink = new ReportingSink('store');
    app = await createIntegration({
      modules: [sourceModule(source), sinkModule(sink), sqlModule()],
      rules: [{ id: 'temp_hum', sql: 'SELECT payload.temp as temp FROM "t/#"', actions: [{ connector: 'store', template: '${temp}' }] }],
    });
    await app.start();
    endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0, ...(token === undefined ? {} : { token }) }, silentLogger);
    base = `http://127.0.0.1:${endpoint.address.port}`;
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
      sink.current = { state: 'buffering', reason: 'Connection closed; records are kept in the disk buffer of action "temp_hum:store"' };
      expect(await json('/readyz')).toMatchObject({ status: 200, body: { ready: true, connectors: { store: sink.current } } });
      sink.current = { state: 'connecting', reason: 'Connection closed' };
      expect(await json('/readyz')).toMatchObject({ status: 503, body: { ready: false, connectors: { store: { state: 'connecting', reason: 'Connection closed' } } } });
    });

    it('PUT /api/rules/:id creates a rule (201) that receives messages at once', async () => {
      const created = await put('/api/rules/hum', { sql: 'SELECT payload.hum as hum FROM "h/+"', actions: [{ connector: 'store', template: 'hum=${hum}' }] });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: 'hum', topics: ['h/+'], enabled: true, actions: [{ id: 'hum:store', connector: 'store' }] });
      expect([...source.filters].sort()).toEqual(['h/+', 't/#']);
      await source.push('h/1', '{"hum": 40}').settled;
      expect(sink.records.map((r) => r.rendered)).toEqual(['hum=40']);
    });

    it('PUT /api/rules/:id replaces a rule (200); new messages go to the new definition', async () => {
      const replaced = await put('/api/rules/temp_hum', { sql: 'SELECT payload.temp * 10 as temp FROM "t/#"', actions: [{ connector: 'store', template: 'x${temp}' }] });
      expect(replaced.status).toBe(200);
      await source.push('t/1', '{"temp": 2}').settled;
      expect(sink.records.map((r) => r.rendered)).toEqual(['x20']);
      expect((await json('/api/rules/temp_hum')).body).toMatchObject({ sql: 'SELECT payload.temp * 10 as temp FROM "t/#"', definition: { id: 'temp_hum', enabled: true } });
    });

    it('PUT refuses a syntax error with 400, the message, line and column, and changes nothing', async () => {
      const refused = await put('/api/rules/temp_hum', { sql: 'SELECT payload.temp\nFROM WHERE', actions: [] });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'ERR_RULE_SYNTAX', line: 2, column: 6 });
      expect(String(refused.body['error'])).toContain('sql: rule "temp_hum"');
      await source.push('t/1', '{"temp": 3}').settled;
      expect(sink.records.map((r) => r.rendered)).toEqual(['3']);
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
      expect((await json('/api/rules')).status).toBe(200); // reads stay open
    });

    it('never answers with a secret the config resolved, even inside a rule definition', async () => {
      const secured = await startHttpServer(app, { host: '127.0.0.1', port: 0, secrets: new Set(['api-key-123456']) }, silentLogger);
      try {
        await app.upsertRule({ id: 'hook', sql: 'SELECT * FROM "h"', actions: [{ connector: 'store', template: 'key=api-key-123456' }] });
        const text = await (await fetch(`http://127.0.0.1:${secured.address.port}/api/rules/hook`)).text();
        expect(text).toContain('key=[redacted]');
        expect(text).not.toContain('api-key-123456');
      } finally {
        await secured.close();
      }
    });

    it('accepts writes with the token', async () => {
      expect((await put('/api/rules/x', { sql: 'SELECT * FROM "x"' }, { authorization: 'Bearer s3cret' })).status).toBe(201);
      expect((await json('/api/rules/x', { method: 'DELETE', headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    });
  });
});

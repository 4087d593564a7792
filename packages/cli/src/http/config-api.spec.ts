import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { connectorModule, createIntegration, silentLogger, sourceModule, type Integration } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { composeFromConfig } from '../compose';
import { loadConfigFile } from '../config-file';
import { FileConfigStore } from '../config-store/file-config-store';
import { ConfigReloader } from '../reload';
import { sluiceApi } from './sluice-api';

/** The memory plugin (test/fixtures/plugins/memory.js): sources and connectors built from config entries, the latest instance per id kept. */
interface MemoryPlugin {
  readonly instances: { readonly sources: Map<string, InMemorySource>; readonly connectors: Map<string, InMemoryConnector> };
}
const MEMORY_PLUGIN = join(__dirname, '../../test/fixtures/plugins/memory.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the fixture is plain CommonJS, as a plugin is
const memory = require(MEMORY_PLUGIN) as MemoryPlugin;

const TOKEN = 'api-token-5b1';
const STORED_PASSWORD = 'open-sesame'; // the fixture's connection test accepts this one
const TYPED_PASSWORD = 'typed-into-the-console-77f';
const env = { STORE_PASSWORD: STORED_PASSWORD };

/** A config as a person writes it: comments, a blank line, a secret reference. */
const CONFIG = `# Plant floor integration (edited by hand and through the console).
plugins: [${JSON.stringify(MEMORY_PLUGIN)}]

sources:
  - type: memory   # the plant
    id: plant

connectors:
  # the main store
  - type: memory
    id: store
    label: main   # shown by the connection test
    password: \${env:STORE_PASSWORD}

rules:
  # temperatures
  - id: temp
    sql: SELECT payload.v as v FROM "t/#"
    actions:
      - connector: store
        template: t=\${v}
`;

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

/**
 * A request to `host` on loopback (not Fastify's inject(): light-my-request needs cookie 2, an ES module
 * that jest's CommonJS runtime cannot load), with the token and a JSON body.
 */
function callHost(host: FastifyInstance, method: string, url: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
    const port = (host.server.address() as AddressInfo).port;
    const req = request({ host: '127.0.0.1', port, method, path: url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, text, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the API over a config store', () => {
  let dir: string;
  let file: string;
  let app: Integration;
  let host: FastifyInstance;
  /** Every answer's text, to check that no secret was ever in one. */
  let answered: string[];

  const call = async (method: string, url: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const answer = await callHost(host, method, url, options);
    answered.push(answer.text);
    return answer;
  };

  const onDisk = (): string => readFileSync(file, 'utf8');
  const connector = (id: string): InMemoryConnector => memory.instances.connectors.get(id) as InMemoryConnector;
  const source = (id: string): InMemorySource => memory.instances.sources.get(id) as InMemorySource;
  const revision = async (): Promise<string> => (await call('GET', '/api/config')).body['revision'] as string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-config-api-'));
    file = join(dir, 'sluice.yaml');
    writeFileSync(file, CONFIG);
    answered = [];
    const loaded = loadConfigFile(file, env);
    const secrets = new Set(loaded.secrets);
    app = await composeFromConfig(loaded, silentLogger);
    await app.start();
    const reloader = new ConfigReloader(file, env, app, loaded, silentLogger, secrets);
    host = Fastify();
    await host.register(sluiceApi, { integration: app, token: TOKEN, secrets, store: new FileConfigStore({ file, env }), reloader, plugins: loaded.plugins, env });
    await host.listen({ host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await host.close();
    await app.stop();
    // whatever a spec did, no answer carried a secret
    for (const text of answered) {
      expect(text).not.toContain(STORED_PASSWORD);
      expect(text).not.toContain(TYPED_PASSWORD);
    }
  });

  describe('GET /api/config', () => {
    it('answers the stored form with its revision, secret fields redacted and other references as written', async () => {
      const { status, body } = await call('GET', '/api/config');
      expect(status).toBe(200);
      expect(body).toEqual({
        revision: createHash('sha256').update(CONFIG).digest('hex'),
        sources: [{ type: 'memory', id: 'plant' }],
        connectors: [{ type: 'memory', id: 'store', label: 'main', password: '[redacted]' }],
        rules: [{ id: 'temp', sql: 'SELECT payload.v as v FROM "t/#"', actions: [{ connector: 'store', template: 't=${v}' }] }],
      });
    });
  });

  describe('GET /api/schema', () => {
    it('answers the JSON Schema of each source, connector and action type, secret fields write-only', async () => {
      const { body } = await call('GET', '/api/schema');
      const schemas = body as { sources: Record<string, any>; connectors: Record<string, any>; actions: Record<string, any> };
      expect(Object.keys(schemas.sources)).toEqual(expect.arrayContaining(['memory', 'mqtt']));
      expect(Object.keys(schemas.connectors).sort()).toEqual(['kafka', 'memory', 'mqtt']);
      expect(schemas.connectors['memory'].properties.password).toEqual(expect.objectContaining({ type: 'string', writeOnly: true }));
      expect(schemas.connectors['memory'].properties.label).toEqual(expect.objectContaining({ default: 'memory', description: expect.any(String) }));
      expect(schemas.connectors['memory'].properties.label.writeOnly).toBeUndefined();
      expect(schemas.connectors['memory'].required).toEqual(['type', 'id']);
      const kafkaAuth = JSON.stringify(schemas.connectors['kafka'].properties.authentication);
      expect(kafkaAuth).toContain('"password":{"type":"string","minLength":1,"description":"SASL password; use `${env:NAME}` or `${file:/path}`.","writeOnly":true}');
      expect(schemas.actions['memory'].properties.template).toEqual(expect.objectContaining({ type: 'string' }));
      expect(schemas.actions['kafka'].properties.topic).toBeDefined();
    });
  });

  describe('connectors', () => {
    it('creates a connector: stored with its typed password in a 0600 file, applied at once, the comments kept', async () => {
      const created = await call('PUT', '/api/connectors/archive', { body: { type: 'memory', label: 'cold', password: TYPED_PASSWORD } });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        connector: { id: 'archive', type: 'memory', status: { state: 'connected' }, actions: [], settings: { label: 'cold', password: '[redacted]' } },
        revision: createHash('sha256').update(onDisk()).digest('hex'),
      });
      expect(app.connectorIds()).toEqual(['store', 'archive']);
      const text = onDisk();
      expect(text.startsWith(CONFIG.slice(0, CONFIG.indexOf('rules:')).trimEnd())).toBe(true);
      expect(text).toContain('# temperatures');
      expect(text).not.toContain(TYPED_PASSWORD);
      const reference = /password: \$\{file:([^}]+)\}/.exec(text.slice(text.indexOf('id: archive')))?.[1] as string;
      expect(readFileSync(reference, 'utf8')).toBe(`${TYPED_PASSWORD}\n`);
      expect(statSync(reference).mode & 0o777).toBe(0o600);
      expect((await call('GET', '/api/connectors/archive')).body).toEqual(created.body['connector']);
    });

    it('replaces a connector at run time: the rules using it send through the new one, the password typed again', async () => {
      const old = connector('store');
      // a plugin's type has no list of destination settings: a kept password needs every other setting unchanged
      const kept = await call('PUT', '/api/connectors/store', { body: { type: 'memory', label: 'renamed', password: '[redacted]' } });
      expect([kept.status, kept.body['code'], kept.body['issues']]).toEqual([400, 'ERR_CONFIG_INVALID', [{ path: 'password', message: 'the destination changed (label): type the password again' }]]);
      expect((await call('PUT', '/api/connectors/store', { body: { type: 'memory', label: 'renamed' } })).body['issues']).toEqual([{ path: 'password', message: expect.stringContaining('the destination changed') }]);
      // the stored reference written out in full is the same password: it may not follow a changed destination either
      const referenced = await call('PUT', '/api/connectors/store', { body: { type: 'memory', label: 'renamed', password: '${env:STORE_PASSWORD}' } });
      expect([referenced.status, referenced.body['issues']]).toEqual([400, [{ path: 'password', message: 'the destination changed (label): type the password again' }]]);
      // nor may a reference the stored entry does not hold (the server would resolve its own environment into it)
      const other = await call('PUT', '/api/connectors/store', { body: { type: 'memory', label: 'main', password: '${env:HOME}' } });
      expect([other.status, other.body['issues']]).toEqual([400, [{ path: 'password', message: expect.stringContaining('only the config file may add one') }]]);
      expect(onDisk()).toBe(CONFIG);
      const replaced = await call('PUT', '/api/connectors/store', { body: { type: 'memory', label: 'renamed', password: STORED_PASSWORD } });
      expect(replaced.status).toBe(200);
      expect(replaced.body['connector']).toEqual({ id: 'store', type: 'memory', status: { state: 'connected' }, actions: [{ id: 'temp:store', ruleId: 'temp' }], settings: { label: 'renamed', password: '[redacted]' } });
      expect(onDisk()).toMatch(new RegExp(`label: renamed[^\\n]*\\n    password: \\$\\{file:[^}]+\\}`));
      expect(onDisk()).not.toContain(STORED_PASSWORD);
      expect(connector('store')).not.toBe(old);
      await source('plant').push('t/1', '{"v": 1}').settled;
      expect(connector('store').records.map((r) => r.rendered)).toEqual(['t=1']);
      expect(old.records).toEqual([]);
      const test = await call('POST', '/api/connectors/store/test');
      expect(test.body).toMatchObject({ connectorId: 'store', ok: true });
    });

    it('refuses bad settings with paths relative to the entry, and leaves the file byte for byte as it was', async () => {
      const refused = await call('PUT', '/api/connectors/store', { body: { type: 'memory', label: 5, colour: 'red', password: TYPED_PASSWORD } });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'ERR_CONFIG_INVALID', issues: expect.arrayContaining([expect.objectContaining({ path: 'label' }), expect.objectContaining({ message: expect.stringContaining('colour') })]) });
      const unknownType = await call('PUT', '/api/connectors/x', { body: { type: 'carrier-pigeon' } });
      expect(unknownType.body).toMatchObject({ code: 'ERR_CONFIG_INVALID', issues: [expect.objectContaining({ path: 'type' })] });
      expect((await call('PUT', '/api/connectors/x', { body: { label: 'no type' } })).status).toBe(400);
      expect((await call('PUT', '/api/connectors/x', { body: { type: 'memory', id: 'y' } })).status).toBe(400);
      expect(onDisk()).toBe(CONFIG);
      expect(app.connectorIds()).toEqual(['store']);
    });

    it('answers 502 when a connector cannot start, with the file byte for byte and the running one kept', async () => {
      const old = connector('store');
      const added = await call('PUT', '/api/connectors/x', { body: { type: 'memory', failStart: true } });
      expect(added.status).toBe(502);
      expect(added.body).toEqual({ error: expect.stringContaining('refused to start (failStart)'), code: 'ERR_NOT_APPLIED' });
      const replaced = await call('PUT', '/api/connectors/store', { body: { type: 'memory', label: 'main', password: TYPED_PASSWORD, failStart: true } });
      expect(replaced.status).toBe(502);
      expect(onDisk()).toBe(CONFIG);
      expect(app.connectorIds()).toEqual(['store']);
      expect(connector('store')).not.toBe(old); // built by the failed replacement, never installed
      await source('plant').push('t/1', '{"v": 7}').settled;
      expect(old.records.map((r) => r.rendered)).toEqual(['t=7']);
    });

    it('refuses to delete a connector a rule uses (409), then deletes it once the rule is gone', async () => {
      const inUse = await call('DELETE', '/api/connectors/store');
      expect([inUse.status, inUse.body['code']]).toEqual([409, 'ERR_IN_USE']);
      expect((await call('DELETE', '/api/connectors/nope')).status).toBe(404);
      await call('PUT', '/api/connectors/archive', { body: { type: 'memory' } });
      await call('PUT', '/api/rules/temp', { body: { sql: 'SELECT payload.v as v FROM "t/#"', actions: [{ connector: 'archive', template: 'a=${v}' }] } });
      const removed = await call('DELETE', '/api/connectors/store');
      expect(removed.body).toEqual({ removed: 'store', revision: createHash('sha256').update(onDisk()).digest('hex') });
      expect(app.connectorIds()).toEqual(['archive']);
      expect(onDisk()).not.toContain('id: store');
      expect(onDisk()).toContain('# temperatures');
    });

    it('keeps GET, PUT and DELETE for a connector named "test" (POST /api/connectors/test is the unsaved test)', async () => {
      expect((await call('PUT', '/api/connectors/test', { body: { type: 'memory' } })).status).toBe(201);
      expect((await call('GET', '/api/connectors/test')).body).toMatchObject({ id: 'test', type: 'memory' });
      expect((await call('DELETE', '/api/connectors/test')).status).toBe(200);
      expect(onDisk()).toBe(CONFIG);
    });

    it('tests an unsaved definition, taking a [redacted] password from the stored connector of that id', async () => {
      const stored = await call('POST', '/api/connectors/test', { body: { id: 'store', type: 'memory', label: 'main', password: '[redacted]' } });
      expect(stored.status).toBe(200);
      expect(stored.body).toEqual({ connectorId: 'store', ok: true, stages: [{ stage: 'connect', ok: true, detail: 'in memory (main)' }, { stage: 'auth', ok: true, detail: 'password accepted' }] });
      // the stored password never goes where the caller points a changed definition
      for (const body of [{ label: 'draft', password: '[redacted]' }, { label: 'draft' }]) {
        const moved = await call('POST', '/api/connectors/test', { body: { id: 'store', type: 'memory', ...body } });
        expect([moved.status, moved.body['code'], moved.body['issues']]).toEqual([400, 'ERR_CONFIG_INVALID', [{ path: 'password', message: 'the destination changed (label): type the password again' }]]);
      }
      const typed = await call('POST', '/api/connectors/test', { body: { type: 'memory', password: TYPED_PASSWORD } });
      expect(typed.body).toMatchObject({ ok: false, stages: [{ ok: true }, { stage: 'auth', ok: false }] });
      const noStored = await call('POST', '/api/connectors/test', { body: { id: 'new-one', type: 'memory', password: '[redacted]' } });
      expect([noStored.status, noStored.body['code']]).toEqual([400, 'ERR_CONFIG_INVALID']);
      const invalid = await call('POST', '/api/connectors/test', { body: { type: 'memory', label: 5 } });
      expect(invalid.body).toMatchObject({ code: 'ERR_CONFIG_INVALID', issues: [expect.objectContaining({ path: 'label' })] });
      expect(onDisk()).toBe(CONFIG);
      expect(app.connectorIds()).toEqual(['store']);
    });
  });

  describe('ids', () => {
    const reference = '${env:STORE_PASSWORD}';
    it('refuses a reference in an id (path or body) with 400, and never answers its value', async () => {
      const tested = await call('POST', '/api/connectors/test', { body: { type: 'memory', id: `x-${reference}`, password: 'x' } });
      expect([tested.status, tested.body['code'], tested.body['issues']]).toEqual([400, 'ERR_CONFIG_INVALID', [{ path: 'id', message: expect.stringContaining('ids cannot hold references') }]]);
      const put = await call('PUT', `/api/connectors/${encodeURIComponent(`k${reference}`)}`, { body: { type: 'memory' } });
      expect([put.status, put.body['error']]).toEqual([400, expect.stringContaining('ids cannot hold references')]);
      const source = await call('PUT', `/api/sources/${encodeURIComponent(`s${reference}`)}`, { body: { type: 'memory' } });
      expect(source.status).toBe(400);
      const rule = await call('PUT', `/api/rules/${encodeURIComponent(`r${reference}`)}`, { body: { sql: 'SELECT * FROM "t"', actions: [] } });
      expect(rule.status).toBe(400);
      const action = await call('PUT', '/api/rules/r', { body: { sql: 'SELECT * FROM "t"', actions: [{ connector: 'store', id: `a${reference}` }] } });
      expect([action.status, action.body['issues']]).toEqual([400, [expect.objectContaining({ path: 'actions[0].id', message: expect.stringContaining('ids cannot hold references') })]]);
      expect((await call('GET', `/api/connectors/${encodeURIComponent(`k${reference}`)}`)).status).toBe(400);
      expect(onDisk()).toBe(CONFIG);
      expect(app.connectorIds()).toEqual(['store']);
      expect((await call('GET', '/api/connectors')).body).toEqual([expect.objectContaining({ id: 'store' })]);
    });

    it('answers the connectorId of an unsaved test as given', async () => {
      const tested = await call('POST', '/api/connectors/test', { body: { type: 'memory', id: 'draft-1', password: 'x' } });
      expect(tested.body).toMatchObject({ connectorId: 'draft-1', ok: false });
    });
  });

  describe('sources', () => {
    it('adds and removes a source, refusing to remove one a rule names', async () => {
      const added = await call('PUT', '/api/sources/yard', { body: { type: 'memory', label: 'outside' } });
      expect(added.status).toBe(201);
      expect(added.body['source']).toMatchObject({ id: 'yard', type: 'memory', settings: { label: 'outside' }, metrics: expect.objectContaining({}) });
      expect(app.sourceIds()).toEqual(['plant', 'yard']);
      await source('yard').push('t/2', '{"v": 2}').settled;
      expect(connector('store').records.map((r) => r.rendered)).toEqual(['t=2']);
      await call('PUT', '/api/rules/temp', { body: { sql: 'SELECT payload.v as v FROM "t/#"', sources: ['yard'], actions: [{ connector: 'store', template: 't=${v}' }] } });
      expect((await call('DELETE', '/api/sources/yard')).body).toMatchObject({ code: 'ERR_IN_USE' });
      await call('PUT', '/api/rules/temp', { body: { sql: 'SELECT payload.v as v FROM "t/#"', actions: [{ connector: 'store', template: 't=${v}' }] } });
      expect((await call('DELETE', '/api/sources/yard')).status).toBe(200);
      expect(app.sourceIds()).toEqual(['plant']);
      expect(onDisk()).toBe(CONFIG);
    });
  });

  describe('rules', () => {
    it('creates, edits, disables and deletes a rule in the file, each answer with the new revision', async () => {
      const created = await call('PUT', '/api/rules/hum', { body: { sql: 'SELECT payload.h as h FROM "h/#"', actions: [{ connector: 'store', template: 'h=${h}' }] } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: 'hum', topics: ['h/#'], revision: createHash('sha256').update(onDisk()).digest('hex') });
      expect(onDisk()).toContain('  - id: hum\n    sql: SELECT payload.h as h FROM "h/#"');
      await source('plant').push('h/1', '{"h": 40}').settled;
      expect(connector('store').records.map((r) => r.rendered)).toEqual(['h=40']);

      const disabled = await call('POST', '/api/rules/hum/disable');
      expect(disabled.body).toEqual({ ok: true, revision: createHash('sha256').update(onDisk()).digest('hex') });
      expect(onDisk()).toContain('enabled: false');
      expect(app.rules().find((r) => r.id === 'hum')?.enabled).toBe(false);

      const removed = await call('DELETE', '/api/rules/hum');
      expect(removed.body).toEqual({ removed: 'hum', revision: createHash('sha256').update(CONFIG).digest('hex') });
      expect(onDisk()).toBe(CONFIG);
      expect(app.rules().map((r) => r.id)).toEqual(['temp']);
    });

    it('answers a syntax error with its line and column before anything is stored', async () => {
      const refused = await call('PUT', '/api/rules/bad', { body: { sql: 'SELECT payload.v\nFROM WHERE', actions: [] } });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'ERR_RULE_SYNTAX', line: 2, column: expect.any(Number), issues: [expect.objectContaining({ path: 'sql' })] });
      expect(onDisk()).toBe(CONFIG);
    });

    it('puts the file back byte for byte when the running integration refuses the change', async () => {
      const refused = await call('PUT', '/api/rules/temp', { body: { sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'store', colour: 'red' }] } });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'ERR_CONFIG_INVALID', issues: [expect.objectContaining({ path: 'actions[0]', message: expect.stringContaining('colour') })] });
      expect(onDisk()).toBe(CONFIG);
      expect(app.ruleDefinition('temp')).toMatchObject({ sql: 'SELECT payload.v as v FROM "t/#"' });
      const missing = await call('PUT', '/api/rules/temp', { body: { sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'nowhere' }] } });
      expect(missing.body).toMatchObject({ code: 'ERR_CONFIG_INVALID', issues: [{ path: 'actions[0].connector', message: expect.stringContaining('no connector has the id "nowhere"') }] });
      expect(onDisk()).toBe(CONFIG);
    });
  });

  describe('concurrency', () => {
    it('applies a write with the current If-Match and refuses a stale one (409)', async () => {
      const read = await revision();
      const first = await call('PUT', '/api/connectors/a', { body: { type: 'memory' }, headers: { 'if-match': `"${read}"` } });
      expect(first.status).toBe(201);
      const stale = await call('PUT', '/api/connectors/b', { body: { type: 'memory' }, headers: { 'if-match': read } });
      expect([stale.status, stale.body['code']]).toEqual([409, 'ERR_CONFIG_CONFLICT']);
      expect(app.connectorIds()).toEqual(['store', 'a']);
    });

    it('refuses a write based on a read from before a person edited the file (409), keeping the edit', async () => {
      const read = await revision();
      appendFileSync(file, '# a note typed by hand\n');
      const edited = onDisk();
      const refused = await call('PUT', '/api/connectors/archive', { body: { type: 'memory' }, headers: { 'if-match': read } });
      expect([refused.status, refused.body['code']]).toEqual([409, 'ERR_CONFIG_CONFLICT']);
      expect(onDisk()).toBe(edited);
      expect(app.connectorIds()).toEqual(['store']);
    });

    it('answers 503 while the file does not parse (a hand edit in progress), and writes nothing', async () => {
      writeFileSync(file, `${CONFIG}rules: [oops\n`);
      const read = await call('GET', '/api/config');
      expect([read.status, read.body['code']]).toEqual([503, 'ERR_CONFIG_STORE']);
      expect((await call('PUT', '/api/connectors/x', { body: { type: 'memory' } })).status).toBe(503);
      expect(onDisk()).toBe(`${CONFIG}rules: [oops\n`);
    });

    it('serialises concurrent writes: each is applied, none is lost', async () => {
      const answers = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((id) => call('PUT', `/api/connectors/${id}`, { body: { type: 'memory', label: id } })));
      expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
      expect([...app.connectorIds()].sort()).toEqual(['c1', 'c2', 'c3', 'c4', 'store']);
      for (const id of ['c1', 'c2', 'c3', 'c4']) expect(onDisk()).toContain(`id: ${id}`);
    });
  });

  describe('GET /api/overview', () => {
    it('answers sources, connectors and rules with their state, metrics and redacted settings', async () => {
      await source('plant').push('t/1', '{"v": 1}').settled;
      const { body } = await call('GET', '/api/overview');
      expect(body).toEqual({
        sources: [{ id: 'plant', type: 'memory', status: { state: 'connected' }, metrics: expect.objectContaining({}), settings: {} }],
        connectors: [{ id: 'store', type: 'memory', status: { state: 'connected' }, actions: [{ id: 'temp:store', ruleId: 'temp' }], settings: { label: 'main', password: '[redacted]' } }],
        rules: [{ id: 'temp', sql: 'SELECT payload.v as v FROM "t/#"', topics: ['t/#'], enabled: true, actions: [{ id: 'temp:store', connector: 'store' }], metrics: expect.objectContaining({ matched: 1 }) }],
      });
    });
  });
});

describe('the API without a config store (an integration composed in code)', () => {
  it('answers connector and source writes with 501 and changes rules at run time only', async () => {
    const app = await createIntegration({
      modules: [sourceModule(new InMemorySource('plant')), connectorModule(new InMemoryConnector('store')), sqlModule()],
      rules: [{ id: 'temp', sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'store' }] }],
    });
    await app.start();
    const host = Fastify();
    await host.register(sluiceApi, { integration: app, token: TOKEN });
    await host.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (const [method, url] of [['PUT', '/api/connectors/x'], ['DELETE', '/api/connectors/store'], ['PUT', '/api/sources/x'], ['GET', '/api/config']] as const) {
        const answer = await callHost(host, method, url, method === 'PUT' ? { body: { type: 'memory' } } : {});
        expect([method, url, answer.status, answer.body['code']]).toEqual([method, url, 501, 'ERR_NOT_SUPPORTED']);
      }
      expect((await callHost(host, 'GET', '/api/connectors')).body).toEqual([{ id: 'store', type: 'unknown', status: { state: 'connected' }, actions: [{ id: 'temp:store', ruleId: 'temp' }], settings: {} }]);
      const rule = await callHost(host, 'PUT', '/api/rules/other', { body: { sql: 'SELECT * FROM "o"', actions: [] } });
      expect([rule.status, rule.body['revision']]).toEqual([201, undefined]);
      expect(app.rules().map((r) => r.id)).toEqual(['temp', 'other']);
      expect((await callHost(host, 'POST', '/api/rules/other/disable')).body).toEqual({ ok: true });
    } finally {
      await host.close();
      await app.stop();
    }
  });
});

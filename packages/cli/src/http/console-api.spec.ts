import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { get as httpGet, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectorModule, createIntegration, sourceModule, type BrowsedRecord, type Integration, type RecordBrowser } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { cliVersion } from '../version';
import { MAX_FOLLOWS, MAX_LATEST_READS, MAX_MESSAGES_ANSWER_CHARS } from './messages-routes';
import { MAX_SHOWN_BYTES } from './shown-bytes';
import { sluiceApi } from './sluice-api';
import { MAX_METRIC_STREAMS } from './stream-routes';

/** A RecordBrowser over records a test writes; follow() calls back for each one written afterwards. */
class FakeBrowser implements RecordBrowser {
  readonly byTopic = new Map<string, BrowsedRecord[]>([['emqx', []], ['alpha', []]]);
  readonly followers = new Set<{ topic: string; onRecord: (record: BrowsedRecord) => void }>();
  released = 0;

  /** When set, topics() waits for it (a slow cluster). */
  gate: Promise<void> | undefined;
  topicCalls = 0;

  async topics(): Promise<string[]> {
    this.topicCalls++;
    await this.gate;
    return [...this.byTopic.keys()].sort();
  }

  /** When set, latest() waits for it (a slow read). */
  latestGate: Promise<void> | undefined;
  latestCalls = 0;

  async latest(topic: string, limit: number): Promise<BrowsedRecord[]> {
    this.latestCalls++;
    await this.latestGate;
    return (this.byTopic.get(topic) ?? []).slice(-limit);
  }

  follow(topic: string, onRecord: (record: BrowsedRecord) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const follower = { topic, onRecord };
      this.followers.add(follower);
      signal.addEventListener('abort', () => {
        this.followers.delete(follower);
        this.released++;
        resolve();
      }, { once: true });
    });
  }

  write(topic: string, value: Buffer | null, key: Buffer | null = null, headers: Record<string, Buffer> = {}, originalSizes?: BrowsedRecord['originalSizes']): BrowsedRecord {
    const list = this.byTopic.get(topic) as BrowsedRecord[];
    const record: BrowsedRecord = { partition: 0, offset: String(list.length), timestamp: String(1_700_000_000_000 + list.length), key, value, headers, ...(originalSizes === undefined ? {} : { originalSizes }) };
    list.push(record);
    for (const follower of this.followers) if (follower.topic === topic) follower.onRecord(record);
    return record;
  }
}

class BrowsingConnector extends InMemoryConnector {
  readonly fake = new FakeBrowser();
  browser(): RecordBrowser {
    return this.fake;
  }
}

/** Polls until `check` holds (the server sees a client leave when its socket closes: no fixed sleep). */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

/**
 * An SSE client: the body read as a stream of events. node:http rather than fetch: leaving is closing the
 * connection, as a browser does (undici's fetch keeps reading an aborted body for a while to reuse it).
 */
class SseClient {
  private buffer = '';
  private readonly chunks: string[] = [];
  private wake: (() => void) | undefined;
  private request: ClientRequest | undefined;
  status = 0;
  ended = false;

  static open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      client.request = httpGet(url, { headers, agent: false }, (res) => {
        client.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          client.chunks.push(chunk);
          client.wake?.();
        });
        res.on('close', () => {
          client.ended = true;
          client.wake?.();
        });
        resolve(client);
      });
      client.request.on('error', reject);
    });
  }

  /** The next event (comments skipped); undefined when the stream ended. */
  async next(): Promise<{ event: string; data: unknown } | undefined> {
    for (;;) {
      this.buffer += this.chunks.splice(0).join('');
      const end = this.buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        if (block.startsWith(':')) continue;
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        return { event, data: data === undefined ? undefined : JSON.parse(data) };
      }
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    this.request?.destroy();
  }
}

describe('the console\'s API routes', () => {
  let integration: Integration;
  let source: InMemorySource;
  let kafka: BrowsingConnector;
  let host: FastifyInstance;
  let base: string;
  const clients: SseClient[] = [];
  const auth = { authorization: 'Bearer s3cret' };

  async function serve(token: string | undefined): Promise<void> {
    host = Fastify();
    await host.register(sluiceApi, { integration, ...(token === undefined ? {} : { token }) });
    await host.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`;
  }

  beforeEach(async () => {
    source = new InMemorySource('plant');
    kafka = new BrowsingConnector('upstash');
    integration = await createIntegration({
      modules: [sourceModule(source), connectorModule(new InMemoryConnector('store')), connectorModule(kafka), sqlModule()],
      rules: [{ id: 'temp_hum', sql: 'SELECT payload.temp as temp FROM "t/#"', actions: [{ connector: 'store', id: 'to_store', template: '${temp}' }] }],
    });
    await integration.start();
    await serve('s3cret');
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await host.close();
    await integration.stop();
  });

  const call = async (method: string, path: string, options: { headers?: Record<string, string>; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const headers = { ...auth, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
    const res = await fetch(`${base}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const sse = async (path: string, headers: Record<string, string> = auth): Promise<SseClient> => {
    const client = await SseClient.open(`${base}${path}`, headers);
    clients.push(client);
    return client;
  };

  describe('GET /api/session', () => {
    it('answers 401 without the token and tokenRequired with it (what the login page checks)', async () => {
      expect(await call('GET', '/api/session', { headers: { authorization: 'Bearer nope' } })).toEqual({ status: 401, body: { error: expect.stringContaining('Bearer'), code: 'ERR_UNAUTHORIZED' } });
      expect(await call('GET', '/api/session')).toEqual({ status: 200, body: { tokenRequired: true, version: cliVersion() } });
    });

    it('says no token is required when none is configured', async () => {
      await host.close();
      await serve(undefined);
      expect(await call('GET', '/api/session', { headers: { authorization: '' } })).toEqual({ status: 200, body: { tokenRequired: false, version: cliVersion() } });
    });
  });

  describe('GET /api/stream', () => {
    it('needs the token', async () => {
      expect((await sse('/api/stream', {})).status).toBe(401);
    });

    it('sends a snapshot at once, then every second, with the metrics of core and the states', async () => {
      await source.push('t/1', '{"temp": 21}').settled;
      const client = await sse('/api/stream');
      expect(client.status).toBe(200);
      const first = await client.next();
      expect(first).toEqual({
        event: 'snapshot',
        data: {
          at: expect.any(Number),
          status: expect.any(Object),
          rules: { temp_hum: expect.objectContaining({ matched: 1, passed: 1, 'matched.rate': { current: expect.any(Number), max: expect.any(Number), last5m: expect.any(Number) } }) },
          actions: { to_store: expect.objectContaining({ success: 1, queuing: 0 }) },
          sources: { plant: expect.objectContaining({ received: 1 }) },
        },
      });
      await source.push('t/1', '{"temp": 22}').settled;
      const second = (await client.next()) as { event: string; data: { at: number; rules: Record<string, { matched: number }> } };
      expect(second.event).toBe('snapshot');
      expect(second.data.rules['temp_hum']?.matched).toBe(2);
      expect(second.data.at).toBeGreaterThan((first?.data as { at: number }).at);
    });

    it(`holds at most ${MAX_METRIC_STREAMS} streams (429 beyond) and frees a slot when a client leaves`, async () => {
      const open = [];
      for (let i = 0; i < MAX_METRIC_STREAMS; i++) {
        const client = await sse('/api/stream');
        expect((await client.next())?.event).toBe('snapshot');
        open.push(client);
      }
      const refused = await fetch(`${base}/api/stream`, { headers: auth });
      expect([refused.status, await refused.json()]).toEqual([429, { error: expect.stringContaining(`at most ${MAX_METRIC_STREAMS}`) }]);
      open[0]?.close();
      // the server frees the slot when it sees the socket close: try until it has
      let status = 429;
      for (let i = 0; i < 500 && status === 429; i++) {
        status = (await sse('/api/stream')).status;
        if (status === 429) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(status).toBe(200);
    });

    it('ends open streams when the server closes, and the close does not wait for them', async () => {
      const client = await sse('/api/stream');
      await client.next();
      await host.close();
      while ((await client.next()) !== undefined);
      expect(client.ended).toBe(true);
    });
  });

  describe('POST /api/rules/test', () => {
    const seed = 'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"';
    const action = { connector: 'upstash', id: 'to_kafka', topic: 'emqx', key: '${clientid}', value: '{"temp": ${temp}, "hum": ${hum}}', extHeaders: [{ key: 'device', value: 'd-${clientid}' }] };
    const message = { topic: 'temp_hum/emqx', payload: '{"temp": "27.5", "hum": "41.8"}', clientid: 'sensor-1', username: 'u1', qos: 1, userProperties: { site: 'lyon' } };

    it('needs the token', async () => {
      expect((await call('POST', '/api/rules/test', { headers: { authorization: '' }, body: { sql: seed, message } })).status).toBe(401);
    });

    it('answers the outputs and every action\'s rendered topic, key, value and headers (the seed rule)', async () => {
      const answer = await call('POST', '/api/rules/test', { body: { sql: seed, actions: [action], message } });
      expect(answer).toEqual({
        status: 200,
        body: {
          matched: true,
          outputs: [{ timestamp: expect.any(Number), clientid: 'sensor-1', temp: '27.5', hum: '41.8' }],
          outputTexts: [expect.stringMatching(/^\{"timestamp":\d+,"clientid":"sensor-1","temp":"27.5","hum":"41.8"\}$/)],
          rendered: [{ actionIndex: 0, connector: 'upstash', id: 'to_kafka', records: [{ topic: 'emqx', key: 'sensor-1', value: '{"temp": 27.5, "hum": 41.8}', headers: { device: 'd-sensor-1' } }] }],
        },
      });
    });

    it('writes an integer beyond 2^53 with every digit, in the outputs, their texts and the rendered value', async () => {
      const res = await fetch(`${base}/api/rules/test`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: 'SELECT payload.ts AS ts FROM "t"', actions: [{ connector: 'upstash', topic: 'emqx', value: '{"ts": ${ts}}' }], message: { topic: 't', payload: '{"ts": 1733400000123456789}' } }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      // JSON.parse would round the number itself: the raw answer is checked
      expect(text).toContain('"outputs":[{"ts":1733400000123456789}]');
      expect(JSON.parse(text)).toMatchObject({ matched: true, outputTexts: ['{"ts":1733400000123456789}'], rendered: [{ records: [{ value: '{"ts": 1733400000123456789}' }] }] });
    });

    it('answers matched: false when FROM or WHERE filter the message out', async () => {
      expect(await call('POST', '/api/rules/test', { body: { sql: seed, actions: [action], message: { ...message, topic: 'other' } } }))
        .toEqual({ status: 200, body: { matched: false, outputs: [], outputTexts: [], rendered: [{ actionIndex: 0, connector: 'upstash', id: 'to_kafka', records: [] }] } });
    });

    it('answers a syntax error with 400 ERR_RULE_SYNTAX at its line and column', async () => {
      const answer = await call('POST', '/api/rules/test', { body: { sql: 'SELECT a,\nFROM "t"', message } });
      expect(answer).toEqual({ status: 400, body: { error: expect.stringContaining('unexpected keyword FROM'), code: 'ERR_RULE_SYNTAX', line: 2, column: 1, issues: [{ path: 'sql', message: expect.stringContaining('line 2, column 1') }] } });
    });

    it('answers an evaluation error with 200 and the error', async () => {
      const answer = await call('POST', '/api/rules/test', { body: { sql: 'SELECT sqrt(payload.x) as r FROM "t"', message: { topic: 't', payload: '{"x": "abc"}' } } });
      expect(answer).toEqual({ status: 200, body: { matched: true, outputs: [], rendered: [], error: expect.stringContaining('sqrt') } });
    });

    it('evaluates with an engine of its own: the running rules\' kv_store is neither read nor changed', async () => {
      const sql = 'SELECT kv_store_get(\'n\', 0) as before, kv_store_put(\'n\', 1) as put FROM "t"';
      for (let i = 0; i < 2; i++) {
        expect((await call('POST', '/api/rules/test', { body: { sql, message: { topic: 't' } } })).body['outputs']).toEqual([expect.objectContaining({ before: 0 })]);
      }
    });

    it('refuses a malformed body with 400 naming each field', async () => {
      expect(await call('POST', '/api/rules/test', { body: { sql: seed } })).toMatchObject({ status: 400, body: { issues: [{ path: 'message' }] } });
      const bad = await call('POST', '/api/rules/test', { body: { sql: 42, actions: [{ topic: 'x' }], message: { topic: '', qos: 3, userProperties: { a: 1 } } } });
      expect(bad).toMatchObject({ status: 400, body: { code: 'ERR_CONFIG_INVALID' } });
      expect((bad.body['issues'] as Array<{ path: string }>).map((issue) => issue.path)).toEqual(['sql', 'actions[0]', 'message.topic', 'message.qos', 'message.userProperties']);
      expect((await call('POST', '/api/rules/test', { body: [1] })).status).toBe(400);
    });

    it('bounds what a FOREACH makes it render, and says so', async () => {
      // 5,000 outputs of 1 KB each, rendered twice (output and value): over the 4 MiB an answer holds
      const sql = 'FOREACH [1..5000] as i DO i, payload as p FROM "t"';
      const answer = await call('POST', '/api/rules/test', { body: { sql, actions: [{ connector: 'upstash', topic: 't', value: '${p}' }], message: { topic: 't', payload: 'x'.repeat(1000) } } });
      expect(answer.status).toBe(200);
      expect(answer.body['truncated']).toBe(true);
      expect((answer.body['outputs'] as unknown[]).length).toBeLessThan(5000);
    });
  });

  describe('GET /api/sql/functions', () => {
    it('lists every built-in, sorted, with the token', async () => {
      const answer = await call('GET', '/api/sql/functions');
      const names = answer.body['functions'] as string[];
      expect(names).toEqual(expect.arrayContaining(['abs', 'concat', 'json_decode', 'kv_store_get', 'sqrt', 'now_timestamp']));
      expect(names).toEqual([...names].sort());
      expect((await call('GET', '/api/sql/functions', { headers: { authorization: '' } })).status).toBe(401);
    });
  });

  describe('cross-site requests', () => {
    const crossSite: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { origin: 'http://evil.example' }, { 'sec-fetch-site': 'same-site' }];

    it('are refused (403) on every /api route, reads and streams included, before any work', async () => {
      await host.close();
      await serve(undefined); // the default setup: no token, loopback
      for (const headers of crossSite) {
        for (const path of ['/api/connectors/upstash/messages?topic=emqx', '/api/connectors/upstash/topics', '/api/rules', '/api/session', '/api/nowhere']) {
          const answer = await call('GET', path, { headers });
          expect([headers, path, answer.status, answer.body['error']]).toEqual([headers, path, 403, expect.stringMatching(/^cross-(site|origin) request refused/)]);
        }
        expect((await sse('/api/connectors/upstash/messages/stream?topic=emqx', headers)).status).toBe(403);
        expect((await sse('/api/stream', headers)).status).toBe(403);
        expect((await fetch(`${base}/api/rules`, { method: 'HEAD', headers })).status).toBe(403);
      }
      expect(kafka.fake.topicCalls).toBe(0);
      expect(kafka.fake.latestCalls).toBe(0);
    });

    it('leave /metrics, /healthz and /readyz, and same-origin and typed-in requests, alone', async () => {
      for (const path of ['/metrics', '/healthz', '/readyz']) expect([path, (await fetch(`${base}${path}`, { headers: { 'sec-fetch-site': 'cross-site' } })).status]).toEqual([path, 200]);
      expect((await call('GET', '/api/rules', { headers: { 'sec-fetch-site': 'same-origin', origin: base } })).status).toBe(200);
      expect((await call('GET', '/api/connectors/upstash/topics', { headers: { 'sec-fetch-site': 'none' } })).status).toBe(200);
    });
  });

  describe('the Messages routes', () => {
    it('list the topics of a connector that can browse; 404 unknown, 501 one that cannot, 401 without the token', async () => {
      expect(await call('GET', '/api/connectors/upstash/topics')).toEqual({ status: 200, body: { topics: ['alpha', 'emqx'] } });
      expect(await call('GET', '/api/connectors/nope/topics')).toEqual({ status: 404, body: { error: 'no connector has the id "nope"' } });
      expect(await call('GET', '/api/connectors/store/topics')).toEqual({ status: 501, body: { error: expect.stringContaining('cannot show'), code: 'ERR_NOT_SUPPORTED' } });
      expect((await call('GET', '/api/connectors/upstash/topics', { headers: { authorization: '' } })).status).toBe(401);
    });

    it('answer the latest records, text as UTF-8, binary as hex, long values cut at 64 KiB', async () => {
      kafka.fake.write('emqx', Buffer.from('{"temp": 27.5, "hum": 41.8}'), Buffer.from('sensor-1'), { site: Buffer.from('lyon'), raw: Buffer.from([0xff, 0x00]) });
      kafka.fake.write('emqx', Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      kafka.fake.write('emqx', Buffer.from(`${'a'.repeat(MAX_SHOWN_BYTES - 1)}é tail`));
      const answer = await call('GET', '/api/connectors/upstash/messages?topic=emqx&limit=3');
      expect(answer.status).toBe(200);
      const [text, binary, long] = answer.body['records'] as Array<Record<string, unknown>>;
      expect(text).toEqual({ partition: 0, offset: '0', timestamp: '1700000000000', key: { text: 'sensor-1', encoding: 'utf8' }, value: { text: '{"temp": 27.5, "hum": 41.8}', encoding: 'utf8' }, headers: { site: { text: 'lyon', encoding: 'utf8' }, raw: { text: 'ff00', encoding: 'hex' } } });
      expect(binary).toMatchObject({ key: null, value: { text: 'deadbeef', encoding: 'hex' } });
      // the cut falls inside "é": the partial character is left out, the value stays text
      expect(long).toMatchObject({ value: { text: 'a'.repeat(MAX_SHOWN_BYTES - 1), encoding: 'utf8', truncated: true } });
      expect(((await call('GET', '/api/connectors/upstash/messages?topic=emqx')).body['records'] as unknown[]).length).toBe(3);
      expect(((await call('GET', '/api/connectors/upstash/messages?topic=emqx&limit=1')).body['records'] as Array<{ offset: string }>).map((r) => r.offset)).toEqual(['2']);
    });

    it('say a value the browser already cut is truncated (originalSizes)', async () => {
      kafka.fake.write('emqx', Buffer.from('abc'), Buffer.from('k'), { h: Buffer.from('x') }, { value: 1024 * 1024, headers: { h: 70_000 } });
      const [record] = (await call('GET', '/api/connectors/upstash/messages?topic=emqx')).body['records'] as Array<Record<string, unknown>>;
      expect(record).toMatchObject({ key: { text: 'k', encoding: 'utf8' }, value: { text: 'abc', encoding: 'utf8', truncated: true }, headers: { h: { text: 'x', encoding: 'utf8', truncated: true } } });
      expect((record as { key: Record<string, unknown> }).key['truncated']).toBeUndefined();
    });

    it('bound the answer: the newest records that fit, and truncated: true', async () => {
      const size = 60 * 1024;
      const count = Math.ceil(MAX_MESSAGES_ANSWER_CHARS / size) + 10;
      for (let i = 0; i < count; i++) kafka.fake.write('alpha', Buffer.alloc(size, 0x61 + (i % 26)));
      const answer = await call('GET', `/api/connectors/upstash/messages?topic=alpha&limit=${count}`);
      const records = answer.body['records'] as Array<{ offset: string }>;
      expect(answer.body['truncated']).toBe(true);
      expect(records.length).toBe(Math.floor(MAX_MESSAGES_ANSWER_CHARS / size));
      expect(records[records.length - 1]?.offset).toBe(String(count - 1));
      expect(((await call('GET', '/api/connectors/upstash/messages?topic=alpha&limit=3')).body['truncated'])).toBeUndefined();
    });

    it(`run at most ${MAX_LATEST_READS} reads of the latest records at once (429 beyond), a slot freed when its read ends`, async () => {
      let open = (): void => {};
      kafka.fake.latestGate = new Promise((resolve) => (open = resolve));
      const reads = Array.from({ length: MAX_LATEST_READS }, () => call('GET', '/api/connectors/upstash/messages?topic=emqx'));
      await eventually(() => kafka.fake.latestCalls === MAX_LATEST_READS);
      const refused = await call('GET', '/api/connectors/upstash/messages?topic=emqx');
      expect(refused).toEqual({ status: 429, body: { error: expect.stringContaining(`at most ${MAX_LATEST_READS} reads of the latest records`) } });
      expect(kafka.fake.latestCalls).toBe(MAX_LATEST_READS);
      open();
      kafka.fake.latestGate = undefined;
      expect((await Promise.all(reads)).map((answer) => answer.status)).toEqual(Array(MAX_LATEST_READS).fill(200));
      expect((await call('GET', '/api/connectors/upstash/messages?topic=emqx')).status).toBe(200);
    });

    it('refuse a bad topic or limit with 400, an unknown topic with 404', async () => {
      for (const query of ['', '?topic=', '?topic=a%20b', `?topic=${'t'.repeat(250)}`, '?topic=emqx&limit=0', '?topic=emqx&limit=501', '?topic=emqx&limit=abc', '?topic=emqx&topic=alpha']) {
        expect([query, (await call('GET', `/api/connectors/upstash/messages${query}`)).status]).toEqual([query, 400]);
      }
      expect(await call('GET', '/api/connectors/upstash/messages?topic=missing')).toEqual({ status: 404, body: { error: 'connector "upstash" has no topic "missing"' } });
      expect((await call('GET', '/api/connectors/store/messages?topic=emqx')).status).toBe(501);
    });

    it('follow a topic over SSE: each new record as `event: record`; the consumer is released when the client leaves', async () => {
      const client = await sse('/api/connectors/upstash/messages/stream?topic=emqx');
      expect(client.status).toBe(200);
      await eventually(() => kafka.fake.followers.size === 1);
      kafka.fake.write('alpha', Buffer.from('elsewhere'));
      kafka.fake.write('emqx', Buffer.from('hello'), Buffer.from('k'));
      expect(await client.next()).toEqual({ event: 'record', data: { partition: 0, offset: '0', timestamp: '1700000000000', key: { text: 'k', encoding: 'utf8' }, value: { text: 'hello', encoding: 'utf8' }, headers: {} } });
      client.close();
      await eventually(() => kafka.fake.released === 1 && kafka.fake.followers.size === 0);
    });

    it(`hold at most ${MAX_FOLLOWS} follows (429 beyond); 404/501/401 before any stream`, async () => {
      for (let i = 0; i < MAX_FOLLOWS; i++) expect((await sse('/api/connectors/upstash/messages/stream?topic=emqx')).status).toBe(200);
      expect((await sse('/api/connectors/upstash/messages/stream?topic=emqx')).status).toBe(429);
      expect((await sse('/api/connectors/upstash/messages/stream?topic=missing')).status).toBe(429);
      for (const client of clients.splice(0)) client.close();
      await eventually(() => kafka.fake.released === MAX_FOLLOWS);
      expect((await sse('/api/connectors/upstash/messages/stream?topic=missing')).status).toBe(404);
      expect((await sse('/api/connectors/store/messages/stream?topic=emqx')).status).toBe(501);
      expect((await sse('/api/connectors/upstash/messages/stream?topic=emqx', {})).status).toBe(401);
    });

    it('start no follow for a client that left while the topic was looked up (no slot or consumer held)', async () => {
      let open = (): void => {};
      kafka.fake.gate = new Promise((resolve) => (open = resolve));
      const leaving = httpGet(`${base}/api/connectors/upstash/messages/stream?topic=emqx`, { headers: auth, agent: false });
      leaving.on('error', () => {});
      await eventually(() => kafka.fake.topicCalls === 1);
      leaving.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the socket close
      open();
      kafka.fake.gate = undefined;
      for (let i = 0; i < MAX_FOLLOWS; i++) expect((await sse('/api/connectors/upstash/messages/stream?topic=emqx')).status).toBe(200);
      await eventually(() => kafka.fake.followers.size === MAX_FOLLOWS);
    });

    it('end follows when the server closes and release their consumers', async () => {
      const client = await sse('/api/connectors/upstash/messages/stream?topic=emqx');
      await eventually(() => kafka.fake.followers.size === 1);
      await host.close();
      expect(await client.next()).toBeUndefined();
      expect(kafka.fake.released).toBe(1);
    });
  });
});

// The PostgreSQL connector against the real PostgreSQL at 127.0.0.1:5432: rows written through actions are
// read back with pg; failures are provoked for real (a constraint, a missing table, a closed port, a wrong
// password). The tests create their role and database themselves (scripts/ensure-db.js).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { type ActionContext, IntegrationError, silentLogger } from '@sluice/core';
import { compileTemplate } from '@sluice/sql';
import { Client } from 'pg';
import { ensureTestDatabase, type TestDatabase } from '../scripts/ensure-db';
import { parsePostgresConnectorConfig, type PostgresConnectorOptions, PostgresConnector } from '../src';

let db: TestDatabase;
let reader: Client;
let table: string;
const connectors: PostgresConnector[] = [];

beforeAll(async () => {
  db = await ensureTestDatabase();
  reader = new Client({ host: db.host, port: db.port, database: db.database, user: db.username, password: db.password });
  await reader.connect();
});
afterAll(async () => {
  await reader.end();
});
beforeEach(async () => {
  table = `temp_hum_${randomUUID().replace(/-/g, '')}`;
  await reader.query(`CREATE TABLE ${table} (clientid text NOT NULL, temp numeric CHECK (temp < 100), hum numeric, ts timestamptz, note text, UNIQUE (clientid, ts))`);
});
afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.stop()));
  await reader.query(`DROP TABLE IF EXISTS ${table}`);
});

function connector(overrides: Partial<PostgresConnectorOptions> = {}): PostgresConnector {
  const made = new PostgresConnector(parsePostgresConnectorConfig({
    id: 'warehouse', server: db.server, database: db.database, username: db.username, password: db.password, ...overrides,
  }), silentLogger);
  connectors.push(made);
  return made;
}

const context = (id = 'temp_hum:warehouse'): ActionContext => ({ id, ruleId: 'temp_hum', templates: { compileTemplate }, logger: silentLogger, dropped: () => {} });
const insert = (): string => `INSERT INTO ${table}(clientid, temp, hum, ts, note) VALUES (\${clientid}, \${temp}, \${hum}, to_timestamp(\${timestamp}::double precision / 1000), \${note})`;

async function started(made: PostgresConnector): Promise<PostgresConnector> {
  await made.start(new AbortController().signal);
  return made;
}

async function rows(): Promise<Array<Record<string, unknown>>> {
  const result = await reader.query(`SELECT clientid, temp::float8 AS temp, hum::float8 AS hum, (extract(epoch FROM ts) * 1000)::bigint::text AS ts, note FROM ${table} ORDER BY ts, clientid`);
  return result.rows;
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!IntegrationError.is(error)) throw new Error(`expected an IntegrationError, got ${String(error)}`);
  return error;
}

describe('PostgresConnector against a real PostgreSQL', () => {
  it('writes outputs arriving together as one multi-row INSERT, bind parameters typed by their columns', async () => {
    const pg = await started(connector());
    const action = pg.createAction({ sql: insert(), batchTimeMs: 50 }, context());
    const at = 1_700_000_000_000;
    await Promise.all(Array.from({ length: 10 }, (_, i) => action.send({ clientid: `c${i}`, temp: 20 + i / 2, hum: 40 + i, timestamp: at + i, note: 'ok' })));

    const stored = await rows();
    expect(stored).toHaveLength(10);
    expect(stored[0]).toEqual({ clientid: 'c0', temp: 20, hum: 40, ts: String(at), note: 'ok' });
    expect(stored[9]).toEqual({ clientid: 'c9', temp: 24.5, hum: 49, ts: String(at + 9), note: 'ok' });
    expect(action.metrics?.()).toEqual({ batches: 1, 'retried.row': 0 });
    expect(action.queued?.()).toBe(0);
  });

  it('stores a payload full of SQL as text: values are bind parameters, never SQL', async () => {
    const pg = await started(connector());
    const action = pg.createAction({ sql: insert() }, context());
    const hostile = "'); DROP TABLE x; --";
    await reader.query(`CREATE TABLE IF NOT EXISTS x (id int)`);
    try {
      await action.send({ clientid: hostile, temp: 1, hum: 2, timestamp: 0, note: `${hostile} $1 \${temp}` });
      expect(await rows()).toEqual([{ clientid: hostile, temp: 1, hum: 2, ts: '0', note: `${hostile} $1 \${temp}` }]);
      // the table the payload names is still there
      expect((await reader.query("SELECT to_regclass('x') IS NOT NULL AS present")).rows[0]).toEqual({ present: true });
    } finally {
      await reader.query('DROP TABLE IF EXISTS x');
    }
  });

  it('binds NULL for a value the output does not have, and the text of an empty string', async () => {
    const pg = await started(connector());
    const action = pg.createAction({ sql: insert() }, context());
    await action.send({ clientid: 'c1', temp: 1, timestamp: 0, note: '' });
    expect(await rows()).toEqual([{ clientid: 'c1', temp: 1, hum: null, ts: '0', note: '' }]);
  });

  it('fails only the row that breaks a constraint, not retriable, naming connector, action and SQLSTATE; the rest of the batch is stored', async () => {
    const pg = await started(connector());
    const action = pg.createAction({ sql: insert(), batchTimeMs: 50 }, context());
    const outputs = [
      { clientid: 'a', temp: 20, hum: 1, timestamp: 1 },
      { clientid: 'b', temp: 250, hum: 1, timestamp: 1 }, // CHECK (temp < 100)
      { clientid: 'c', temp: 21, hum: 1, timestamp: 1 },
      { clientid: 'd', temp: 'hot', hum: 1, timestamp: 1 }, // not a number: data exception 22P02
    ];
    const settled = await Promise.allSettled(outputs.map((output) => action.send(output)));

    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    const check = (settled[1] as PromiseRejectedResult).reason as IntegrationError;
    expect(IntegrationError.is(check)).toBe(true);
    expect(check.code).toBe('ERR_ACTION_WRITE');
    expect(check.retriable).toBe(false);
    expect(check.message).toContain('postgres connector "warehouse"');
    expect(check.message).toContain('action "temp_hum:warehouse"');
    expect(check.message).toContain('SQLSTATE 23514');
    expect(((settled[3] as PromiseRejectedResult).reason as IntegrationError).message).toContain('SQLSTATE 22P02');
    expect(((settled[3] as PromiseRejectedResult).reason as IntegrationError).retriable).toBe(false);
    expect((await rows()).map((r) => r['clientid'])).toEqual(['a', 'c']);
    expect(action.metrics?.()).toEqual({ batches: 1, 'retried.row': 4 });
  });

  it('runs a statement that cannot be one multi-row INSERT as one transaction per batch', async () => {
    const pg = await started(connector());
    const upsert = `INSERT INTO ${table}(clientid, temp, ts) VALUES (\${clientid}, \${temp}, to_timestamp(0)) ON CONFLICT (clientid, ts) DO UPDATE SET temp = \${temp}`;
    const action = pg.createAction({ sql: upsert, batchTimeMs: 50 }, context());
    await Promise.all([
      action.send({ clientid: 'a', temp: 1 }),
      action.send({ clientid: 'a', temp: 2 }),
      action.send({ clientid: 'b', temp: 3 }),
    ]);
    expect((await rows()).map((r) => [r['clientid'], r['temp']])).toEqual([['a', 2], ['b', 3]]);
    expect(action.metrics?.()).toEqual({ batches: 1, 'retried.row': 0 });
  });

  describe('when every record fails alike until an operator acts (a migration not run, a missing GRANT)', () => {
    it('fails a batch into a table that does not exist as retriable (SQLSTATE 42P01): the messages stay with the broker', async () => {
      const pg = await started(connector());
      const action = pg.createAction({ sql: 'INSERT INTO no_such_table_here(a) VALUES (${a})', batchTimeMs: 50 }, context());
      const errors = await Promise.all([1, 2, 3].map((a) => rejection(action.send({ a }))));
      expect(errors.map((e) => e.retriable)).toEqual([true, true, true]);
      expect(errors[0]?.message).toContain('SQLSTATE 42P01');
      expect(action.metrics?.()).toEqual({ batches: 1, 'retried.row': 0 });
    });

    it('fails a write naming a column the table lacks as retriable (SQLSTATE 42703)', async () => {
      const pg = await started(connector());
      const action = pg.createAction({ sql: `INSERT INTO ${table}(clientid, added_later) VALUES (\${clientid}, \${x})` }, context());
      const error = await rejection(action.send({ clientid: 'a', x: 1 }));
      expect(error.retriable).toBe(true);
      expect(error.message).toContain('SQLSTATE 42703');
    });

    it('fails a write the role has no GRANT for as retriable (SQLSTATE 42501), and writes once the GRANT is back', async () => {
      const pg = await started(connector());
      const action = pg.createAction({ sql: insert() }, context());
      await reader.query(`REVOKE INSERT ON ${table} FROM ${db.username}`);
      const error = await rejection(action.send({ clientid: 'a', timestamp: 1 }));
      expect(error.retriable).toBe(true);
      expect(error.message).toContain('SQLSTATE 42501');

      await reader.query(`GRANT INSERT ON ${table} TO ${db.username}`);
      await action.send({ clientid: 'a', timestamp: 1 });
      expect((await rows()).map((r) => r['clientid'])).toEqual(['a']);
    });
  });

  it('gives the rest of a batch back as retriable, unwritten, when a row written one by one fails retriable', async () => {
    // a trigger that fails row "c" with a deadlock (40P01, retriable) as the server would; row "b" breaks the CHECK
    const fn = `${table}_deadlock_on_c`;
    await reader.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.clientid = 'c' THEN RAISE EXCEPTION 'deadlock for the test' USING ERRCODE = '40P01'; END IF; RETURN NEW; END $$`);
    try {
      await reader.query(`CREATE TRIGGER deadlock_on_c BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
      const pg = await started(connector());
      const action = pg.createAction({ sql: insert(), batchTimeMs: 50 }, context());
      const outputs = ['a', 'b', 'c', 'd', 'e'].map((clientid) => ({ clientid, temp: clientid === 'b' ? 250 : 20, timestamp: 1 }));
      const settled = await Promise.allSettled(outputs.map((output) => action.send(output)));

      const outcome = settled.map((s) => (s.status === 'fulfilled' ? 'written' : (s.reason as IntegrationError).retriable ? 'retriable' : 'final'));
      expect(outcome).toEqual(['written', 'final', 'retriable', 'retriable', 'retriable']);
      expect(((settled[4] as PromiseRejectedResult).reason as IntegrationError).message).toContain('SQLSTATE 40P01');
      // d and e were not tried (they would have been stored): the broker brings them back
      expect((await rows()).map((r) => r['clientid'])).toEqual(['a']);
    } finally {
      await reader.query(`DROP TABLE IF EXISTS ${table}`);
      await reader.query(`DROP FUNCTION IF EXISTS ${fn}()`);
    }
  });

  it('refuses SQL with a placeholder inside quotes as a ConfigError on `sql`, before anything is sent', () => {
    const pg = connector();
    expect(() => pg.createAction({ sql: `INSERT INTO ${table}(clientid) VALUES ('\${clientid}')` }, context()))
      .toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID', message: expect.stringContaining('sql') }));
    expect(() => pg.createAction({ sql: insert(), batchSize: 0 }, context())).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });

  describe('when the server cannot be reached', () => {
    it('fails sends as retriable, start() names the tcp stage, status() says why', async () => {
      const port = await closedPort();
      const pg = connector({ server: `127.0.0.1:${port}`, connectTimeoutMs: 2_000 });
      const action = pg.createAction({ sql: insert() }, context());

      const error = await rejection(action.send({ clientid: 'a', temp: 1, hum: 1, timestamp: 1 }));
      expect(error.retriable).toBe(true);
      expect(error.code).toBe('ERR_ACTION_WRITE');
      expect(error.message).toContain('connection failure');

      const notConnected = await rejection(pg.start(new AbortController().signal));
      expect(notConnected.code).toBe('ERR_NOT_CONNECTED');
      expect(notConnected.message).toMatch(/tcp stage failed: cannot reach 127\.0\.0\.1:\d+: connection refused/);
      expect(pg.status()).toEqual({ state: 'disconnected', reason: expect.stringContaining('tcp stage failed') });
      const report = await pg.test();
      expect(report).toMatchObject({ connectorId: 'warehouse', ok: false, stages: [{ stage: 'tcp', ok: false }] });
    });
  });

  describe('.test', () => {
    it('passes tcp, authentication and database against the real server; status() is connected once started', async () => {
      const pg = connector();
      const report = await pg.test();
      expect(report.ok).toBe(true);
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['authentication', true], ['database', true]]);
      expect(report.stages[2]?.detail).toMatch(/answers SELECT 1 \(PostgreSQL \d+/);
      expect(pg.status().state).toBe('disconnected');
      await started(pg);
      expect(pg.status()).toEqual({ state: 'connected' });
      await pg.stop();
      expect(pg.status()).toEqual({ state: 'stopped' });
    });

    it('fails at the authentication stage for a wrong password, with a hint and without the password', async () => {
      const wrong = `not-the-password-${randomUUID()}`;
      const pg = connector({ password: wrong });
      const report = await pg.test();
      expect(report.ok).toBe(false);
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['authentication', false]]);
      const detail = report.stages[1]?.detail ?? '';
      expect(detail).toContain(`password authentication failed for role "${db.username}"`);
      expect(detail).toContain('check username and password');
      expect(JSON.stringify(report)).not.toContain(wrong);

      const error = await rejection(pg.start(new AbortController().signal));
      expect(error.message).toContain('authentication stage failed');
      expect(error.message).not.toContain(wrong);
      const send = await rejection(pg.createAction({ sql: insert() }, context()).send({ clientid: 'a' }));
      expect(send.retriable).toBe(true);
      expect(send.message).toContain('SQLSTATE 28P01');
      expect(send.message).not.toContain(wrong);
    });

    it('fails at the database stage for a database that does not exist', async () => {
      const report = await connector({ database: `missing_${randomUUID().slice(0, 8)}` }).test();
      expect(report.stages.map((s) => [s.stage, s.ok])).toEqual([['tcp', true], ['authentication', true], ['database', false]]);
      expect(report.stages[2]?.detail).toContain('does not exist');
    });

    it('fails at the tls stage when the server does not offer TLS, or offers an untrusted certificate', async () => {
      const ssl = (await reader.query("SELECT current_setting('ssl') AS ssl")).rows[0] as { ssl: string };
      const report = await connector({ ssl: { enable: true } }).test();
      if (ssl.ssl === 'on') {
        // a server with TLS and a self-signed certificate (Debian's snakeoil): not trusted without ssl.ca
        expect(report.stages[1]).toMatchObject({ stage: 'tls', ok: false, detail: expect.stringContaining('certificate not trusted') });
      } else {
        expect(report.stages[1]).toMatchObject({ stage: 'tls', ok: false, detail: expect.stringContaining('does not accept TLS') });
      }
    });
  });
});

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

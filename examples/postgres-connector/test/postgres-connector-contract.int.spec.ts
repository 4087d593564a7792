// core's connector contract suite on PostgresConnector, against the real PostgreSQL: what a plugin author
// runs on their own connector. Failures are real: the connection cut (retriable), a CHECK constraint (final).
import { afterAll, afterEach, beforeAll, beforeEach, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { silentLogger } from '@sluice/core';
import { checkConnectorContract } from '@sluice/core/testing';
import { compileTemplate } from '@sluice/sql';
import { Client } from 'pg';
import { ensureTestDatabase, type TestDatabase } from '../scripts/ensure-db';
import { parsePostgresConnectorConfig, PostgresConnector } from '../src';
import { TcpProxy } from './tcp-proxy';

let db: TestDatabase;
let reader: Client;
let table: string;
let proxy: TcpProxy | undefined;

beforeAll(async () => {
  db = await ensureTestDatabase();
  reader = new Client({ host: db.host, port: db.port, database: db.database, user: db.username, password: db.password });
  await reader.connect();
});
afterAll(async () => {
  await reader.end();
});
beforeEach(async () => {
  table = `contract_${randomUUID().replace(/-/g, '')}`;
  await reader.query(`CREATE TABLE ${table} (n integer CHECK (n > 0), clientid text)`);
});
afterEach(async () => {
  await proxy?.stop();
  await reader.query(`DROP TABLE IF EXISTS ${table}`);
});

const make = (server: string) => (): PostgresConnector => new PostgresConnector(parsePostgresConnectorConfig({
  id: 'warehouse', server, database: db.database, username: db.username, password: db.password, connectTimeoutMs: 2_000,
}), silentLogger);

it('passes the connector contract: a cut connection is retriable (and recovered from), a constraint violation is final', async () => {
  const stored = async (): Promise<number> => Number((await reader.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
  // the retriable scenario's connector reaches the server through a proxy that arrange() stops
  const cut = new TcpProxy(db.host, db.port);
  proxy = cut;
  await cut.start();
  await checkConnectorContract(make(db.server), { sql: `INSERT INTO ${table}(n, clientid) VALUES (\${n}, \${clientid})` }, { compileTemplate }, {
    stored,
    invalidActionSettings: [{}, { sql: 42 }, { sql: `INSERT INTO ${table}(n) VALUES ('\${n}')` }, { sql: 'INSERT INTO t(n) VALUES ($1)' }, { sql: 'x', batchSize: -1 }, { sql: 'x', extra: true }],
    failures: {
      retriable: { makeConnector: make(cut.address), arrange: () => cut.stop(), restore: () => cut.start() },
      final: { output: { n: -1, clientid: 'contract-client' } },
    },
  });
});

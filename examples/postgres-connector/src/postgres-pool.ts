import { type ClientConfig, Pool } from 'pg';
import { hostAndPort, type PostgresConnectorConfig } from './postgres-config';

/** One statement and its bind parameters. */
export interface Statement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** What an action writes through: the connector's pool. */
export interface StatementRunner {
  /** Runs one statement on any pooled connection (autocommit). */
  query(statement: Statement): Promise<void>;
  /** Runs the statements in one transaction on one connection; rolls back when one fails, and rejects with its error. */
  transaction(statements: readonly Statement[]): Promise<void>;
}

/** The pg settings of a connection (password included: pg needs it, nothing here prints it). */
export function clientSettings(config: PostgresConnectorConfig): ClientConfig {
  const { host, port } = hostAndPort(config.server);
  const ssl = config.ssl;
  return {
    host,
    port,
    database: config.database,
    user: config.username,
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(ssl === undefined || !ssl.enable ? {} : { ssl: { rejectUnauthorized: ssl.rejectUnauthorized, ...(ssl.ca === undefined ? {} : { ca: ssl.ca }) } }),
    connectionTimeoutMillis: config.connectTimeoutMs,
    query_timeout: config.queryTimeoutMs,
    application_name: `sluice/${config.id}`.slice(0, 63),
  };
}

/** A pg Pool of `poolSize` connections; its 'error' events (an idle connection lost) go to `onIdleError`. */
export function createPool(config: PostgresConnectorConfig, onIdleError: (error: Error) => void): Pool {
  const pool = new Pool({ ...clientSettings(config), max: config.poolSize });
  pool.on('error', onIdleError);
  return pool;
}

/** The StatementRunner over a pool. */
export function poolRunner(pool: Pool): StatementRunner {
  return {
    async query({ text, params }) {
      await pool.query(text, params as unknown[]);
    },
    async transaction(statements) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        try {
          for (const { text, params } of statements) await client.query(text, params as unknown[]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch((rollbackError: Error) => {
            broken = rollbackError; // the connection is gone: the pool must not hand it out again
          });
          throw error;
        }
      } catch (error) {
        broken ??= isServerError(error) ? undefined : (error as Error);
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

/** A server error (with a SQLSTATE) leaves the connection usable; anything else may not have. */
function isServerError(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' && /^[0-9A-Z]{5}$/.test((error as { code: string }).code);
}

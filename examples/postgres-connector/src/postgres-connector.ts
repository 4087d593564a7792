import {
  type ActionContext, type ActionWriteError, ConfigError, type ConnectionTestReport, type Connector, type ConnectorStatus, type Logger,
  NotConnectedError,
} from '@sluice/core';
import type { Pool } from 'pg';
import { testPostgresConnection } from './connection-test';
import { parsePostgresActionSettings, type PostgresConnectorConfig } from './postgres-config';
import { redact } from './postgres-errors';
import { compileParameters, PostgresAction } from './postgres-action';
import { createPool, poolRunner, type StatementRunner } from './postgres-pool';
import { compileSqlTemplate, type SqlTemplate, SqlTemplateError } from './sql-template';

/**
 * A PostgreSQL connector: one pool of `poolSize` connections shared by every action that names it. Each
 * action compiles its SQL once into a statement with bind parameters and batches its outputs on its own.
 */
export class PostgresConnector implements Connector {
  readonly id: string;
  private readonly pool: Pool;
  private readonly runner: StatementRunner;
  private readonly actions = new Map<string, PostgresAction>();
  private current: ConnectorStatus = { state: 'disconnected', reason: 'not started' };

  constructor(private readonly config: PostgresConnectorConfig, private readonly logger: Logger) {
    this.id = config.id;
    this.pool = createPool(config, (error) => {
      // an idle connection was lost (server restart, admin shutdown): the pool opens a new one when needed
      this.logger.warn('an idle PostgreSQL connection was lost', { error: this.safe(error.message) });
    });
    this.runner = poolRunner(this.pool);
  }

  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): PostgresAction {
    const parsed = parsePostgresActionSettings(settings, context.id);
    let template: SqlTemplate;
    try {
      template = compileSqlTemplate(parsed.sql);
    } catch (error) {
      if (!(error instanceof SqlTemplateError)) throw error;
      throw new ConfigError(`postgres action "${context.id}"`, [{ path: 'sql', message: error.message }]);
    }
    const action = new PostgresAction(
      context.id,
      { connectorId: this.id, actionId: context.id },
      template,
      compileParameters(template, context.templates),
      parsed,
      this.runner,
      this.config.password,
      (error) => this.onResult(error),
    );
    // actions of removed rules are closed, not told to the connector: forget them here
    for (const [id, known] of this.actions) if (known.isClosed) this.actions.delete(id);
    this.actions.set(context.id, action);
    return action;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.current = { state: 'connecting' };
    try {
      const client = await this.pool.connect();
      try {
        await client.query('SELECT 1');
      } finally {
        client.release();
      }
    } catch (error) {
      const reason = await this.diagnose(error);
      this.current = { state: 'disconnected', reason };
      throw new NotConnectedError(this.id, `cannot connect to postgres connector "${this.id}": ${reason}`);
    }
    if (signal.aborted) return;
    this.current = { state: 'connected' };
    this.logger.info('connected to PostgreSQL', { server: this.config.server, database: this.config.database });
  }

  async stop(): Promise<void> {
    // the runtime closes actions first; closing again is harmless and writes anything left
    await Promise.all([...this.actions.values()].map((action) => action.close()));
    this.actions.clear();
    if (!this.pool.ended) await this.pool.end();
    this.current = { state: 'stopped' };
  }

  test(): Promise<ConnectionTestReport> {
    return testPostgresConnection(this.config);
  }

  status(): ConnectorStatus {
    return this.current;
  }

  /** Once started, a failing connection shows as connecting with its reason; a success as connected. */
  private onResult(error: ActionWriteError | undefined): void {
    if (this.current.state === 'stopped' || this.current.state === 'disconnected') return;
    if (error === undefined) {
      if (this.current.state !== 'connected') this.current = { state: 'connected' };
    } else if (error.retriable) {
      this.current = { state: 'connecting', reason: error.message };
    }
  }

  /** Names the failing stage of a connect that failed, by running the staged test. */
  private async diagnose(error: unknown): Promise<string> {
    try {
      const report = await this.test();
      const failed = report.stages.find((stage) => !stage.ok);
      if (failed !== undefined) return `${failed.stage} stage failed: ${failed.detail}`;
    } catch {
      // the test itself failed; fall back to pg's own words
    }
    return this.safe(error instanceof Error ? error.message : String(error));
  }

  private safe(text: string): string {
    return redact(text, this.config.password);
  }
}

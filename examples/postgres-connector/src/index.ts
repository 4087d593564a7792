import { plugin } from './plugin';

export { plugin, postgresConnector, postgresModule, bindPostgresConnector } from './plugin';
export { PostgresConnector } from './postgres-connector';
export { PostgresAction, POSTGRES_METRIC_KINDS } from './postgres-action';
export { testPostgresConnection } from './connection-test';
export {
  PostgresConnectorConfig, PostgresActionSettings, parsePostgresConnectorConfig, parsePostgresActionSettings,
  type PostgresConnectorOptions, type PostgresActionOptions,
} from './postgres-config';
export { classifyPostgresError, type PostgresFailure } from './postgres-errors';
export { compileSqlTemplate, SqlTemplateError, type SqlTemplate } from './sql-template';

// `plugins:` entries take the module's `plugin` export or its default export.
export default plugin;

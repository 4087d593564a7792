import { Connector, ContainerModule, defineConnector, definePlugin, Logger, silentLogger } from '@sluice/core';
import { PostgresActionSettings, PostgresConnectorConfig, type PostgresConnectorOptions, parsePostgresConnectorConfig } from './postgres-config';
import { PostgresConnector } from './postgres-connector';

/** Binds one PostgresConnector to core's Connector token, for settings already validated. */
export function bindPostgresConnector(config: PostgresConnectorConfig): ContainerModule {
  return new ContainerModule((module) => {
    module.bind<Connector>(Connector).toDynamicValue((context) => {
      const root = context.get<Logger>(Logger, { optional: true }) ?? silentLogger;
      return new PostgresConnector(config, root.child(`postgres/${config.id}`));
    }).inSingletonScope();
  });
}

/** For code that composes an integration itself: validates (ConfigError, values never echoed) and binds. */
export function postgresModule(options: PostgresConnectorOptions): ContainerModule {
  return bindPostgresConnector(parsePostgresConnectorConfig(options));
}

/** `type: postgres` in a config file: a PostgreSQL database that actions INSERT rule outputs into. */
export const postgresConnector = defineConnector({
  type: 'postgres',
  summary: 'A PostgreSQL database that actions write rule outputs to with a parameterised SQL statement, batched into multi-row INSERTs.',
  settings: PostgresConnectorConfig,
  actionSettings: PostgresActionSettings,
  module: bindPostgresConnector,
});

/** This package as a plugin: what a config file's `plugins:` entry loads. */
export const plugin = definePlugin({ name: '@sluice-examples/postgres-connector', core: '^0.1.0', descriptors: [postgresConnector] });

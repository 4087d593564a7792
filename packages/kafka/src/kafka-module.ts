import { ContainerModule, Logger, Connector, silentLogger } from '@sluice/core';
import { resolveTls } from './kafka-client-config';
import { createRenewableProducer, KafkaConnector } from './kafka-connector';
import { type KafkaConnectorConfig, type KafkaConnectorOptions, parseKafkaConnectorConfig } from './kafka-connector-config';

/**
 * Binds one KafkaConnector to core's Connector token. Throws ConfigError at once for bad
 * options or unreadable TLS files, before anything connects.
 */
export function kafkaModule(options: KafkaConnectorOptions): ContainerModule {
  return bindKafkaConnector(parseKafkaConnectorConfig(options));
}

/** kafkaModule for settings already validated (the plugin descriptor's path: config files, the API). */
export function bindKafkaConnector(config: KafkaConnectorConfig): ContainerModule {
  resolveTls(config);
  return new ContainerModule((module) => {
    module.bind<Connector>(Connector).toDynamicValue((context) => {
      const root = context.get<Logger>(Logger, { optional: true }) ?? silentLogger;
      const logger = root.child(`kafka/${config.id}`);
      return new KafkaConnector(config, createRenewableProducer(config, logger), logger);
    }).inSingletonScope();
  });
}

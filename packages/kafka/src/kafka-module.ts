import { ContainerModule, Logger, Sink, silentLogger } from '@sluice/core';
import { resolveTls } from './kafka-client-config';
import { createKafkaProducer, KafkaSink } from './kafka-sink';
import { type KafkaSinkOptions, parseKafkaSinkConfig } from './kafka-sink-config';

/**
 * Binds one KafkaSink (a Kafka connector) to core's Sink token. Throws ConfigError at once for bad
 * options or unreadable TLS files, before anything connects.
 */
export function kafkaModule(options: KafkaSinkOptions): ContainerModule {
  const config = parseKafkaSinkConfig(options);
  resolveTls(config);
  return new ContainerModule((module) => {
    module.bind<Sink>(Sink).toDynamicValue((context) => {
      const root = context.get<Logger>(Logger, { optional: true }) ?? silentLogger;
      const logger = root.child(`kafka/${config.id}`);
      return new KafkaSink(config, createKafkaProducer(config, logger), logger);
    }).inSingletonScope();
  });
}

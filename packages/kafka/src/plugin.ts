import { defineConnector, definePlugin } from '@sluice/core';
import { KafkaActionSettings, KafkaConnectorConfig } from './kafka-connector-config';
import { bindKafkaConnector } from './kafka-module';

/** `type: kafka` in a config file: a Kafka cluster that actions produce records to. */
export const kafkaConnector = defineConnector({
  type: 'kafka',
  summary: 'A Kafka cluster (any Kafka 2.x–4.x, managed ones such as Upstash or Confluent Cloud over SASL/TLS) that actions produce records to.',
  settings: KafkaConnectorConfig,
  actionSettings: KafkaActionSettings,
  module: bindKafkaConnector,
});

/** @sluice/kafka as a plugin: what `sluice run` registers for `type: kafka`. */
export const plugin = definePlugin({ name: '@sluice/kafka', core: '^0.1.0', descriptors: [kafkaConnector] });

export { bindKafkaConnector, kafkaModule } from './kafka-module';
export { KafkaConnector, createKafkaProducer, type ConnectionTester } from './kafka-connector';
export { KafkaAction, KAFKA_METRIC_KINDS, type KafkaActionMetrics } from './kafka-action';
export { testKafkaConnection, type ConnectionTestOptions } from './connection-test';
export {
  KafkaConnectorConfig, KafkaActionSettings, parseKafkaConnectorConfig, parseKafkaActionSettings,
  type KafkaConnectorOptions, type KafkaActionOptions, type KafkaAuthentication, type KafkaSslOptions, type OauthTokenProvider,
} from './kafka-connector-config';
export type { ProducerClient, OverflowPolicy } from './record-batcher';
export { classifyKafkaError } from './kafka-errors';
export { murmur2, javaKeyPartition } from './partitioning';
export { bufferDirName } from './buffer-dir';
export { kafkaConnector, plugin } from './plugin';
export { KafkaClusterTopic, type ClusterTopicRecord, type ClusterTopicOptions } from './cluster-topic';

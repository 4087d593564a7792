export { kafkaModule } from './kafka-module';
export { KafkaSink, createKafkaProducer, type ConnectionTester } from './kafka-sink';
export { KafkaAction, KAFKA_METRIC_KINDS, type KafkaActionMetrics } from './kafka-action';
export { testKafkaConnection, type ConnectionTestOptions } from './connection-test';
export {
  KafkaSinkConfig, KafkaActionSettings, parseKafkaSinkConfig, parseKafkaActionSettings,
  type KafkaSinkOptions, type KafkaActionOptions, type KafkaAuthentication, type KafkaSslOptions, type OauthTokenProvider,
} from './kafka-sink-config';
export type { ProducerClient, OverflowPolicy } from './record-batcher';
export { classifyKafkaError } from './kafka-errors';
export { murmur2, javaKeyPartition } from './partitioning';
export { bufferDirName } from './buffer-dir';

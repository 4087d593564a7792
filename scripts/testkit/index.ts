// Helpers for Sluice's integration tests, against the real brokers the `integration` jest project
// brings up (scripts/testkit/global-setup.js). See docs/brokers.md.
export { randomName } from './names';
export {
  kafkaBroker,
  kafkaBrokerFile,
  kafkaConfig,
  createTopic,
  deleteTopic,
  topicRecordCount,
  consumeRecords,
  type KafkaBroker,
  type KafkaCredentials,
  type KafkaSecurity,
  type ConsumedRecord,
  type ConsumeOptions,
} from './kafka';
export { mqttUrl, publish, subscribeMqtt, type PublishOptions, type ReceivedMqtt, type MqttSubscription, type SubscribeOptions } from './mqtt';
export { startMosquitto, type MosquittoOptions, type TestMosquitto } from './mosquitto';
export { dumpTopicWithJava, parseDump, type StoredBatch } from './java-log-dump';
export { chromiumExecutable, launchChromium } from './browser';
export { startSchemaRegistry, type TestSchemaRegistry } from './schema-registry';
export { startHiveMq, hivemqUrl, type HiveMqOptions, type TestHiveMq } from './hivemq';

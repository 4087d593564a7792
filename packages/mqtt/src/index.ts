export { mqttModule } from './mqtt-module';
export { MqttSource, type MqttClientFactory } from './mqtt-source';
export { MqttSourceConfig, type MqttSourceOptions, parseMqttSourceConfig } from './mqtt-source-config';
export { compileTopicPattern, type IdentitySource } from './identity';

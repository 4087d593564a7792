export { mqttModule } from './mqtt-module';
export { MqttSource, type MqttClientFactory } from './mqtt-source';
export { MqttSourceConfig, type MqttSourceOptions, parseMqttSourceConfig } from './mqtt-source-config';
export { mqttBrokerModule } from './mqtt-broker-module';
export { AedesSource } from './aedes-source';
export { AedesSourceConfig, type AedesSourceOptions, parseAedesSourceConfig } from './aedes-source-config';
export { compileTopicPattern, type IdentitySource } from './identity';

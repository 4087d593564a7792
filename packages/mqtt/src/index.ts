export { bindMqttSource, mqttModule } from './mqtt-module';
export { MqttSource, type MqttClientFactory } from './mqtt-source';
export { MqttSourceConfig, type MqttSourceOptions, parseMqttSourceConfig } from './mqtt-source-config';
export { bindMqttBroker, mqttBrokerModule } from './mqtt-broker-module';
export { AedesSource } from './aedes-source';
export { AedesSourceConfig, type AedesSourceOptions, parseAedesSourceConfig } from './aedes-source-config';
export { compileTopicPattern, type IdentitySource } from './identity';
export { bindMqttPublishConnector, mqttPublishModule } from './mqtt-publish-module';
export { MqttPublishConnector, MqttPublishAction, MQTT_PUBLISH_METRIC_KINDS, type MqttPublishMetrics } from './mqtt-publish-connector';
export {
  MqttPublishConnectorConfig, MqttPublishActionSettings, parseMqttPublishConnectorConfig, parseMqttPublishActionSettings,
  type MqttPublishConnectorOptions, type MqttPublishActionOptions,
} from './mqtt-publish-config';
export { PublishRenderer, type RenderedPublish } from './publish-renderer';
export { republishLoops } from './republish-loops';
export { mqttBrokerSource, mqttPublishConnector, mqttSource, plugin } from './plugin';

import { defineConnector, defineSource, definePlugin } from '@sluice/core';
import { AedesSourceConfig } from './aedes-source-config';
import { bindMqttBroker } from './mqtt-broker-module';
import { bindMqttSource } from './mqtt-module';
import { MqttPublishActionSettings, MqttPublishConnectorConfig } from './mqtt-publish-config';
import { bindMqttPublishConnector } from './mqtt-publish-module';
import { MqttSourceConfig } from './mqtt-source-config';

/** `type: mqtt` under `sources:`: an MQTT broker Sluice subscribes to as a client. */
export const mqttSource = defineSource({
  type: 'mqtt',
  summary: 'An MQTT broker (3.1.1 or 5) that Sluice subscribes to as a client, acknowledging each message once every action stored it.',
  settings: MqttSourceConfig,
  module: bindMqttSource,
});

/** `type: mqtt-broker` under `sources:`: an MQTT broker embedded in the process, which devices connect to. */
export const mqttBrokerSource = defineSource({
  type: 'mqtt-broker',
  summary: 'An MQTT 3.1.1 broker embedded in the Sluice process (Aedes): devices connect to Sluice itself.',
  settings: AedesSourceConfig,
  module: bindMqttBroker,
});

/**
 * `type: mqtt` under `connectors:`: an MQTT broker that actions publish to (EMQX's republish). Sources
 * and connectors are separate namespaces, so the same `type` names the subscribing and the publishing side.
 */
export const mqttPublishConnector = defineConnector({
  type: 'mqtt',
  summary: 'An MQTT broker that actions publish rule outputs to (EMQX\'s republish; also a dead-letter topic for fallback actions).',
  settings: MqttPublishConnectorConfig,
  actionSettings: MqttPublishActionSettings,
  module: bindMqttPublishConnector,
});

/** @sluice/mqtt as a plugin: what `sluice run` registers for `type: mqtt` and `type: mqtt-broker`. */
export const plugin = definePlugin({ name: '@sluice/mqtt', core: '^0.1.0', descriptors: [mqttSource, mqttBrokerSource, mqttPublishConnector] });

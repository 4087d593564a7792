import { ContainerModule, Logger, Connector, silentLogger } from '@sluice/core';
import { connect } from 'mqtt';
import { type MqttPublishConnectorConfig, type MqttPublishConnectorOptions, parseMqttPublishConnectorConfig } from './mqtt-publish-config';
import { MqttPublishConnector } from './mqtt-publish-connector';
import { loadTls } from './mqtt-source-config';

/**
 * Binds one MqttPublishConnector (an MQTT connector that actions publish through: EMQX's "republish").
 * Throws ConfigError at once for bad options or unreadable TLS files, before anything connects.
 */
export function mqttPublishModule(options: MqttPublishConnectorOptions): ContainerModule {
  return bindMqttPublishConnector(parseMqttPublishConnectorConfig(options));
}

/** mqttPublishModule for settings already validated (the plugin descriptor's path: config files, the API). */
export function bindMqttPublishConnector(config: MqttPublishConnectorConfig): ContainerModule {
  const tls = loadTls(config);
  return new ContainerModule((module) => {
    module.bind<Connector>(Connector).toDynamicValue((context) => {
      const root = context.get<Logger>(Logger, { optional: true }) ?? silentLogger;
      const logger = root.child(`mqtt-publish/${config.id}`);
      return new MqttPublishConnector(config, (clientOptions) => connect(config.url, clientOptions), logger, tls);
    }).inSingletonScope();
  });
}

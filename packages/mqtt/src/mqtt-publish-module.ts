import { ContainerModule, Logger, Sink, silentLogger } from '@sluice/core';
import { connect } from 'mqtt';
import { type MqttPublishSinkOptions, parseMqttPublishSinkConfig } from './mqtt-publish-config';
import { MqttPublishSink } from './mqtt-publish-sink';
import { loadTls } from './mqtt-source-config';

/**
 * Binds one MqttPublishSink (an MQTT connector that actions publish through: EMQX's "republish").
 * Throws ConfigError at once for bad options or unreadable TLS files, before anything connects.
 */
export function mqttPublishModule(options: MqttPublishSinkOptions): ContainerModule {
  const config = parseMqttPublishSinkConfig(options);
  const tls = loadTls(config);
  return new ContainerModule((module) => {
    module.bind<Sink>(Sink).toDynamicValue((context) => {
      const root = context.get<Logger>(Logger, { optional: true }) ?? silentLogger;
      const logger = root.child(`mqtt-publish/${config.id}`);
      return new MqttPublishSink(config, (clientOptions) => connect(config.url, clientOptions), logger, tls);
    }).inSingletonScope();
  });
}

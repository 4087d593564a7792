import { ContainerModule, Logger, Source } from '@sluice/core';
import { connect } from 'mqtt';
import { MqttSource } from './mqtt-source';
import { type MqttSourceConfig, type MqttSourceOptions, loadTls, parseMqttSourceConfig } from './mqtt-source-config';

/**
 * Binds one MqttSource (client mode: Sluice subscribes to an existing broker).
 * Throws ConfigError at once for bad options or unreadable TLS files, before anything connects.
 */
export function mqttModule(options: MqttSourceOptions): ContainerModule {
  return bindMqttSource(parseMqttSourceConfig(options));
}

/** mqttModule for settings already validated (the plugin descriptor's path: config files, the API). */
export function bindMqttSource(config: MqttSourceConfig): ContainerModule {
  const tls = loadTls(config);
  return new ContainerModule((bind) => {
    bind
      .bind<Source>(Source)
      .toDynamicValue((ctx) => {
        const logger = ctx.get<Logger>(Logger).child(`mqtt/${config.id}`);
        return new MqttSource(config, (clientOptions) => connect(config.url, clientOptions), logger, tls);
      })
      .inSingletonScope();
  });
}

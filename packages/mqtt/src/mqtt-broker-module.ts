import { ContainerModule, Logger, Source } from '@sluice/core';
import { AedesSource } from './aedes-source';
import { type AedesSourceConfig, type AedesSourceOptions, parseAedesSourceConfig } from './aedes-source-config';

/**
 * Binds one AedesSource: an embedded MQTT 3.1.1 broker that devices connect to directly.
 * Throws ConfigError at once for bad options.
 */
export function mqttBrokerModule(options: AedesSourceOptions): ContainerModule {
  return bindMqttBroker(parseAedesSourceConfig(options));
}

/** mqttBrokerModule for settings already validated (the plugin descriptor's path: config files, the API). */
export function bindMqttBroker(config: AedesSourceConfig): ContainerModule {
  return new ContainerModule((bind) => {
    bind
      .bind<Source>(Source)
      .toDynamicValue((ctx) => new AedesSource(config, ctx.get<Logger>(Logger).child(`mqtt-broker/${config.id}`)))
      .inSingletonScope();
  });
}

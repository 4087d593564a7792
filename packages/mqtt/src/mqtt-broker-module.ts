import { ContainerModule, Logger, Source } from '@sluice/core';
import { AedesSource } from './aedes-source';
import { type AedesSourceOptions, parseAedesSourceConfig } from './aedes-source-config';

/**
 * Binds one AedesSource: an embedded MQTT 3.1.1 broker that devices connect to directly.
 * Throws ConfigError at once for bad options.
 */
export function mqttBrokerModule(options: AedesSourceOptions): ContainerModule {
  const config = parseAedesSourceConfig(options);
  return new ContainerModule((bind) => {
    bind
      .bind<Source>(Source)
      .toDynamicValue((ctx) => new AedesSource(config, ctx.get<Logger>(Logger).child(`mqtt-broker/${config.id}`)))
      .inSingletonScope();
  });
}

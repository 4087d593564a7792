import { ConfigError, type ContainerModule } from '@sluice/core';
import { KafkaActionSettings, KafkaConnectorConfig, kafkaModule } from '@sluice/kafka';
import {
  AedesSourceConfig, MqttPublishActionSettings, MqttPublishConnectorConfig, MqttSourceConfig, mqttBrokerModule, mqttModule, mqttPublishModule,
} from '@sluice/mqtt';
import type { z } from 'zod';

/** A config-file `type` and the module factory that validates its options and binds it. */
type ModuleFactory = (options: Record<string, unknown>) => ContainerModule;

// Factories take the plugin's own input type; the config file is validated by that plugin's schema, so
// handing it the untyped entry is safe (a wrong shape becomes a ConfigError with paths).
export const sourcePlugins: Readonly<Record<string, ModuleFactory>> = {
  mqtt: (options) => mqttModule(options as Parameters<typeof mqttModule>[0]),
  'mqtt-broker': (options) => mqttBrokerModule(options as Parameters<typeof mqttBrokerModule>[0]),
};

export const connectorPlugins: Readonly<Record<string, ModuleFactory>> = {
  kafka: (options) => kafkaModule(options as Parameters<typeof kafkaModule>[0]),
  // Publishing to an MQTT broker (EMQX's republish). Its own namespace: a source and a connector may
  // both be `type: mqtt`, one subscribing and one publishing.
  mqtt: (options) => mqttPublishModule(options as Parameters<typeof mqttPublishModule>[0]),
};

/**
 * The plugins' own zod schemas, by config-file `type`, for the editor JSON Schema and the generated
 * configuration reference (imported from the plugins, never copied). A connector type also gives the
 * schema of its actions' settings.
 */
export const sourceSchemas: Readonly<Record<string, z.ZodType>> = {
  mqtt: MqttSourceConfig,
  'mqtt-broker': AedesSourceConfig,
};

export const connectorSchemas: Readonly<Record<string, { readonly config: z.ZodType; readonly action: z.ZodType }>> = {
  kafka: { config: KafkaConnectorConfig, action: KafkaActionSettings },
  mqtt: { config: MqttPublishConnectorConfig, action: MqttPublishActionSettings },
};

/**
 * Builds the module of one `sources[i]` / `connectors[i]` entry. Its ConfigError paths are prefixed with
 * the entry's own path, so the message points at the right place in the file.
 */
export function buildPluginModule(
  kind: 'sources' | 'connectors',
  index: number,
  entry: { readonly type: string } & Record<string, unknown>,
): ContainerModule {
  const plugins = kind === 'sources' ? sourcePlugins : connectorPlugins;
  const path = `${kind}[${index}]`;
  const { type, ...options } = entry;
  const factory = plugins[type];
  if (factory === undefined) {
    throw new ConfigError('sluice', [{ path: `${path}.type`, message: `unknown ${kind === 'sources' ? 'source' : 'connector'} type "${type}" (known: ${Object.keys(plugins).join(', ')})` }]);
  }
  try {
    return factory(options);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(error.plugin, error.issues.map((issue) => ({ path: issue.path === '' ? path : `${path}.${issue.path}`, message: issue.message })), { cause: error });
    }
    throw error;
  }
}

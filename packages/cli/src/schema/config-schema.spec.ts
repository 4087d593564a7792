import { describe, expect, it } from '@jest/globals';
import { ContainerModule, CORE_VERSION, defineConnector, definePlugin, defineSource } from '@sluice/core';
import { KafkaActionSettings, KafkaConnectorConfig } from '@sluice/kafka';
import { z } from 'zod';
import { PluginRegistry } from '../plugins';
import { configJsonSchema, connectorPluginSchemas, undescribedKeys, type JsonSchema } from './config-schema';
import { fillGeneratedBlocks, GeneratedBlockError, kafkaReferenceBlocks } from './kafka-reference';
import { configurationReference, flatten } from './reference';

const noBindings = (): ContainerModule => new ContainerModule(() => {});

/** A third-party plugin as a plugin author would write it; `settings`/`actionSettings` swap in schemas missing a description. */
function acmePlugin(overrides: { settings?: z.ZodType; actionSettings?: z.ZodType } = {}) {
  const webhook = defineConnector({
    type: 'webhook',
    summary: 'An HTTP endpoint that actions POST rule outputs to.',
    settings: overrides.settings ?? z.strictObject({
      id: z.string().min(1).describe('Unique connector id; actions name it in `connector`.'),
      url: z.string().url().describe('Endpoint URL.').meta({ examples: ['https://hooks.example.com/sluice'] }),
      auth: z.strictObject({ token: z.string().min(1).describe('Bearer token; use `${env:NAME}`.') }).optional().describe('Authentication of the requests.'),
    }),
    actionSettings: overrides.actionSettings ?? z.strictObject({
      path: z.string().default('/').describe('Path appended to the URL, a template.'),
    }),
    module: noBindings,
  });
  const ticker = defineSource({
    type: 'ticker',
    summary: 'A clock that emits one message per interval.',
    settings: z.strictObject({ id: z.string().describe('Unique source id.'), everyMs: z.number().int().positive().default(1000).describe('Interval in milliseconds.') }),
    module: noBindings,
  });
  return definePlugin({ name: '@acme/sluice-webhook', core: CORE_VERSION, descriptors: [webhook, ticker] });
}

function withAcme(plugin = acmePlugin()): PluginRegistry {
  const registry = PluginRegistry.withBuiltIns();
  registry.register(plugin);
  return registry;
}

describe(configJsonSchema.name, () => {
  const schema = configJsonSchema();

  it('describes every key of the config file and of every built-in plugin', () => {
    expect(undescribedKeys(schema)).toEqual([]);
  });

  it('describes every key of a third-party plugin that describes its own', () => {
    expect(undescribedKeys(configJsonSchema(withAcme()))).toEqual([]);
  });

  it('names each key whose zod schema has no .describe(), nested ones and action settings included', () => {
    const settings = z.strictObject({
      id: z.string().describe('Unique connector id.'),
      url: z.string(),
      auth: z.strictObject({ token: z.string() }).optional().describe('Authentication of the requests.'),
    });
    expect(undescribedKeys(configJsonSchema(withAcme(acmePlugin({ settings }))))).toEqual(['connectors[webhook].url', 'connectors[webhook].auth.token']);
    const undescribed = undescribedKeys(configJsonSchema(withAcme(acmePlugin({ actionSettings: z.strictObject({ path: z.string().default('/') }) }))));
    // on the action itself and wherever the connector type can be a fallback
    expect(undescribed).toEqual(expect.arrayContaining(['rules[].actions[webhook].path', 'rules[].actions[kafka].fallbackActions[webhook].path']));
    expect(undescribed.filter((path) => !path.endsWith('[webhook].path'))).toEqual([]);
  });

  it('includes a third-party plugin\'s types, described by their summary, with their keys\' descriptions and examples', () => {
    const acme = configJsonSchema(withAcme());
    const sources = acme.properties?.['sources']?.items?.oneOf as JsonSchema[];
    expect(sources.map((s) => s.properties?.['type']?.const)).toEqual(['mqtt', 'mqtt-broker', 'ticker']);
    const webhook = (acme.properties?.['connectors']?.items?.oneOf as JsonSchema[]).find((c) => c.properties?.['type']?.const === 'webhook') as JsonSchema;
    expect(webhook.properties?.['type']?.description).toBe('An HTTP endpoint that actions POST rule outputs to.');
    expect(webhook.properties?.['url']).toMatchObject({ description: 'Endpoint URL.', examples: ['https://hooks.example.com/sluice'] });
    expect(webhook.required).toEqual(['type', 'id', 'url']);
    const actions = acme.properties?.['rules']?.items?.properties?.['actions']?.items?.anyOf as JsonSchema[];
    expect(actions.map((a) => a.title)).toEqual(['kafka', 'mqtt', 'webhook']);
    expect(actions[2]?.properties?.['path']).toMatchObject({ default: '/', description: 'Path appended to the URL, a template.' });
    expect(actions[2]?.properties?.['connector']?.description).toBe('Id of the connector the action writes through.');
  });

  it('picks the plugin schema by `type` and refuses unknown keys', () => {
    const sources = schema.properties?.['sources']?.items?.oneOf as JsonSchema[];
    expect(sources.map((s) => s.properties?.['type']?.const)).toEqual(['mqtt', 'mqtt-broker']);
    const mqtt = sources[0] as JsonSchema;
    expect(mqtt.required).toEqual(['type', 'id', 'url']);
    expect(mqtt.additionalProperties).toBe(false);
    expect(mqtt.properties?.['qos']).toMatchObject({ default: 1, description: expect.stringContaining('QoS') });
    const kafka = schema.properties?.['connectors']?.items?.oneOf?.[0] as JsonSchema;
    expect(kafka.properties?.['type']?.const).toBe('kafka');
    expect(kafka.properties?.['authentication']?.description).toContain('scram-sha-256');
  });

  it('gives actions the core keys and each connector type\'s action settings', () => {
    const variants = schema.properties?.['rules']?.items?.properties?.['actions']?.items?.anyOf as JsonSchema[];
    expect(variants.map((v) => v.title)).toEqual(['kafka', 'mqtt']);
    const [kafka, mqtt] = variants as [JsonSchema, JsonSchema];
    expect(Object.keys(kafka.properties ?? {})).toEqual(expect.arrayContaining(['connector', 'id', 'topic', 'key', 'value', 'requiredAcks']));
    expect(kafka.required).toEqual(['connector', 'topic']);
    expect(kafka.additionalProperties).toBe(false);
    expect(Object.keys(mqtt.properties ?? {})).toEqual(expect.arrayContaining(['connector', 'id', 'topic', 'payload', 'qos', 'retain', 'userProperties']));
    expect(mqtt.properties?.['key']).toBeUndefined();
    expect(mqtt.additionalProperties).toBe(false);
    // `topic` means a Kafka topic on one and an MQTT topic on the other: each plugin describes its own.
    expect(kafka.properties?.['topic']?.description).toMatch(/^Kafka topic, a template/);
    expect(mqtt.properties?.['topic']?.description).toMatch(/^MQTT topic to publish to, a template/);
    expect(kafka.properties?.['topic']?.examples).toContain('t-${payload.site}');
  });

  it('lets any connector type be the fallback of any action (a Kafka action with an MQTT dead letter)', () => {
    const [kafka] = schema.properties?.['rules']?.items?.properties?.['actions']?.items?.anyOf as JsonSchema[];
    const fallbacks = kafka?.properties?.['fallbackActions']?.items?.anyOf as JsonSchema[];
    expect(fallbacks.map((f) => f.title)).toEqual(['kafka', 'mqtt']);
    expect(fallbacks[0]?.properties?.['topic']?.description).toBe(KafkaActionSettings.shape.topic.description);
    expect(fallbacks[1]?.properties?.['topic']?.description).toMatch(/^MQTT topic to publish to/);
    expect(fallbacks[0]?.properties?.['connector']?.description).toBe('Id of the connector the fallback action writes through.');
    expect(fallbacks[1]?.properties?.['qos']).toMatchObject({ default: 0 });
  });

  it('keeps the examples of a transforming schema (given on its input side)', () => {
    const kafka = schema.properties?.['connectors']?.items?.oneOf?.[0] as JsonSchema;
    expect(kafka.properties?.['bootstrapHosts']?.examples).toContainEqual(['kafka-1:9092', 'kafka-2:9092']);
  });

  it('keeps the runner settings with their defaults', () => {
    expect(schema.properties?.['http']?.properties?.['port']).toMatchObject({ type: 'integer', default: 8081 });
    // rules may be left out (the console adds them); a source is needed to run at all
    expect(schema.required).toEqual(['sources']);
  });
});

describe(configurationReference.name, () => {
  const text = configurationReference();

  it('lists each documented key once per section, with type, default and description', () => {
    expect(text).toContain('| `http.port` | integer 0–65535 | `8081` | TCP port; 0 picks a free one (logged at start-up). |');
    expect(text).toContain('| `qos` | `0` or `1` or `2` | `1` |');
    expect(text).toContain('| `bootstrapHosts` | string or array of string | **required** |');
    expect(text).toContain('# yaml-language-server: $schema=');
  });

  it('heads each source and connector type with its descriptor\'s summary and plugin, then its settings description', () => {
    expect(text).toContain('## `connectors[]` with `type: kafka`\n\nA Kafka cluster (any Kafka 2.x–4.x, managed ones such as Upstash or Confluent Cloud over SASL/TLS) that actions produce records to. Provided by `@sluice/kafka`.\n\nOne kafkajs connection, shared by every action that names the connector.\n\n| key |');
  });

  it('has a section for each type of a third-party plugin', () => {
    const acme = configurationReference(withAcme());
    expect(acme).toContain('## `connectors[]` with `type: webhook`\n\nAn HTTP endpoint that actions POST rule outputs to. Provided by `@acme/sluice-webhook`.\n\n| key |');
    expect(acme).toContain('| `auth.token` | string | **required** | Bearer token; use `${env:NAME}`. |');
    expect(acme).toContain('## `sources[]` with `type: ticker`');
    expect(acme).toContain('## `rules[].actions[]` on a `type: webhook` connector');
  });
});

describe('defaults of transforming schemas', () => {
  const schema = configJsonSchema();
  const kafka = connectorPluginSchemas()['kafka'] as { config: JsonSchema; action: JsonSchema };

  it('keeps the default of a duration, a size, and an Infinity (as "infinity"), each a valid input', () => {
    expect(kafka.config.properties?.['connectTimeout']?.default).toBe(5000);
    expect(kafka.action.properties?.['maxBatchBytes']?.default).toBe(896 * 1024);
    expect(kafka.action.properties?.['maxRetries']?.default).toBe('infinity');
    expect(KafkaActionSettings.parse({ topic: 't', ...Object.fromEntries(
      Object.entries(kafka.action.properties ?? {}).filter(([, child]) => child.default !== undefined).map(([key, child]) => [key, child.default]),
    ) })).toEqual(KafkaActionSettings.parse({ topic: 't' }));
  });

  it('shows a default for every key whose zod schema has one', () => {
    const withDefault = (shape: Record<string, { def: { type: string } }>): string[] =>
      Object.entries(shape).filter(([, child]) => child.def.type === 'default').map(([key]) => key);
    expect(withDefault(KafkaConnectorConfig.shape).filter((key) => kafka.config.properties?.[key]?.default === undefined)).toEqual([]);
    expect(withDefault(KafkaActionSettings.shape).filter((key) => kafka.action.properties?.[key]?.default === undefined)).toEqual([]);
  });

  it("gives every object default the same values as its keys' own defaults", () => {
    // Otherwise leaving the object out and giving it empty would configure different things.
    const rows = [...flatten(kafka.config), ...flatten(kafka.action), ...flatten(schema)];
    expect(rows.filter((row) => row.type === 'object' && row.default.startsWith('`{'))).toEqual([]);
  });
});

describe(kafkaReferenceBlocks.name, () => {
  const blocks = kafkaReferenceBlocks();
  const connector = blocks['kafka connector settings'] as string;
  const action = blocks['kafka action settings'] as string;

  it('has a row for every key of KafkaConnectorConfig and KafkaActionSettings, nested keys dotted', () => {
    const rowFor = (table: string, key: string): boolean => table.includes(`\n| \`${key}\` |`);
    expect(Object.keys(KafkaConnectorConfig.shape).filter((key) => !rowFor(connector, key))).toEqual([]);
    expect(Object.keys(KafkaActionSettings.shape).filter((key) => key !== 'connector' && !rowFor(action, key))).toEqual([]);
    expect(['buffer.limit', 'buffer.mode', 'retryBackoff.max', 'extHeaders[].key'].filter((key) => !rowFor(action, key))).toEqual([]);
    expect(['retry.retries', 'ssl.verify', 'authentication.mechanism'].filter((key) => !rowFor(connector, key))).toEqual([]);
  });

  it('gives type or allowed values, the default in the units users write, and the description', () => {
    expect(connector).toContain(`| \`connectTimeout\` | integer ≥ 0 or duration | \`5s\` | ${KafkaConnectorConfig.shape.connectTimeout.description as string} |`);
    expect(action).toContain('| `buffer.limit` | integer ≥ 1 or size | `256MB` |');
    expect(action).toContain('| `maxLingerTime` | integer ≥ 0 or duration | `0ms` |');
    expect(action).toContain('| `buffer.maxBatchAge` | `"infinity"` or integer ≥ 0 or duration | `"infinity"` |');
    expect(action).toContain("| `retryBackoff` | object | its keys' defaults |");
    expect(action).toContain('| `partitionsLimit` | integer ≥ 1 | — |');
    expect(connector).not.toContain('| `type` |');
  });
});

describe(fillGeneratedBlocks.name, () => {
  const page = 'intro\n\n<!-- generated: t -->\nold table\n<!-- end generated -->\n\nprose after\n';

  it('replaces what is between the markers and keeps the rest', () => {
    const out = fillGeneratedBlocks(page, 'docs/x.md', { t: '| new |' });
    expect(out.startsWith('intro\n\n<!-- generated: t -->\n')).toBe(true);
    expect(out).toContain('\n| new |\n\n<!-- end generated -->\n\nprose after\n');
    expect(out).not.toContain('old table');
    expect(fillGeneratedBlocks(out, 'docs/x.md', { t: '| new |' })).toBe(out);
  });

  it('names the file and the fix when a block is missing or repeated', () => {
    expect(() => fillGeneratedBlocks('no markers', 'docs/x.md', { t: '' })).toThrow(GeneratedBlockError);
    expect(() => fillGeneratedBlocks('no markers', 'docs/x.md', { t: '' })).toThrow(/docs\/x\.md has no "<!-- generated: t -->".*npm run schema -w @sluice\/cli/);
    expect(() => fillGeneratedBlocks(`${page}${page}`, 'docs/x.md', { t: '' })).toThrow(/docs\/x\.md has "<!-- generated: t -->" twice/);
  });
});

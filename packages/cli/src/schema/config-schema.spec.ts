import { describe, expect, it } from '@jest/globals';
import { KafkaActionSettings, KafkaConnectorConfig } from '@sluice/kafka';
import { configJsonSchema, connectorPluginSchemas, descriptionOf, schemaPaths, type JsonSchema } from './config-schema';
import { DESCRIPTIONS } from './descriptions';
import { fillGeneratedBlocks, GeneratedBlockError, kafkaReferenceBlocks } from './kafka-reference';
import { configurationReference, flatten } from './reference';

describe(configJsonSchema.name, () => {
  const schema = configJsonSchema();
  const paths = schemaPaths(schema);

  it('describes every key of the config file and of every plugin', () => {
    expect(paths.filter((path) => descriptionOf(path) === undefined)).toEqual([]);
  });

  it('has no description for a key that no longer exists', () => {
    expect(Object.keys(DESCRIPTIONS).filter((key) => !paths.includes(key))).toEqual([]);
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
    // `topic` means a Kafka topic on one and an MQTT topic on the other.
    expect(kafka.properties?.['topic']?.description).toBe(DESCRIPTIONS['rules[].actions[].topic']);
    expect(mqtt.properties?.['topic']?.description).toBe(DESCRIPTIONS['rules[].actions[mqtt].topic']);
  });

  it('lets any connector type be the fallback of any action (a Kafka action with an MQTT dead letter)', () => {
    const [kafka] = schema.properties?.['rules']?.items?.properties?.['actions']?.items?.anyOf as JsonSchema[];
    const fallbacks = kafka?.properties?.['fallbackActions']?.items?.anyOf as JsonSchema[];
    expect(fallbacks.map((f) => f.title)).toEqual(['kafka', 'mqtt']);
    expect(fallbacks[0]?.properties?.['topic']?.description).toBe(DESCRIPTIONS['rules[].actions[].topic']);
    expect(fallbacks[1]?.properties?.['topic']?.description).toBe(DESCRIPTIONS['rules[].actions[mqtt].topic']);
    expect(fallbacks[1]?.properties?.['qos']).toMatchObject({ default: 0 });
  });

  it('keeps the runner settings with their defaults', () => {
    expect(schema.properties?.['http']?.properties?.['port']).toMatchObject({ type: 'integer', default: 8081 });
    expect(schema.required).toEqual(['sources', 'rules']);
  });
});

describe(configurationReference.name, () => {
  const text = configurationReference(configJsonSchema());

  it('lists each documented key once per section, with type, default and description', () => {
    expect(text).toContain('| `http.port` | integer 0–65535 | `8081` | TCP port; 0 picks a free one (logged at start-up). |');
    expect(text).toContain('| `qos` | `0` or `1` or `2` | `1` |');
    expect(text).toContain('| `bootstrapHosts` | string or array of string | **required** |');
    expect(text).toContain('# yaml-language-server: $schema=');
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
    expect(connector).toContain(`| \`connectTimeout\` | integer ≥ 0 or duration | \`5s\` | ${DESCRIPTIONS['connectors[kafka].connectTimeout']} |`);
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

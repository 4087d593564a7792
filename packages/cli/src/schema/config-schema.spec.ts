import { describe, expect, it } from '@jest/globals';
import { configJsonSchema, descriptionOf, schemaPaths, type JsonSchema } from './config-schema';
import { DESCRIPTIONS } from './descriptions';
import { configurationReference } from './reference';

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

  it('gives actions the core keys and the Kafka action settings', () => {
    const action = schema.properties?.['rules']?.items?.properties?.['actions']?.items as JsonSchema;
    expect(Object.keys(action.properties ?? {})).toEqual(expect.arrayContaining(['connector', 'id', 'topic', 'key', 'value', 'requiredAcks']));
    expect(action.required).toEqual(['connector', 'topic']);
    expect(action.additionalProperties).toBe(false);
    expect(action.properties?.['fallbackActions']?.items?.properties?.['topic']?.description).toBe(DESCRIPTIONS['rules[].actions[].topic']);
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

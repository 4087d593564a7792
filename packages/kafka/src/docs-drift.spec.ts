import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { KafkaActionSettings, KafkaSinkConfig } from './kafka-sink-config';

// docs/kafka.md is written by hand; this keeps its option tables from drifting from the schemas.
const docs = readFileSync(path.resolve(__dirname, '../../../docs/kafka.md'), 'utf8');
const documented = (key: string): boolean => new RegExp(`^\\| \`${key}\``, 'm').test(docs);

describe('docs/kafka.md', () => {
  it.each(Object.keys(KafkaSinkConfig.shape))('documents the connector option %s', (key) => {
    expect(documented(key)).toBe(true);
  });

  it.each(Object.keys(KafkaActionSettings.shape).filter((key) => key !== 'connector'))('documents the action setting %s', (key) => {
    expect(documented(key)).toBe(true);
  });
});

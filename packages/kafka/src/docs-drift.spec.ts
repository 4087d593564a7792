import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { z } from 'zod';
import { KafkaActionSettings, KafkaConnectorConfig } from './kafka-connector-config';

// The option tables of docs/kafka.md are generated from these schemas (`npm run schema -w @sluice/cli`, whose
// `--check` CI runs). What stays hand-written is the EMQX comparison table; this keeps it honest: every
// setting has a row, and every name in its Sluice column exists.
const docs = readFileSync(path.resolve(__dirname, '../../../docs/kafka.md'), 'utf8');

/** The dotted paths below a zod schema: `buffer.limit`, `extHeaders[].key`; `all` also enters unions. */
function settingPaths(schema: z.ZodType, all: boolean, prefix = ''): string[] {
  const def = schema.def as unknown as { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; options?: z.ZodType[]; element?: z.ZodType };
  switch (def.type) {
    case 'default':
    case 'optional':
      return settingPaths(def.innerType as z.ZodType, all, prefix);
    case 'pipe':
      return settingPaths(def.in as z.ZodType, all, prefix);
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, child]) => [`${prefix}${key}`, ...settingPaths(child, all, `${prefix}${key}.`)]);
    case 'union':
      return all ? (def.options ?? []).flatMap((option) => settingPaths(option, all, prefix)) : [];
    case 'array':
      return all && prefix !== '' ? settingPaths(def.element as z.ZodType, all, `${prefix.slice(0, -1)}[].`) : [];
    default:
      return [];
  }
}

/** The backticked names in the Sluice column (the second) of the table under `### <title>` of the EMQX section. */
function sluiceNames(title: string): string[] {
  const section = docs.slice(docs.indexOf('## EMQX options and their Sluice names'));
  const start = section.indexOf(`### ${title}\n`);
  if (start === -1) throw new Error(`docs/kafka.md: no "### ${title}" table under "## EMQX options and their Sluice names"`);
  const lines = section.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  return lines.slice(first + 2, end)   // after the header and |---| rows
    .flatMap((line) => [...(line.split(/(?<!\\)\|/)[2] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1] as string));
}

/** A setting is covered when the table names it, one of its parents (`retry` covers `retry.retries`) or one of its children. */
const covered = (setting: string, names: readonly string[]): boolean =>
  names.some((name) => name === setting || setting.startsWith(`${name}.`) || name.startsWith(`${setting}.`));

const CORE_ACTION_KEYS = ['connector', 'fallbackActions'];

describe('docs/kafka.md, EMQX options and their Sluice names', () => {
  const known = new Set([...settingPaths(KafkaConnectorConfig, true), ...settingPaths(KafkaActionSettings, true), ...CORE_ACTION_KEYS]);

  it.each([
    ['Connector', KafkaConnectorConfig],
    ['Action', KafkaActionSettings],
  ] as const)('the %s table has a row for every setting', (title, schema) => {
    const names = sluiceNames(title);
    expect(settingPaths(schema, false).filter((setting) => !covered(setting, names))).toEqual([]);
  });

  it.each(['Connector', 'Action'])('the %s table names only settings that exist', (title) => {
    const names = sluiceNames(title);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((name) => !known.has(name))).toEqual([]);
  });
});

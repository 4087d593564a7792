import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '@sluice/core';
import type { SchemaType } from '@sluice/sql';

/** One entry of the config's `schemas:` section as validated: its text inline (`source`) or in a file. */
export interface SchemaEntry {
  readonly name: string;
  readonly type: SchemaType;
  readonly source?: string | undefined;
  readonly file?: string | undefined;
  readonly description?: string | undefined;
}

/** Largest schema file read (a .proto or Avro schema is kilobytes; this only stops a wrong path to a huge file). */
const MAX_SCHEMA_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The config's schemas with every `file` read into `source`, relative to the config file's directory
 * (once, when the config is loaded). A file that cannot be read is a ConfigError at `schemas[i].file`;
 * what is wrong inside a schema is found when the engine compiles it (sqlModule), with the schema's name.
 */
export function readSchemaFiles<T extends SchemaEntry>(entries: readonly T[], configFile: string): T[] {
  const issues: ConfigIssue[] = [];
  const out: T[] = [];
  entries.forEach((entry, i) => {
    if (entry.source !== undefined) {
      out.push(entry);
      return;
    }
    const path = resolve(dirname(configFile), entry.file ?? '');
    try {
      const text = readFileSync(path);
      if (text.length > MAX_SCHEMA_FILE_BYTES) throw Object.assign(new Error('too large'), { code: `larger than ${MAX_SCHEMA_FILE_BYTES} bytes` });
      out.push({ ...entry, source: text.toString('utf8') });
    } catch (error) {
      issues.push({ path: `schemas[${i}].file`, message: `schema "${entry.name}": cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
    }
  });
  if (issues.length > 0) throw new ConfigError('sluice', issues);
  return out;
}

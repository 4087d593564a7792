/**
 * `npm run schema -w @sluice/cli`: writes, from the zod schemas, schema/sluice.schema.json (and its copy
 * in the package, packages/cli/schema/), docs/configuration.md, and the generated tables of docs/kafka.md
 * (between its `<!-- generated: … -->` markers; the rest of that page is hand-written and kept).
 * `-- --check` writes nothing and exits 1 when any of them is out of date (for CI).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PluginRegistry } from '../plugins';
import { configJsonSchema, undescribedKeys } from './config-schema';
import { fillGeneratedBlocks, GeneratedBlockError, kafkaReferenceBlocks } from './kafka-reference';
import { configurationReference } from './reference';

const FIX = 'run `npm run schema -w @sluice/cli` (or `npm run schema` at the root) and commit the result';

function main(): void {
  const root = resolve(__dirname, '../../../..');
  const registry = PluginRegistry.withBuiltIns();
  const schema = configJsonSchema(registry);
  const undescribed = undescribedKeys(schema);
  if (undescribed.length > 0) {
    // Generated docs with empty cells would pass --check; refuse them instead.
    process.stderr.write(`npm run schema: these keys have no description: ${undescribed.join(', ')}; add \`.describe('...')\` to the zod schema that owns each one (a plugin's settings, packages/core/src/integration-config.ts or packages/cli/src/config-file.ts)\n`);
    process.exitCode = 1;
    return;
  }
  const kafkaDoc = join(root, 'docs/kafka.md');
  const outputs: Array<[string, string]> = [
    [join(root, 'schema/sluice.schema.json'), `${JSON.stringify(schema, null, 2)}\n`],
    // The same file inside the published package, so installed projects can point a modeline at
    // node_modules/@sluice/cli/schema/sluice.schema.json.
    [join(root, 'packages/cli/schema/sluice.schema.json'), `${JSON.stringify(schema, null, 2)}\n`],
    [join(root, 'docs/configuration.md'), configurationReference(registry, schema)],
    [kafkaDoc, fillGeneratedBlocks(readFileSync(kafkaDoc, 'utf8'), relative(root, kafkaDoc), kafkaReferenceBlocks(registry))],
  ];
  const names = outputs.map(([file]) => relative(root, file));
  const stale = outputs.filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => relative(root, file));
  if (process.argv.includes('--check')) {
    if (stale.length > 0) {
      process.stderr.write(`out of date (generated from the zod schemas of the config file and of each plugin): ${stale.join(', ')}; ${FIX}\n`);
      process.exitCode = 1;
    } else process.stdout.write(`${names.join(', ')} are up to date\n`);
    return;
  }
  for (const [file, text] of outputs) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  process.stdout.write(`wrote ${names.join(', ')}${stale.length === 0 ? ' (unchanged)' : ''}\n`);
}

try {
  main();
} catch (error) {
  if (!(error instanceof GeneratedBlockError)) throw error;
  // The message says which file and what to add; a stack trace would only bury it.
  process.stderr.write(`npm run schema: ${error.message}\n`);
  process.exitCode = 1;
}

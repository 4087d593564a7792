/**
 * `npm run schema -w @sluice/cli`: writes, from the zod schemas, schema/sluice.schema.json (and its copy
 * in the package, packages/cli/schema/), docs/configuration.md, and the generated tables of docs/kafka.md
 * (between its `<!-- generated: … -->` markers; the rest of that page is hand-written and kept).
 * `-- --check` writes nothing and exits 1 when any of them is out of date (for CI).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { configJsonSchema } from './config-schema';
import { fillGeneratedBlocks, GeneratedBlockError, kafkaReferenceBlocks } from './kafka-reference';
import { configurationReference } from './reference';

const FIX = 'run `npm run schema -w @sluice/cli` (or `npm run schema` at the root) and commit the result';

function main(): void {
  const root = resolve(__dirname, '../../../..');
  const schema = configJsonSchema();
  const kafkaDoc = join(root, 'docs/kafka.md');
  const outputs: Array<[string, string]> = [
    [join(root, 'schema/sluice.schema.json'), `${JSON.stringify(schema, null, 2)}\n`],
    // The same file inside the published package, so installed projects can point a modeline at
    // node_modules/@sluice/cli/schema/sluice.schema.json.
    [join(root, 'packages/cli/schema/sluice.schema.json'), `${JSON.stringify(schema, null, 2)}\n`],
    [join(root, 'docs/configuration.md'), configurationReference(schema)],
    [kafkaDoc, fillGeneratedBlocks(readFileSync(kafkaDoc, 'utf8'), relative(root, kafkaDoc), kafkaReferenceBlocks())],
  ];
  const names = outputs.map(([file]) => relative(root, file));
  const stale = outputs.filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => relative(root, file));
  if (process.argv.includes('--check')) {
    if (stale.length > 0) {
      process.stderr.write(`out of date (generated from the zod schemas and packages/cli/src/schema/descriptions.ts): ${stale.join(', ')}; ${FIX}\n`);
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

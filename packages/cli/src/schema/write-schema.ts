/**
 * `npm run schema -w @sluice/cli`: writes schema/sluice.schema.json (and its copy in the package,
 * packages/cli/schema/) and docs/configuration.md from the zod schemas. `-- --check` writes nothing and exits 1 when either file is out of date (for CI).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { configJsonSchema } from './config-schema';
import { configurationReference } from './reference';

const root = resolve(__dirname, '../../../..');
const schema = configJsonSchema();
const outputs: Array<[string, string]> = [
  [join(root, 'schema/sluice.schema.json'), `${JSON.stringify(schema, null, 2)}\n`],
  // The same file inside the published package, so installed projects can point a modeline at
  // node_modules/@sluice/cli/schema/sluice.schema.json.
  [join(root, 'packages/cli/schema/sluice.schema.json'), `${JSON.stringify(schema, null, 2)}\n`],
  [join(root, 'docs/configuration.md'), configurationReference(schema)],
];
const check = process.argv.includes('--check');
const stale = outputs.filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => relative(root, file));
if (check) {
  if (stale.length > 0) {
    process.stderr.write(`out of date: ${stale.join(', ')}; run \`npm run schema -w @sluice/cli\` and commit the result\n`);
    process.exitCode = 1;
  } else process.stdout.write('schema/sluice.schema.json, packages/cli/schema/sluice.schema.json and docs/configuration.md are up to date\n');
} else {
  for (const [file, text] of outputs) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  process.stdout.write(`wrote ${outputs.map(([file]) => relative(root, file)).join(', ')}${stale.length === 0 ? ' (unchanged)' : ''}\n`);
}

import { PluginRegistry } from '../plugins';
import { connectorPluginSchemas } from './config-schema';
import { flatten, settingsTable } from './reference';

/**
 * The generated parts of docs/kafka.md: the connector options and the action settings of `@sluice/kafka`,
 * each a table of every key (nested ones dotted) with its type, default and description, from the same
 * schemas as docs/configuration.md. The prose around them stays hand-written.
 */
export function kafkaReferenceBlocks(registry: PluginRegistry = PluginRegistry.withBuiltIns()): Record<string, string> {
  const kafka = connectorPluginSchemas(registry)['kafka'];
  if (kafka === undefined) throw new Error('the registry has no `kafka` connector type (@sluice/kafka\'s plugin)');
  // `type: kafka` exists only in config files; `connector` is the core key every action has.
  const connector = flatten(kafka.config).filter((row) => row.path !== 'type');
  const action = flatten(kafka.action).filter((row) => row.path !== 'connector');
  return {
    'kafka connector settings': settingsTable(connector, '', 'option'),
    'kafka action settings': settingsTable(action, '', 'setting'),
  };
}

/** A docs page whose generated blocks are missing or repeated: the message names the file and the fix. */
export class GeneratedBlockError extends Error {
  override readonly name = 'GeneratedBlockError';
}

const END = '<!-- end generated -->';
const NOTICE = '<!-- Generated from the zod schemas in packages/kafka/src/kafka-connector-config.ts (their `.describe()` texts) by `npm run schema -w @sluice/cli`; edits between these markers are overwritten. -->';

/**
 * `text` with the body of each `<!-- generated: <name> -->` … `<!-- end generated -->` block replaced.
 * Throws, naming the file and the block, when a block's markers are missing or repeated.
 */
export function fillGeneratedBlocks(text: string, file: string, blocks: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [name, body] of Object.entries(blocks)) {
    const start = `<!-- generated: ${name} -->`;
    const from = out.indexOf(start);
    const to = from === -1 ? -1 : out.indexOf(END, from);
    if (from === -1 || to === -1) {
      throw new GeneratedBlockError(`${file} has no "${start}" … "${END}" block: put those two lines, each on its own line, where the table belongs, then run \`npm run schema -w @sluice/cli\``);
    }
    if (out.indexOf(start, from + start.length) !== -1) throw new GeneratedBlockError(`${file} has "${start}" twice; keep one block`);
    out = `${out.slice(0, from)}${start}\n${NOTICE}\n\n${body}\n\n${out.slice(to)}`;
  }
  return out;
}

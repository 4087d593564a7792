import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The CLI's version, from its own package.json (lerna keeps every package on the same version). */
export function cliVersion(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

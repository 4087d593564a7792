import { ConfigStoreError } from './config-store';
import { isPlainObject } from './secret-entries';
import type { ConfigText, Section } from './yaml-config-text';

/**
 * A JSON config file, edited as data and written back as JSON with a 2-space indent (JSON has no
 * comments to keep, and a JSON file must stay JSON).
 */
export class JsonConfigText implements ConfigText {
  private readonly root: Record<string, unknown>;

  constructor(text: string) {
    const root: unknown = JSON.parse(text);
    if (!isPlainObject(root)) throw new ConfigStoreError('ERR_CONFIG_STORE', 'the config file does not hold a JSON object');
    this.root = root;
  }

  replaceEntry(section: Section, index: number, value: unknown): void {
    this.list(section)[index] = value;
  }

  appendEntry(section: Section, value: unknown): void {
    this.list(section).push(value);
  }

  removeEntry(section: Section, index: number): void {
    this.list(section).splice(index, 1);
  }

  toString(): string {
    return `${JSON.stringify(this.root, null, 2)}\n`;
  }

  private list(section: Section): unknown[] {
    const list = this.root[section] ?? (this.root[section] = []);
    if (!Array.isArray(list)) throw new ConfigStoreError('ERR_CONFIG_STORE', `"${section}" in the config file is not a list`);
    return list;
  }
}

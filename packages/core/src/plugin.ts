import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerModule } from 'inversify';
import type { z } from 'zod';

/**
 * What a plugin adds under a config-file `type`: a source (where messages come from) or a connector
 * (what actions write through).
 */
export type PluginKind = 'source' | 'connector';

/**
 * The one spec of a source or connector type. Validation (`sluice validate`, `sluice run`), the JSON
 * Schema, docs/configuration.md and the console's forms are all made from it, so its zod schemas carry
 * the documentation: `.describe('...')` on every key, `.meta({ examples: [...] })` where an example helps.
 */
interface DescriptorBase<Settings extends z.ZodType> {
  /** The config-file `type`, e.g. `kafka`. Lower case, digits and `-`. */
  readonly type: string;
  /** One sentence for the docs and the console: what this type connects to. */
  readonly summary: string;
  /** Settings of one `sources[]` / `connectors[]` entry, `id` included and `type` left out. */
  readonly settings: Settings;
  /**
   * Binds the source or connector built from the validated settings (their defaults applied). A method,
   * not a function property, so that a descriptor of specific settings is still a PluginDescriptor.
   */
  module(settings: z.output<Settings>): ContainerModule;
}

export interface SourceDescriptor<Settings extends z.ZodType = z.ZodType> extends DescriptorBase<Settings> {
  readonly kind: 'source';
}

export interface ConnectorDescriptor<Settings extends z.ZodType = z.ZodType, ActionSettings extends z.ZodType = z.ZodType>
  extends DescriptorBase<Settings> {
  readonly kind: 'connector';
  /** Settings of an action on this connector (`rules[].actions[]`, `connector` left out). */
  readonly actionSettings: ActionSettings;
}

export type PluginDescriptor = SourceDescriptor | ConnectorDescriptor;

/**
 * What a plugin package exports (as `plugin` or as its default export) for `plugins:` in a config file.
 * `core` is the range of @sluice/core versions the plugin was built and tested against (npm's semver
 * range syntax, e.g. `^0.1.0`); a runner refuses a plugin whose range does not include its core.
 */
export interface SluicePlugin {
  readonly name: string;
  readonly core: string;
  readonly descriptors: readonly PluginDescriptor[];
}

/** Declares a source type; typing only (the settings type flows from the schema into `module`). */
export function defineSource<Settings extends z.ZodType>(descriptor: Omit<SourceDescriptor<Settings>, 'kind'>): SourceDescriptor<Settings> {
  return Object.freeze({ ...descriptor, kind: 'source' as const });
}

/** Declares a connector type; typing only (the settings type flows from the schema into `module`). */
export function defineConnector<Settings extends z.ZodType, ActionSettings extends z.ZodType>(
  descriptor: Omit<ConnectorDescriptor<Settings, ActionSettings>, 'kind'>,
): ConnectorDescriptor<Settings, ActionSettings> {
  return Object.freeze({ ...descriptor, kind: 'connector' as const });
}

/** Declares a plugin package's export. */
export function definePlugin(plugin: SluicePlugin): SluicePlugin {
  return Object.freeze({ ...plugin, descriptors: Object.freeze([...plugin.descriptors]) });
}

/** This @sluice/core's version, which `SluicePlugin.core` ranges are checked against. */
export const CORE_VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

import {
  CORE_VERSION, ConfigError, parseConfig, type ConnectorDescriptor, type ContainerModule, type PluginDescriptor, type SluicePlugin,
  type SourceDescriptor,
} from '@sluice/core';
import { plugin as kafkaPlugin } from '@sluice/kafka';
import { plugin as mqttPlugin } from '@sluice/mqtt';
import { satisfies, validRange } from 'semver';

/** The plugins every `sluice` knows without a `plugins:` entry. */
export const BUILT_IN_PLUGINS: readonly SluicePlugin[] = [kafkaPlugin, mqttPlugin];

/** A descriptor and the plugin that brought it, for error messages and `sluice schema`. */
export interface Registered<D extends PluginDescriptor> {
  readonly descriptor: D;
  readonly plugin: string;
}

const TYPE_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * The source and connector types a config file may use, by `type`: the built-in plugins and those its
 * `plugins:` entries load. Sources and connectors are separate namespaces (`type: mqtt` is both the MQTT
 * source and the MQTT republish connector); within one, two plugins may not claim the same type.
 */
export class PluginRegistry {
  private readonly sourceTypes = new Map<string, Registered<SourceDescriptor>>();
  private readonly connectorTypes = new Map<string, Registered<ConnectorDescriptor>>();

  /** A registry holding the built-in plugins. */
  static withBuiltIns(): PluginRegistry {
    const registry = new PluginRegistry();
    for (const plugin of BUILT_IN_PLUGINS) registry.register(plugin);
    return registry;
  }

  get sources(): ReadonlyMap<string, Registered<SourceDescriptor>> {
    return this.sourceTypes;
  }

  get connectors(): ReadonlyMap<string, Registered<ConnectorDescriptor>> {
    return this.connectorTypes;
  }

  /**
   * Adds a plugin's types. Throws a plain Error (the caller says which `plugins:` entry) when the export is
   * not a plugin, was built for another core, or claims a type another plugin has.
   */
  register(plugin: SluicePlugin): void {
    const problem = pluginShapeProblem(plugin);
    if (problem !== undefined) throw new Error(problem);
    if (validRange(plugin.core) === null) {
      throw new Error(`plugin "${plugin.name}" declares core "${plugin.core}", which is not a semver range (e.g. "^0.1.0")`);
    }
    if (!satisfies(CORE_VERSION, plugin.core, { includePrerelease: true })) {
      throw new Error(`plugin "${plugin.name}" is built for @sluice/core ${plugin.core}, but this is @sluice/core ${CORE_VERSION}: install a version of the plugin made for it`);
    }
    const declared = new Set<string>();
    for (const descriptor of plugin.descriptors) {
      const key = `${descriptor.kind} type "${descriptor.type}"`;
      if (declared.has(key)) throw new Error(`plugin "${plugin.name}" declares the ${key} twice: keep one descriptor per type`);
      declared.add(key);
      const table: Map<string, Registered<PluginDescriptor>> = descriptor.kind === 'source' ? this.sourceTypes : this.connectorTypes;
      const claimed = table.get(descriptor.type);
      if (claimed !== undefined) {
        throw new Error(`plugin "${plugin.name}" declares the ${descriptor.kind} type "${descriptor.type}", which plugin "${claimed.plugin}" already provides: load only one of them`);
      }
    }
    for (const descriptor of plugin.descriptors) {
      if (descriptor.kind === 'source') this.sourceTypes.set(descriptor.type, { descriptor, plugin: plugin.name });
      else this.connectorTypes.set(descriptor.type, { descriptor, plugin: plugin.name });
    }
  }

  /**
   * Validates one `sources[i]` / `connectors[i]` entry with its type's schema and builds its module. The
   * ConfigError paths start at the entry (`connectors[1].bootstrapHosts`), so they point into the file.
   */
  buildModule(kind: 'sources' | 'connectors', index: number, entry: { readonly type: string } & Record<string, unknown>): ContainerModule {
    const table: ReadonlyMap<string, Registered<PluginDescriptor>> = kind === 'sources' ? this.sourceTypes : this.connectorTypes;
    const path = `${kind}[${index}]`;
    const { type, ...settings } = entry;
    const registered = table.get(type);
    if (registered === undefined) {
      const noun = kind === 'sources' ? 'source' : 'connector';
      throw new ConfigError('sluice', [{
        path: `${path}.type`,
        message: `unknown ${noun} type "${type}" (known: ${[...table.keys()].join(', ')}); a ${noun} of another plugin needs its package under \`plugins:\``,
      }]);
    }
    const { descriptor } = registered;
    const parsed: unknown = parseConfig(type, descriptor.settings, settings, path);
    try {
      return descriptor.module(parsed);
    } catch (error) {
      // a plugin that validates more in its module (files it reads, cross-field rules) reports paths of its own
      if (error instanceof ConfigError) {
        throw new ConfigError(error.plugin, error.issues.map((issue) => ({ path: issue.path === '' ? path : `${path}.${issue.path}`, message: issue.message })), { cause: error });
      }
      throw error;
    }
  }
}

/** What is wrong with a value that should be a SluicePlugin, or undefined. Plugins come from other packages: check, do not trust the types. */
function pluginShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'it is not a plugin object (definePlugin({ name, core, descriptors }) from @sluice/core)';
  const plugin = value as Partial<Record<keyof SluicePlugin, unknown>>;
  if (typeof plugin.name !== 'string' || plugin.name === '') return 'the plugin has no `name`';
  if (typeof plugin.core !== 'string') return `plugin "${plugin.name}" has no \`core\` version range (e.g. core: "^0.1.0")`;
  if (!Array.isArray(plugin.descriptors) || plugin.descriptors.length === 0) return `plugin "${plugin.name}" declares no \`descriptors\``;
  for (const [i, descriptor] of (plugin.descriptors as unknown[]).entries()) {
    const d = descriptor as Partial<Record<string, unknown>> | null;
    const where = `plugin "${plugin.name}" descriptors[${i}]`;
    if (typeof d !== 'object' || d === null) return `${where} is not a descriptor (defineSource / defineConnector from @sluice/core)`;
    if (typeof d['type'] !== 'string' || !TYPE_NAME.test(d['type'])) return `${where} has no valid \`type\` (lower case letters, digits and "-", e.g. "postgres")`;
    if (d['kind'] !== 'source' && d['kind'] !== 'connector') return `${where} ("${d['type']}") has kind ${JSON.stringify(d['kind'])}: "source" or "connector"`;
    if (!isZodSchema(d['settings'])) return `${where} ("${d['type']}") has no zod \`settings\` schema`;
    if (d['kind'] === 'connector' && !isZodSchema(d['actionSettings'])) return `${where} ("${d['type']}") has no zod \`actionSettings\` schema`;
    if (typeof d['module'] !== 'function') return `${where} ("${d['type']}") has no \`module(settings)\` function`;
  }
  return undefined;
}

/** A zod 4 schema (JSON Schema generation needs zod's, not just any Standard Schema). */
function isZodSchema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && '_zod' in value && '~standard' in value;
}

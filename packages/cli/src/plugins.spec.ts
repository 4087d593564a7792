import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, ContainerModule, defineConnector, defineSource, definePlugin, type SluicePlugin } from '@sluice/core';
import { PluginRegistry } from './plugins';

const noop = (): ContainerModule => new ContainerModule(() => undefined);
const source = defineSource({ type: 'ticker', summary: 'Ticks.', settings: z.strictObject({ id: z.string(), everyMs: z.number().int().positive().default(1000) }), module: noop });
const plugin = (overrides: Partial<Record<keyof SluicePlugin, unknown>>): SluicePlugin => ({ name: 'p', core: '^0.1.0', descriptors: [source], ...overrides }) as SluicePlugin;

describe(PluginRegistry.name, () => {
  it('holds the built-in types, sources and connectors in separate namespaces', () => {
    const registry = PluginRegistry.withBuiltIns();
    expect([...registry.sources.keys()]).toEqual(['mqtt', 'mqtt-broker']);
    expect([...registry.connectors.keys()]).toEqual(['kafka', 'mqtt']);
    expect(registry.connectors.get('kafka')?.plugin).toBe('@sluice/kafka');
  });

  it.each([
    [null, 'it is not a plugin object'],
    [plugin({ name: '' }), 'the plugin has no `name`'],
    [plugin({ core: undefined }), 'plugin "p" has no `core` version range'],
    [plugin({ core: 'latest please' }), 'plugin "p" declares core "latest please", which is not a semver range'],
    [plugin({ descriptors: [] }), 'plugin "p" declares no `descriptors`'],
    [plugin({ descriptors: [{ ...source, type: 'Ticker!' }] }), 'plugin "p" descriptors[0] has no valid `type`'],
    [plugin({ descriptors: [{ ...source, kind: 'sink' }] }), 'plugin "p" descriptors[0] ("ticker") has kind "sink": "source" or "connector"'],
    [plugin({ descriptors: [{ ...source, settings: { parse: () => ({}) } }] }), 'plugin "p" descriptors[0] ("ticker") has no zod `settings` schema'],
    [plugin({ descriptors: [{ ...source, kind: 'connector' }] }), 'plugin "p" descriptors[0] ("ticker") has no zod `actionSettings` schema'],
    [plugin({ descriptors: [{ ...source, module: undefined }] }), 'plugin "p" descriptors[0] ("ticker") has no `module(settings)` function'],
  ])('refuses a malformed plugin (%#) with what is missing', (value, message) => {
    expect(() => new PluginRegistry().register(value as SluicePlugin)).toThrow(message);
  });

  it('registers nothing of a plugin that claims a taken type, not even its other types', () => {
    const registry = PluginRegistry.withBuiltIns();
    const clash = defineConnector({ type: 'kafka', summary: 'x', settings: z.object({ id: z.string() }), actionSettings: z.object({}), module: noop });
    expect(() => registry.register(definePlugin({ name: 'two', core: '^0.1.0', descriptors: [source, clash] }))).toThrow('plugin "two" declares the connector type "kafka", which plugin "@sluice/kafka" already provides');
    expect(registry.sources.has('ticker')).toBe(false);
  });

  it('refuses a plugin that declares one type twice (the last would silently win)', () => {
    const registry = new PluginRegistry();
    expect(() => registry.register(definePlugin({ name: 'twice', core: '^0.1.0', descriptors: [source, { ...source, summary: 'again' }] }))).toThrow('plugin "twice" declares the source type "ticker" twice: keep one descriptor per type');
    expect(registry.sources.size).toBe(0);
  });

  it('validates an entry with its type\'s schema, paths from the entry, and hands the module typed settings with defaults', () => {
    const seen: unknown[] = [];
    const registry = new PluginRegistry();
    registry.register(definePlugin({ name: 'p', core: '^0.1.0', descriptors: [{ ...source, module: (settings: unknown) => (seen.push(settings), noop()) }] }));
    registry.buildModule('sources', 0, { type: 'ticker', id: 't' });
    expect(seen).toEqual([{ id: 't', everyMs: 1000 }]);
    const bad = (): unknown => registry.buildModule('sources', 2, { type: 'ticker', id: 't', everyMs: -1 });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(expect.objectContaining({ plugin: 'ticker', issues: [expect.objectContaining({ path: 'sources[2].everyMs' })] }));
  });
});

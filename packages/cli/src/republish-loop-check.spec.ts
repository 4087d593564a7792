import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import type { LoadedConfig } from './config-file';
import { assertNoRepublishLoops } from './republish-loop-check';

const config = (connectorUrl: string, topic: string, where: 'action' | 'fallback' = 'fallback'): LoadedConfig['config'] => {
  const republish = { connector: 'dlq', topic };
  return {
    sources: [{ type: 'mqtt', id: 'plant', url: 'mqtt://127.0.0.1:1883' }],
    connectors: [{ type: 'kafka', id: 'k', bootstrapHosts: ['x:9092'] }, { type: 'mqtt', id: 'dlq', url: connectorUrl }],
    rules: [{
      id: 'r', sql: 'SELECT * FROM "devices/#"', enabled: true,
      actions: [where === 'action' ? republish : { connector: 'k', topic: 't', fallbackActions: [republish] }],
    }],
  } as unknown as LoadedConfig['config'];
};

describe(assertNoRepublishLoops.name, () => {
  it('refuses a fixed republish topic under the rule\'s own FROM on the broker the rule reads, naming the setting', () => {
    expect(() => assertNoRepublishLoops(config('mqtt://localhost', 'devices/dead'))).toThrow(ConfigError);
    try {
      assertNoRepublishLoops(config('mqtt://localhost:1883', 'devices/dead', 'action'));
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([{ path: 'rules[0].actions[0].topic', message: expect.stringContaining('matches the rule\'s own FROM "devices/#"') }]);
    }
    expect.assertions(2);
  });

  it('lets through other topics, other brokers and templated topics', () => {
    expect(() => assertNoRepublishLoops(config('mqtt://127.0.0.1:1883', 'dead/devices'))).not.toThrow();
    expect(() => assertNoRepublishLoops(config('mqtt://other-broker:1883', 'devices/dead'))).not.toThrow();
    expect(() => assertNoRepublishLoops(config('mqtt://127.0.0.1:1883', 'devices/${clientid}'))).not.toThrow();
  });
});

import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import { type AedesSourceOptions, parseAedesSourceConfig } from './aedes-source-config';

describe(parseAedesSourceConfig.name, () => {
  it('applies the documented defaults', () => {
    expect(parseAedesSourceConfig({ id: 'edge' })).toEqual({ id: 'edge', host: '127.0.0.1', port: 1883, delivery: 'at-least-once', maxEventsInFlight: 1000 });
  });

  it('accepts port 0 (a free port) and a user list', () => {
    const config = parseAedesSourceConfig({ id: 'edge', port: 0, users: [{ username: 'u', password: 'p' }] });
    expect(config.port).toBe(0);
    expect(config.users).toEqual([{ username: 'u', password: 'p' }]);
  });

  it('names every problem with its path and never echoes a password', () => {
    let error: unknown;
    try {
      parseAedesSourceConfig({ id: 'edge', port: 70_000, users: [{ username: '', password: 'hunter2', extra: 1 }], delivery: 'x' } as unknown as AedesSourceOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['port', 'users[0].username', 'users[0]', 'delivery']));
    expect((error as Error).message).not.toContain('hunter2');
  });
});

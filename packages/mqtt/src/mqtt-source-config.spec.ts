import { describe, expect, it } from '@jest/globals';
import { ConfigError, IntegrationError } from '@sluice/core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MqttSourceOptions, loadTls, parseMqttSourceConfig } from './mqtt-source-config';

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseMqttSourceConfig(input as MqttSourceOptions);
  } catch (error) {
    expect(IntegrationError.is(error)).toBe(true);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe(parseMqttSourceConfig.name, () => {
  describe('with the minimum', () => {
    const config = parseMqttSourceConfig({ id: 'plant', url: 'mqtt://localhost:1883' });

    it('applies the documented defaults', () => {
      expect(config).toEqual({
        id: 'plant',
        url: 'mqtt://localhost:1883',
        protocolVersion: 5,
        qos: 1,
        clientId: 'sluice-plant',
        session: { persistent: true, sessionExpiry: 86_400, shareGroupLeave: 'end-session', leaveDrainTimeout: 5_000 },
        keepalive: 30,
        connectTimeout: 30_000,
        reconnectPeriod: 1_000,
        delivery: 'at-least-once',
        maxInflight: 20,
        identity: {},
      });
    });

    it('is frozen', () => {
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.session)).toBe(true);
    });
  });

  describe('session', () => {
    it('is not persistent by default for QoS 0, and the client id is left to the source', () => {
      const config = parseMqttSourceConfig({ id: 'p', url: 'mqtt://h', qos: 0 });
      expect(config.session.persistent).toBe(false);
      expect(config.clientId).toBeUndefined();
    });

    it('keeps a given client id and an explicit choice', () => {
      const config = parseMqttSourceConfig({ id: 'p', url: 'mqtt://h', clientId: 'fixed', session: { persistent: false } });
      expect(config.clientId).toBe('fixed');
      expect(config.session.persistent).toBe(false);
    });
  });

  describe('when the input is wrong', () => {
    it('names every problem with its path', () => {
      const issues = issuesOf({ id: '', url: 'http://h', qos: 3, maxInflight: 0, typo: true, delivery: 'exactly-once' });
      expect([...new Set(issues.map((issue) => issue.path))].sort()).toEqual(['', 'delivery', 'id', 'maxInflight', 'qos', 'url']);
    });

    it.each([
      [{ url: 'not a url' }, 'url', /not a URL/],
      [{ url: 'tcp://h:1883' }, 'url', /mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\//],
      [{ url: 'mqtt://u:secret@h' }, 'url', /not in the URL/],
      [{ tls: { ca: 'x' } }, 'tls', /mqtts/],
      [{ url: 'mqtts://h', tls: { ca: 'x', caFile: '/x' } }, 'tls.caFile', /either ca or caFile/],
      [{ url: 'mqtts://h', tls: { cert: 'x' } }, 'tls.key', /both cert and key/],
      [{ shareGroup: 'a/b' }, 'shareGroup', /cannot contain/],
      [{ identity: { clientid: { topicSegment: 'devices/telemetry' } } }, 'identity.clientid.topicSegment', /no placeholder/],
      [{ identity: { clientid: { header: 'x' } } }, 'identity.clientid', /userProperty/],
      [{ protocolVersion: 4, identity: { clientid: { userProperty: 'clientid' } } }, 'identity', /MQTT 5/],
      [{ reconnectPeriod: 0 }, 'reconnectPeriod', /./],
    ])('refuses %j at %s', (patch, path, message) => {
      const issues = issuesOf({ id: 'p', url: 'mqtt://h', ...patch });
      const issue = issues.find((i) => i.path === path);
      expect(issue?.message).toMatch(message);
    });

    it('never echoes the password', () => {
      try {
        parseMqttSourceConfig({ id: 'p', url: 'mqtt://h', password: 12345678 as unknown as string });
        throw new Error('expected a ConfigError');
      } catch (error) {
        expect((error as Error).message).toContain('password');
        expect((error as Error).message).not.toContain('12345678');
      }
    });
  });
});

describe(loadTls.name, () => {
  it('reads the files and keeps verification on by default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA-PEM');
    const tls = loadTls(parseMqttSourceConfig({ id: 'p', url: 'mqtts://h', tls: { caFile: join(dir, 'ca.pem'), serverName: 'broker' } }));
    expect(tls).toEqual({ ca: Buffer.from('CA-PEM'), rejectUnauthorized: true, servername: 'broker' });
  });

  it('reports an unreadable file as a ConfigError with its path', () => {
    const config = parseMqttSourceConfig({ id: 'p', url: 'mqtts://h', tls: { caFile: '/nonexistent/ca.pem' } });
    expect(() => loadTls(config)).toThrow(ConfigError);
    expect(() => loadTls(config)).toThrow(/tls\.caFile: cannot read the file: ENOENT/);
  });
});

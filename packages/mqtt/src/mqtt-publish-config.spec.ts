import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@sluice/core';
import { parseMqttPublishActionSettings, parseMqttPublishConnectorConfig } from './mqtt-publish-config';
import { republishLoops } from './republish-loops';

const issuesOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe(parseMqttPublishConnectorConfig.name, () => {
  it('applies the defaults', () => {
    expect(parseMqttPublishConnectorConfig({ id: 'dlq', url: 'mqtt://127.0.0.1:1883' })).toEqual({
      id: 'dlq', url: 'mqtt://127.0.0.1:1883', protocolVersion: 5, keepalive: 30, connectTimeout: 30_000, reconnectPeriod: 1_000, publishTimeout: 30_000,
    });
  });

  it('refuses credentials in the URL, TLS on a plain URL and unknown keys, naming each', () => {
    expect(issuesOf(() => parseMqttPublishConnectorConfig({ id: 'd', url: 'mqtt://u:secret@h:1883' }))).toEqual(['url: put credentials in username/password, not in the URL']);
    expect(issuesOf(() => parseMqttPublishConnectorConfig({ id: 'd', url: 'mqtt://h', tls: { verify: false } }))).toEqual(['tls: tls options need an mqtts:// or wss:// URL']);
    expect(issuesOf(() => parseMqttPublishConnectorConfig({ id: 'd', url: 'mqtt://h', qos: 1 } as never))).toEqual([expect.stringContaining('qos')]);
  });

  it('never echoes a password in its messages', () => {
    const messages = issuesOf(() => parseMqttPublishConnectorConfig({ id: 'd', url: 'http://h', password: 'hunter2' }));
    expect(messages.join('\n')).not.toContain('hunter2');
  });
});

describe(parseMqttPublishActionSettings.name, () => {
  it('defaults as documented: the whole output as payload, QoS 0, no retain, no user properties', () => {
    expect(parseMqttPublishActionSettings({ connector: 'dlq', topic: 'dead/${topic}' }, 'r:mqtt')).toEqual({
      connector: 'dlq', topic: 'dead/${topic}', payload: '${.}', qos: 0, retain: false,
    });
  });

  it('takes qos and retain as values or as one placeholder', () => {
    expect(parseMqttPublishActionSettings({ topic: 't', qos: 2, retain: true }, 'a')).toMatchObject({ qos: 2, retain: true });
    expect(parseMqttPublishActionSettings({ topic: 't', qos: '${qos}', retain: '${flags.retain}' }, 'a')).toMatchObject({ qos: '${qos}', retain: '${flags.retain}' });
  });

  it('refuses wildcards in the topic, other qos values, and anything but one placeholder for userProperties', () => {
    expect(issuesOf(() => parseMqttPublishActionSettings({ topic: 'dead/+/x' }, 'r:m'))).toEqual(['topic: an MQTT topic to publish to cannot contain the wildcards + or #']);
    expect(issuesOf(() => parseMqttPublishActionSettings({ topic: 't', qos: 3 }, 'r:m'))).toEqual([expect.stringMatching(/^qos: /)]);
    expect(issuesOf(() => parseMqttPublishActionSettings({ topic: 't', qos: 'x${qos}' }, 'r:m'))).toEqual([expect.stringMatching(/^qos: /)]);
    expect(issuesOf(() => parseMqttPublishActionSettings({ topic: 't', userProperties: 'a=${b}' }, 'r:m')))
      .toEqual(['userProperties: must be a single placeholder such as "${pub_props.User-Property}"']);
  });

  it('names the action in the error', () => {
    expect(() => parseMqttPublishActionSettings({}, 'rule1:mqtt')).toThrow('invalid mqtt action "rule1:mqtt" configuration');
  });
});

describe(republishLoops.name, () => {
  it('finds the FROM filters a fixed republish topic falls under', () => {
    expect(republishLoops('devices/dead', ['devices/#', 'other/+', '$share/g/devices/+'])).toEqual(['devices/#', '$share/g/devices/+']);
    expect(republishLoops('dead/devices/x', ['devices/#'])).toEqual([]);
    expect(republishLoops(undefined, ['#'])).toEqual([]);
  });
});

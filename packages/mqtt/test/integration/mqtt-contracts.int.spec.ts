// core's contract suites (@sluice/core/testing) on the MQTT plugins, against real brokers: the republish
// connector and the MQTT source against Mosquitto, the embedded Aedes broker with a device publishing to it.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, jest } from '@jest/globals';
import { silentLogger, type Source } from '@sluice/core';
import { checkConnectorContract, checkSourceContract } from '@sluice/core/testing';
import { compileTemplate } from '@sluice/sql';
import { connect, type MqttClient } from 'mqtt';
import { mqttUrl, publish, randomName, startMosquitto, subscribeMqtt, type MqttSubscription, type TestMosquitto } from '../../../../scripts/testkit';
import { AedesSource } from '../../src/aedes-source';
import { parseAedesSourceConfig } from '../../src/aedes-source-config';
import { parseMqttPublishConnectorConfig } from '../../src/mqtt-publish-config';
import { MqttPublishConnector } from '../../src/mqtt-publish-connector';
import { mqttSource, publisher } from '../source-harness';

jest.setTimeout(60_000);

const brokers: TestMosquitto[] = [];
const subscriptions: MqttSubscription[] = [];
const clients: MqttClient[] = [];
const files: string[] = [];
afterEach(async () => {
  for (const file of files.splice(0)) rmSync(file, { force: true });
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  await Promise.all(subscriptions.splice(0).map((sub) => sub.close()));
  await Promise.all(brokers.splice(0).map((broker) => broker.dispose()));
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * What a subscriber has received, once nothing more arrived for 150 ms: Mosquitto forwards a publish to
 * subscribers as it acknowledges it, and the subscriber's copy may be read a moment after the PUBACK.
 */
async function settledCount(sub: MqttSubscription): Promise<number> {
  for (;;) {
    const seen = sub.messages.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    if (sub.messages.length === seen) return seen;
  }
}

describe('MQTT publish connector (republish): connector contract', () => {
  it.each([0, 1, 2] as const)('stores at QoS %i, fails retriable while its broker is down and final where the broker refuses the topic', async (qos) => {
    const prefix = randomName('it-contract');
    // A broker of our own for the failures: it can be stopped, and its ACL lets anyone write only under ok/.
    const acl = join(tmpdir(), `${prefix}.acl`);
    writeFileSync(acl, 'topic readwrite ok/#\n');
    files.push(acl);
    const own = await startMosquitto({ lines: [`acl_file ${acl}`] });
    brokers.push(own);
    const connectorOn = (url: string) => {
      const config = parseMqttPublishConnectorConfig({ id: 'contract', url, reconnectPeriod: 100, publishTimeout: 5_000 });
      return new MqttPublishConnector(config, (options) => connect(config.url, options), silentLogger);
    };
    const sub = await subscribeMqtt(mqttUrl(), `${prefix}/#`, { qos: 1 });
    subscriptions.push(sub);
    let down: MqttPublishConnector | undefined;

    await checkConnectorContract(() => connectorOn(mqttUrl()), { topic: `${prefix}/out`, qos }, { compileTemplate }, {
      stored: () => settledCount(sub),
      invalidActionSettings: [{}, { topic: `${prefix}/#` }, { topic: 't', qos: 3 }],
      failures: {
        retriable: {
          makeConnector: () => (down = connectorOn(own.url)),
          actionSettings: { topic: 'ok/out', qos },
          arrange: async () => {
            await own.stop();
            await until(() => down?.status().state !== 'connected', 'the connector notices the broker is gone');
          },
          restore: async () => {
            await own.restart();
            await until(() => down?.status().state === 'connected', 'the connector is back');
          },
        },
        // MQTT 5: Mosquitto answers a publish its ACL denies with PUBACK reason code 0x87 (not authorized);
        // at QoS 0 there is no answer, so the refusal can only be seen at QoS 1
        final: { makeConnector: () => connectorOn(own.url), actionSettings: { topic: 'denied/out', qos: 1 } },
      },
      settleTimeoutMs: 20_000,
    });
  });
});

describe('MQTT source: source contract', () => {
  it('against Mosquitto with a persistent session: unsettled messages come back after a restart, settled ones do not', async () => {
    const topic = randomName('it-contract-src');
    const clientId = randomName('it-contract-src');
    const device = await publisher(mqttUrl());
    clients.push(device);
    await checkSourceContract({
      makeSource: () => mqttSource({ id: 'contract', url: mqttUrl(), clientId, reconnectPeriod: 200, session: { persistent: true, sessionExpiry: 60 } }),
      filters: [`${topic}/#`],
      publish: async (payloads) => {
        for (const payload of payloads) await device.publishAsync(`${topic}/d`, payload, { qos: 1 });
      },
      redelivers: true,
      settleTimeoutMs: 15_000,
    });
  });

  it('against Mosquitto without a persistent session', async () => {
    const topic = randomName('it-contract-src');
    await checkSourceContract({
      makeSource: () => mqttSource({ id: 'contract', url: mqttUrl(), clientId: randomName('it-contract-src'), session: { persistent: false } }),
      filters: [`${topic}/#`],
      publish: (payloads) => publish(mqttUrl(), `${topic}/d`, [...payloads], { qos: 1 }),
      settleTimeoutMs: 15_000,
    });
  });

  it('on the embedded Aedes broker: what it has not acknowledged, the device sends again after a restart', async () => {
    const topic = randomName('it-contract-aedes');
    let port = 0; // the first instance picks a free port; the next ones listen on it again, where the device reconnects
    let device: MqttClient | undefined;
    await checkSourceContract({
      makeSource: (): Source => {
        const source = new AedesSource(parseAedesSourceConfig({ id: 'edge', port }), silentLogger);
        const start = source.start.bind(source);
        source.start = async (...args) => {
          await start(...args);
          port = source.address?.port ?? port;
        };
        return source;
      },
      filters: [`${topic}/#`],
      // One device for the whole run, reconnecting by itself: mqtt.js keeps each QoS 1 publish until its
      // PUBACK and sends it again after a reconnection. Not awaited: while the source is paused, PUBACKs wait.
      publish: async (payloads) => {
        if (device === undefined) {
          device = await publisher(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 100, clientId: randomName('it-device') });
          clients.push(device);
        }
        for (const payload of payloads) device.publish(`${topic}/d`, payload, { qos: 1 });
      },
      redelivers: true,
      settleTimeoutMs: 15_000,
    });
  });
});

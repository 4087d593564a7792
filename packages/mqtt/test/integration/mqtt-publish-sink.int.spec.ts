import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { type Integration, IntegrationError, createIntegration, silentLogger } from '@sluice/core';
import { compileTemplate, sqlModule } from '@sluice/sql';
import { mqttUrl, publish, randomName, subscribeMqtt, type MqttSubscription } from '../../../../scripts/testkit';
import { mqttModule } from '../../src/mqtt-module';
import { mqttPublishModule } from '../../src/mqtt-publish-module';
import { parseMqttPublishSinkConfig } from '../../src/mqtt-publish-config';
import { MqttPublishSink } from '../../src/mqtt-publish-sink';
import { connect } from 'mqtt';

// The republish connector against the real Mosquitto: what a subscriber reads back is exactly what the
// action's settings say (topic, payload bytes, QoS, retain, MQTT 5 user properties).
jest.setTimeout(30_000);

const apps: Integration[] = [];
const subscriptions: MqttSubscription[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await Promise.all(subscriptions.splice(0).map((s) => s.close()));
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function republishing(prefix: string, action: Record<string, unknown>): Promise<Integration> {
  const app = await createIntegration({
    logger: silentLogger,
    modules: [
      mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('it-src'), session: { persistent: false } }),
      sqlModule(),
      mqttPublishModule({ id: 'dlq', url: mqttUrl() }),
    ],
    rules: [{ id: 'r', sql: `SELECT payload.seq AS seq, topic, qos, pub_props FROM "${prefix}/in/#"`, actions: [{ connector: 'dlq', ...action }] }],
  });
  apps.push(app);
  await app.start();
  return app;
}

describe('MQTT publish sink (republish) against Mosquitto', () => {
  it('publishes the rendered topic and payload at the configured QoS, with the MQTT 5 user properties (repeated names kept)', async () => {
    const prefix = randomName('it-repub');
    const sub = await subscribeMqtt(mqttUrl(), `${prefix}/out/#`, { qos: 2, protocolVersion: 5 });
    subscriptions.push(sub);
    const app = await republishing(prefix, {
      topic: `${prefix}/out/\${topic}`, payload: '{"seq": ${seq}}', qos: 2, userProperties: '${pub_props.User-Property-Pairs}',
    });

    await publish(mqttUrl(), `${prefix}/in/dev-1`, JSON.stringify({ seq: 42 }), {
      qos: 1, protocolVersion: 5, properties: { userProperties: { site: 'north', tag: ['a', 'b'] } },
    });
    const [message] = await sub.waitFor(1);
    expect(message?.topic).toBe(`${prefix}/out/${prefix}/in/dev-1`);
    expect(message?.payload.equals(Buffer.from('{"seq": 42}'))).toBe(true);
    expect(message?.qos).toBe(2);
    expect(message?.retain).toBe(false);
    expect(message?.packet.properties?.userProperties).toEqual({ site: 'north', tag: ['a', 'b'] });
    // the subscriber can have the message before Sluice has Mosquitto's PUBCOMP for it: wait for the count
    await until(() => app.metrics.action('r:dlq').matched === app.metrics.action('r:dlq').success + app.metrics.action('r:dlq').failed);
    expect(app.metrics.action('r:dlq')).toMatchObject({ matched: 1, success: 1, failed: 0 });
  });

  it('sends the whole output as JSON at QoS 0 by default', async () => {
    const prefix = randomName('it-repub');
    const sub = await subscribeMqtt(mqttUrl(), `${prefix}/out`, { qos: 2 });
    subscriptions.push(sub);
    await republishing(prefix, { topic: `${prefix}/out` });
    await publish(mqttUrl(), `${prefix}/in/x`, JSON.stringify({ seq: 1 }), { qos: 1 });
    const [message] = await sub.waitFor(1);
    expect(message?.qos).toBe(0);
    expect(JSON.parse(message?.payload.toString('utf8') ?? '')).toEqual({ seq: 1, topic: `${prefix}/in/x`, qos: 1, pub_props: {} });
  });

  it('publishes retained when asked: a later subscriber gets the message with the retain flag', async () => {
    const prefix = randomName('it-repub');
    const out = `${prefix}/out/retained`;
    const app = await republishing(prefix, { topic: out, payload: 'last ${seq}', qos: 1, retain: true });
    await publish(mqttUrl(), `${prefix}/in/x`, JSON.stringify({ seq: 9 }), { qos: 1 });
    // `success` counts once the broker's PUBACK came back: from then on the broker holds the retained message.
    await until(() => app.metrics.action('r:dlq').success === 1);
    const late = await subscribeMqtt(mqttUrl(), out, { qos: 1 });
    subscriptions.push(late);
    try {
      const [message] = await late.waitFor(1);
      expect(message).toMatchObject({ topic: out, retain: true, qos: 1 });
      expect(message?.payload.toString('utf8')).toBe('last 9');
    } finally {
      await publish(mqttUrl(), out, '', { qos: 1, retain: true }); // clears the retained message
    }
  });

  it('fails a send as retriable while not connected, and start names the broker it cannot reach', async () => {
    const config = parseMqttPublishSinkConfig({ id: 'down', url: 'mqtt://127.0.0.1:1', connectTimeout: 1000 });
    const sink = new MqttPublishSink(config, (options) => connect(config.url, options), silentLogger);
    const action = sink.createAction({ topic: 't' }, { id: 'r:down', ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped: () => undefined });
    const error = await action.send({ a: 1 }, { topic: 'x' } as never).catch((e: unknown) => e);
    expect(IntegrationError.is(error) && error.retriable).toBe(true);
    await expect(sink.start(new AbortController().signal)).rejects.toThrow('mqtt connector "down" cannot connect to mqtt://127.0.0.1:1');
    expect(sink.status().state).toBe('disconnected');
  });
});

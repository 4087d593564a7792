// The temperature/humidity flow of issue 2, end to end on real brokers: devices publish to MQTT (the
// shared Mosquitto, or Sluice's embedded broker), the seed rule reshapes each message, a Kafka action
// writes it, and a real Kafka consumer reads it back. Nothing here is mocked.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import mqtt from 'mqtt';
import { createIntegration, silentLogger, sourceModule, type Integration } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { AedesSource, mqttModule, parseAedesSourceConfig } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, mqttUrl, publish, randomName, topicRecordCount } from '@sluice/testkit';

const SEED_RULE = (topic: string): string => `SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "${topic}"`;
const VALUE_TEMPLATE = '{"temp": ${temp}, "hum": ${hum}}';

describe('MQTT → rule → Kafka, end to end', () => {
  let app: Integration | undefined;
  let kafkaTopic: string;
  let mqttTopic: string;
  // Sluice's embedded broker, on a free port; devices connect to it directly.
  let edge: AedesSource;
  const edgeUrl = (): string => `mqtt://127.0.0.1:${edge.address?.port ?? 'not-started'}`;

  beforeEach(async () => {
    edge = new AedesSource(parseAedesSourceConfig({ id: 'edge', host: '127.0.0.1', port: 0 }), silentLogger);
    kafkaTopic = randomName('e2e');
    mqttTopic = `${randomName('temp_hum')}/emqx`;
    await createTopic(kafkaTopic, 3);
  });

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await deleteTopic(kafkaTopic);
  });

  it('through Mosquitto: the client id comes from a user property; key, value and headers land exactly', async () => {
    const broker = kafkaBroker();
    app = await createIntegration({
      modules: [
        mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('sluice'), protocolVersion: 5, session: { persistent: false }, identity: { clientid: { userProperty: 'clientid' } } }),
        sqlModule(),
        kafkaModule({ id: 'kafka', bootstrapHosts: [broker.bootstrap] }),
      ],
      rules: [{
        id: 'temp_hum',
        sql: SEED_RULE(mqttTopic),
        actions: [{ connector: 'kafka', topic: kafkaTopic, value: VALUE_TEMPLATE, extHeaders: [{ key: 'source', value: 'sluice-${clientid}' }] }],
      }],
    });
    await app.start();

    await publish(mqttUrl(), mqttTopic, '{"temp": "27.5", "hum": "41.8"}', {
      qos: 1,
      protocolVersion: 5,
      properties: { userProperties: { clientid: 'device-42', site: 'plant-a' } },
    });
    const [record] = await consumeRecords(kafkaTopic, 1);

    expect(record?.key).toBe('device-42');
    expect(record?.value).toBe('{"temp": 27.5, "hum": 41.8}');
    expect(record?.headers).toEqual({ clientid: 'device-42', site: 'plant-a', source: 'sluice-device-42' });
    expect(app.metrics.rule('temp_hum')).toMatchObject({ matched: 1, passed: 1, failed: 0, 'actions.total': 1, 'actions.success': 1, 'actions.failed': 0 });
    expect(app.metrics.action('temp_hum:kafka')).toMatchObject({ matched: 1, success: 1, failed: 0, dropped: 0, inflight: 0 });
  });

  it('through the embedded broker: rules see the device\'s real client id and username', async () => {
    const broker = kafkaBroker();
    app = await createIntegration({
      modules: [
        sourceModule(edge),
        sqlModule(),
        kafkaModule({ id: 'kafka', bootstrapHosts: [broker.bootstrap] }),
      ],
      rules: [{
        id: 'temp_hum',
        sql: 'SELECT clientid, username, payload.temp as temp, payload.hum as hum FROM "temp_hum/#"',
        actions: [{ connector: 'kafka', topic: kafkaTopic, value: '{"temp": ${temp}, "hum": ${hum}, "user": "${username}"}' }],
      }],
    });
    await app.start();
    const url = edgeUrl();

    await publish(url, 'temp_hum/emqx', '{"temp": "27.5", "hum": "41.8"}', { qos: 1, clientId: 'sensor-7', username: 'alice' });
    const [record] = await consumeRecords(kafkaTopic, 1);

    expect(record?.key).toBe('sensor-7');
    expect(record?.value).toBe('{"temp": 27.5, "hum": 41.8, "user": "alice"}');
    expect(record?.headers).toEqual({});
  });

  it('over SASL_SSL with SCRAM-SHA-256 and the generated CA, as with a managed cluster', async () => {
    const broker = kafkaBroker();
    const connector = {
      id: 'managed',
      bootstrapHosts: [broker.saslSsl],
      ssl: { caFile: broker.caFile },
      authentication: { mechanism: 'scram-sha-256' as const, ...broker.users.scram256 },
    };
    app = await createIntegration({
      modules: [sourceModule(edge), sqlModule(), kafkaModule(connector)],
      rules: [{ id: 'temp_hum', sql: SEED_RULE('temp_hum/emqx'), actions: [{ connector: 'managed', topic: kafkaTopic, value: VALUE_TEMPLATE }] }],
    });
    const [report] = await app.testConnections();
    expect(report).toMatchObject({ connectorId: 'managed', ok: true });
    await app.start();

    await publish(edgeUrl(), 'temp_hum/emqx', '{"temp": 19, "hum": 50.5}', { qos: 1, clientId: 'tls-device' });
    const [record] = await consumeRecords(kafkaTopic, 1);
    expect(record?.key).toBe('tls-device');
    expect(record?.value).toBe('{"temp": 19, "hum": 50.5}');
  });

  it('a wrong password and an untrusted certificate each fail the connection test, naming the stage', async () => {
    const broker = kafkaBroker();
    const build = async (ssl: { caFile: string }, password: string): Promise<Integration> =>
      createIntegration({
        modules: [sourceModule(edge), sqlModule(), kafkaModule({ id: 'managed', bootstrapHosts: [broker.saslSsl], ssl, authentication: { mechanism: 'scram-sha-256', username: broker.users.scram256.username, password } })],
        rules: [],
      });

    const [wrongPassword] = await (await build({ caFile: broker.caFile }, 'not-the-password')).testConnections();
    expect(wrongPassword?.ok).toBe(false);
    const failedSasl = wrongPassword?.stages.find((s) => !s.ok);
    expect(failedSasl?.stage).toMatch(/sasl/i);
    expect(JSON.stringify(wrongPassword)).not.toContain('not-the-password');

    const [untrusted] = await (await build({ caFile: broker.untrustedCaFile }, broker.users.scram256.password)).testConnections();
    expect(untrusted?.ok).toBe(false);
    const failedTls = untrusted?.stages.find((s) => !s.ok);
    expect(failedTls?.stage).toMatch(/tls/i);
    expect(failedTls?.detail).toMatch(/certificate/i);
  });

  it('a message no rule matches reaches no action, and the metrics count exactly what happened', async () => {
    const broker = kafkaBroker();
    app = await createIntegration({
      modules: [sourceModule(edge), sqlModule(), kafkaModule({ id: 'kafka', bootstrapHosts: [broker.bootstrap] })],
      rules: [{
        id: 'hot',
        sql: 'SELECT clientid, payload.temp as temp FROM "temp_hum/+" WHERE payload.temp > 25',
        actions: [{ connector: 'kafka', topic: kafkaTopic, value: '${temp}' }],
      }],
    });
    await app.start();
    const url = edgeUrl();
    await publish(url, 'temp_hum/a', ['{"temp": 30}', '{"temp": 20}', 'not json', '{"temp": 26.5}'], { qos: 1, clientId: 'dev' });
    await publish(url, 'other/topic', '{"temp": 99}', { qos: 1, clientId: 'dev' });

    const records = await consumeRecords(kafkaTopic, 2);
    expect(records.map((r) => r.value).sort()).toEqual(['26.5', '30']);
    expect(app.metrics.rule('hot')).toEqual(expect.objectContaining({
      matched: 4,
      passed: 2,
      failed: 2,
      'failed.exception': 1,
      'failed.no_result': 1,
      'actions.total': 2,
      'actions.success': 2,
      'actions.failed': 0,
    }));
    // The embedded broker hands Sluice only what the rules' filters match: other/topic never arrives.
    expect(app.metrics.source('edge')).toMatchObject({ received: 4, unrouted: 0, pending: 0 });
    expect(await topicRecordCount(kafkaTopic)).toBe(2);
  });

  it('stop() while messages are in flight: every message the device saw acknowledged is in Kafka', async () => {
    const broker = kafkaBroker();
    app = await createIntegration({
      modules: [sourceModule(edge), sqlModule(), kafkaModule({ id: 'kafka', bootstrapHosts: [broker.bootstrap] })],
      rules: [{ id: 'seq', sql: 'SELECT payload.n as n FROM "seq/#"', actions: [{ connector: 'kafka', topic: kafkaTopic, value: '${n}' }] }],
    });
    await app.start();
    const device = await mqtt.connectAsync(edgeUrl(), { clientId: 'seq-device', protocolVersion: 4, reconnectPeriod: 0 });
    const acknowledged: number[] = [];
    const sends: Promise<void>[] = [];
    for (let n = 0; n < 300; n++) {
      // PUBACK arrives only after Kafka stored the record (at-least-once); count those the device saw.
      sends.push(device.publishAsync('seq/1', JSON.stringify({ n }), { qos: 1 }).then(() => void acknowledged.push(n), () => undefined));
    }
    // Stop while most of the 300 are still on their way.
    await new Promise((r) => setTimeout(r, 30));
    await app.stop();
    app = undefined;
    await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, 2000))]);
    device.end(true);

    expect(acknowledged.length).toBeGreaterThan(0);
    const stored = new Set((await consumeRecords(kafkaTopic, acknowledged.length)).map((r) => Number(r.value)));
    const lost = acknowledged.filter((n) => !stored.has(n));
    expect(lost).toEqual([]);
  });
});

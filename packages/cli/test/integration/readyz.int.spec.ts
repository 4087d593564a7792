// GET /readyz on real brokers: an MQTT source on a test-owned Mosquitto and a Kafka connector on the shared
// Kafka. Stopping that Mosquitto (never the shared brokers) must turn readiness to 503 with the reason, and
// restarting it must bring it back to 200, with messages flowing to Kafka again.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createIntegration, silentLogger, type ConnectorStatus, type Integration } from '@sluice/core';
import { kafkaModule } from '@sluice/kafka';
import { mqttModule } from '@sluice/mqtt';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, publish, randomName, startMosquitto, type TestMosquitto } from '@sluice/testkit';
import { startHttpServer, type HttpEndpoint } from '../../src/http-server';

interface Readiness {
  readonly status: number;
  readonly body: { readonly ready: boolean; readonly connectors: Readonly<Record<string, ConnectorStatus>> };
}

describe('GET /readyz follows the connectors', () => {
  let mosquitto: TestMosquitto;
  let app: Integration | undefined;
  let endpoint: HttpEndpoint | undefined;
  let kafkaTopic: string;

  beforeEach(async () => {
    mosquitto = await startMosquitto();
    kafkaTopic = randomName('readyz');
    await createTopic(kafkaTopic, 1);
  });

  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    await app?.stop();
    app = undefined;
    await mosquitto.dispose();
    await deleteTopic(kafkaTopic);
  });

  const readiness = async (): Promise<Readiness> => {
    const res = await fetch(`http://127.0.0.1:${endpoint?.address.port ?? 0}/readyz`);
    return { status: res.status, body: (await res.json()) as Readiness['body'] };
  };

  /** Polls /readyz until `done` holds (state changes arrive asynchronously); the test timeout bounds it. */
  const readinessWhen = async (done: (r: Readiness) => boolean): Promise<Readiness> => {
    for (;;) {
      const r = await readiness();
      if (done(r)) return r;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('200 when connected, 503 with the reason while the MQTT broker is down, 200 again after it is back', async () => {
    app = await createIntegration({
      logger: silentLogger,
      modules: [
        mqttModule({ id: 'plant', url: mosquitto.url, clientId: randomName('sluice-readyz'), protocolVersion: 5, session: { persistent: false }, reconnectPeriod: 200 }),
        sqlModule(),
        kafkaModule({ id: 'kafka', bootstrapHosts: [kafkaBroker().bootstrap] }),
      ],
      rules: [{ id: 'temp', sql: 'SELECT payload.temp as temp FROM "readyz/#"', actions: [{ connector: 'kafka', topic: kafkaTopic, value: '${temp}' }] }],
    });
    await app.start();
    endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0 }, silentLogger);

    expect(await readiness()).toEqual({ status: 200, body: { ready: true, connectors: { plant: { state: 'connected' }, kafka: { state: 'connected' } } } });

    await mosquitto.stop();
    const down = await readinessWhen((r) => r.status !== 200);
    expect(down.status).toBe(503);
    expect(down.body.ready).toBe(false);
    expect(down.body.connectors['kafka']).toEqual({ state: 'connected' });
    const plant = down.body.connectors['plant'];
    expect(['disconnected', 'connecting']).toContain(plant?.state);
    expect(plant?.reason).toEqual(expect.any(String));
    expect(plant?.reason?.length).toBeGreaterThan(0);

    await mosquitto.restart();
    const up = await readinessWhen((r) => r.status === 200);
    expect(up.body).toEqual({ ready: true, connectors: { plant: { state: 'connected' }, kafka: { state: 'connected' } } });

    // Ready means working: a message published now reaches Kafka.
    await publish(mosquitto.url, 'readyz/1', '{"temp": 21.5}', { qos: 1 });
    const [record] = await consumeRecords(kafkaTopic, 1);
    expect(record?.value).toBe('21.5');
  });

  it('the connector gauge in /metrics follows the same states', async () => {
    app = await createIntegration({
      logger: silentLogger,
      modules: [mqttModule({ id: 'plant', url: mosquitto.url, clientId: randomName('sluice-readyz'), protocolVersion: 5, session: { persistent: false }, reconnectPeriod: 200 }), sqlModule()],
      rules: [],
    });
    await app.start();
    endpoint = await startHttpServer(app, { host: '127.0.0.1', port: 0 }, silentLogger);
    const gauge = async (): Promise<string | undefined> =>
      (await (await fetch(`http://127.0.0.1:${endpoint?.address.port ?? 0}/metrics`)).text()).split('\n').find((l) => l.startsWith('sluice_connector_connected{connector="plant"}'));

    expect(await gauge()).toBe('sluice_connector_connected{connector="plant"} 1');
    await mosquitto.stop();
    await readinessWhen((r) => r.status === 503);
    expect(await gauge()).toBe('sluice_connector_connected{connector="plant"} 0');
    await mosquitto.restart();
    await readinessWhen((r) => r.status === 200);
    expect(await gauge()).toBe('sluice_connector_connected{connector="plant"} 1');
  });
});

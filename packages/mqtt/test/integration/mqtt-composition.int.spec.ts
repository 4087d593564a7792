import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { type Integration, createIntegration, silentLogger, connectorModule, sourceModule } from '@sluice/core';
import { InMemoryConnector } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { mqttUrl, randomName } from '../../../../scripts/testkit';
import { AedesSource } from '../../src/aedes-source';
import { parseAedesSourceConfig } from '../../src/aedes-source-config';
import { mqttModule } from '../../src/mqtt-module';
import { Closer, publisher } from '../source-harness';

// The MQTT sources composed with the real runtime and rule engine (connector in memory): what the lead's
// end-to-end flow relies on.
jest.setTimeout(30_000);

const closer = new Closer();
const apps: Integration[] = [];

afterEach(async () => {
  await closer.closeAll();
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('MQTT sources in an integration', () => {
  it('client mode: a rule sees the clientid taken from a user property', async () => {
    const topic = randomName('it-compose');
    const connector = new InMemoryConnector('memory');
    const app = await createIntegration({
      modules: [
        mqttModule({ id: 'plant', url: mqttUrl(), clientId: randomName('it-sluice'), session: { sessionExpiry: 60 }, identity: { clientid: { userProperty: 'clientid' } } }),
        sqlModule(),
        connectorModule(connector),
      ],
      rules: [{ id: 'temp_hum', sql: `SELECT clientid, payload.temp as temp FROM "${topic}"`, actions: [{ connector: 'memory' }] }],
    });
    apps.push(app);
    await app.start();
    const pub = closer.client(await publisher(mqttUrl()));
    await pub.publishAsync(topic, '{"temp": 27.5}', { qos: 1, properties: { userProperties: { clientid: 'dev-1' } } });
    await until(() => connector.records.length === 1);
    expect(connector.records[0]!.output).toMatchObject({ clientid: 'dev-1', temp: 27.5 });
  });

  it("embedded broker: the device's PUBACK waits until the connector has stored the record", async () => {
    const topic = randomName('it-compose');
    const connector = new InMemoryConnector('memory');
    connector.behaviour = () => 'hold';
    const source = new AedesSource(parseAedesSourceConfig({ id: 'edge', port: 0 }), silentLogger);
    const app = await createIntegration({
      modules: [sourceModule(source), sqlModule(), connectorModule(connector)],
      rules: [{ id: 'r', sql: `SELECT clientid, payload.temp as temp FROM "${topic}"`, actions: [{ connector: 'memory' }] }],
    });
    apps.push(app);
    await app.start();
    const clientId = randomName('device');
    const pub = closer.client(await publisher(`mqtt://127.0.0.1:${source.address!.port}`, { protocolVersion: 4, clientId }));
    let acked = false;
    const sent = pub.publishAsync(topic, '{"temp": 21}', { qos: 1 }).then(() => (acked = true));
    await until(() => connector.heldCount === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(acked).toBe(false);
    connector.release();
    await sent;
    expect(connector.records[0]!.output).toMatchObject({ clientid: clientId, temp: 21 });
  });
});

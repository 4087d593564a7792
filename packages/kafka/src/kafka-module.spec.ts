import { describe, expect, it } from '@jest/globals';
import { Logger, type Connector, Connector as ConnectorToken, silentLogger } from '@sluice/core';
import { Container } from 'inversify';
import { KafkaConnector } from './kafka-connector';
import { kafkaModule } from './kafka-module';

describe(kafkaModule.name, () => {
  it("binds one KafkaConnector to core's Connector token, with a child of the application's logger, without connecting", async () => {
    const namespaces: string[] = [];
    const logger: Logger = { ...silentLogger, child: (namespace) => { namespaces.push(namespace); return silentLogger; } };
    const container = new Container();
    container.bind<Logger>(Logger).toConstantValue(logger);
    await container.load(kafkaModule({ id: 'upstash', bootstrapHosts: '127.0.0.1:1' }));
    const connectors = container.getAll<Connector>(ConnectorToken);
    expect(connectors).toHaveLength(1);
    expect(connectors[0]).toBeInstanceOf(KafkaConnector);
    expect(connectors[0]?.id).toBe('upstash');
    expect(connectors[0]?.status?.()).toEqual({ state: 'disconnected', reason: 'not started' });
    expect(container.get<Connector>(ConnectorToken)).toBe(connectors[0]);
    expect(namespaces).toEqual(['kafka/upstash']);
  });

  it('works without a Logger bound', async () => {
    const container = new Container();
    await container.load(kafkaModule({ id: 'k', bootstrapHosts: '127.0.0.1:1' }));
    expect(container.get<Connector>(ConnectorToken).id).toBe('k');
  });
});

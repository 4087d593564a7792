import { describe, expect, it } from '@jest/globals';
import { Logger, type Sink, Sink as SinkToken, silentLogger } from '@sluice/core';
import { Container } from 'inversify';
import { KafkaSink } from './kafka-sink';
import { kafkaModule } from './kafka-module';

describe(kafkaModule.name, () => {
  it("binds one KafkaSink to core's Sink token, with a child of the application's logger, without connecting", async () => {
    const namespaces: string[] = [];
    const logger: Logger = { ...silentLogger, child: (namespace) => { namespaces.push(namespace); return silentLogger; } };
    const container = new Container();
    container.bind<Logger>(Logger).toConstantValue(logger);
    await container.load(kafkaModule({ id: 'upstash', bootstrapHosts: '127.0.0.1:1' }));
    const sinks = container.getAll<Sink>(SinkToken);
    expect(sinks).toHaveLength(1);
    expect(sinks[0]).toBeInstanceOf(KafkaSink);
    expect(sinks[0]?.id).toBe('upstash');
    expect(sinks[0]?.status?.()).toEqual({ state: 'disconnected', reason: 'not started' });
    expect(container.get<Sink>(SinkToken)).toBe(sinks[0]);
    expect(namespaces).toEqual(['kafka/upstash']);
  });

  it('works without a Logger bound', async () => {
    const container = new Container();
    await container.load(kafkaModule({ id: 'k', bootstrapHosts: '127.0.0.1:1' }));
    expect(container.get<Sink>(SinkToken).id).toBe('k');
  });
});

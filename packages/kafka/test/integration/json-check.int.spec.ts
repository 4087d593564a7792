import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { connectorModule, createIntegration, type Integration, sourceModule } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { sqlModule } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, randomName } from '@sluice/testkit';
import { kafkaModule } from '../../src/kafka-module';

const broker = kafkaBroker();

// check.value: json end to end: the rule engine renders `{"temp": ${temp}}`, the real broker gets only the
// records that are JSON, the others go to the fallback action, and the counters say why.
describe('check.value: json through the runtime, with a fallback action and a real broker', () => {
  let app: Integration | undefined;
  let topic: string;

  beforeEach(async () => {
    topic = randomName('json-check');
    await createTopic(topic);
  });

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await deleteTopic(topic).catch(() => undefined);
  });

  it('sends the records that are JSON, and hands the others to the fallback action', async () => {
    const source = new InMemorySource('plant');
    const dlq = new InMemoryConnector('dlq');
    app = await createIntegration({
      modules: [
        sourceModule(source), sqlModule(), connectorModule(dlq),
        kafkaModule({ id: 'kafka', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } }),
      ],
      rules: [{
        id: 'temps',
        sql: 'SELECT clientid, payload.temp as temp FROM "plant/#"',
        actions: [{ connector: 'kafka', topic, value: '{"temp": ${temp}}', check: { value: 'json' }, fallbackActions: [{ connector: 'dlq' }] } as never],
      }],
    });
    await app.start();
    const settled = await Promise.all([
      source.push('plant/a', '{"temp": 21.5}').settled,
      source.push('plant/b', '{"temp": "n/a"}').settled,
      source.push('plant/c', '{"hum": 40}').settled,
      source.push('plant/d', '{"temp": -3}').settled,
    ]);
    expect(settled).toEqual([undefined, undefined, undefined, undefined]);
    expect((await consumeRecords(topic, 2)).map((record) => record.value).sort()).toEqual(['{"temp": -3}', '{"temp": 21.5}']);
    expect(dlq.records.map((record) => record.output['temp'] ?? null)).toEqual(['n/a', null]);
    expect(app.metrics.action('temps:kafka')).toMatchObject({
      matched: 4, success: 2, failed: 2, 'failed.retriable': 0, 'fallback.success': 2,
      connector: expect.objectContaining({ 'rejected.invalid_json': 2, 'rejected.schema': 0 }),
    });
    expect(app.metrics.source('plant')).toMatchObject({ received: 4, acknowledged: 4, leftToBroker: 0 });
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type ActionContext, type RuleOutput, silentLogger } from '@sluice/core';
import { compileRule, compileTemplate } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, randomName } from '@sluice/testkit';
import { createKafkaProducer, KafkaConnector } from '../../src/kafka-connector';
import { parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { mqttMessage } from '../fixtures/messages';

const broker = kafkaBroker();

const context = (id: string): ActionContext => ({ id, ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped: () => {} });

// The examples of docs/topic-mapping.md, with the rule engine and a real broker.
describe('topic mapping (docs/topic-mapping.md) against a real broker', () => {
  let connector: KafkaConnector;
  let prefix: string;
  const topics: string[] = [];

  async function topicsFor(...suffixes: string[]): Promise<void> {
    for (const suffix of suffixes) {
      topics.push(`${prefix}${suffix}`);
      await createTopic(`${prefix}${suffix}`);
    }
  }

  /** Evaluates the rule on an MQTT message and sends every output through the action, as the runtime does. */
  async function publish(sql: string, actions: ReturnType<KafkaConnector['createAction']>[], topic: string, payload: object): Promise<void> {
    const outputs = compileRule(sql).evaluate({ topic, payload: JSON.stringify(payload), clientid: 'dev-1', timestamp: 1_700_000_000_000, qos: 1 });
    await Promise.all(outputs.flatMap((output) => actions.map((action) => action.send(output as RuleOutput, mqttMessage({ topic })))));
  }

  beforeEach(async () => {
    prefix = `${randomName('map')}-`;
    const config = parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
    connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
    await connector.start(new AbortController().signal);
  });

  afterEach(async () => {
    await connector.stop();
    await Promise.all(topics.splice(0).map((name) => deleteTopic(name).catch(() => undefined)));
  });

  it('captures MQTT topic levels of a wildcard filter into the Kafka topic name', async () => {
    await topicsFor('line-1-temp', 'line-2-hum');
    const sql = 'SELECT topic(2) as line, topic(4) as kind, payload FROM "factory/+/sensors/+"';
    const action = connector.createAction({ topic: `${prefix}\${line}-\${kind}`, value: '${payload}' }, context('r:map'));
    await publish(sql, [action], 'factory/line-1/sensors/temp', { v: 1 });
    await publish(sql, [action], 'factory/line-2/sensors/hum', { v: 2 });
    expect((await consumeRecords(`${prefix}line-1-temp`, 1)).map((record) => record.value)).toEqual(['{"v":1}']);
    expect((await consumeRecords(`${prefix}line-2-hum`, 1)).map((record) => record.value)).toEqual(['{"v":2}']);
  });

  it('mirrors the whole MQTT topic with / replaced by .', async () => {
    await topicsFor('telemetry.a.b');
    const sql = `SELECT replace(topic, '/', '.') as kafka_topic, payload FROM "telemetry/#"`;
    const action = connector.createAction({ topic: `${prefix}\${kafka_topic}`, value: '${payload}' }, context('r:mirror'));
    await publish(sql, [action], 'telemetry/a/b', { v: 3 });
    expect((await consumeRecords(`${prefix}telemetry.a.b`, 1)).map((record) => record.value)).toEqual(['{"v":3}']);
  });

  it('one rule, several actions: each writes every output with its own key', async () => {
    await topicsFor('raw', 'by-site');
    const sql = 'SELECT clientid, topic(2) as site, payload.temp as temp FROM "sites/+/readings"';
    const actions = [
      connector.createAction({ topic: `${prefix}raw`, key: '${clientid}', value: '${temp}' }, context('r:raw')),
      connector.createAction({ topic: `${prefix}by-site`, key: '${site}', value: '${temp}', partitionStrategy: 'key_dispatch' }, context('r:site')),
    ];
    await publish(sql, actions, 'sites/north/readings', { temp: 21 });
    expect((await consumeRecords(`${prefix}raw`, 1)).map((record) => [record.key, record.value])).toEqual([['dev-1', '21']]);
    expect((await consumeRecords(`${prefix}by-site`, 1)).map((record) => [record.key, record.value])).toEqual([['north', '21']]);
  });
});

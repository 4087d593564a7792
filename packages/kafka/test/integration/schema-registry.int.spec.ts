import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type ActionContext, IntegrationError, type RuleOutput, silentLogger } from '@sluice/core';
import { compileRule, compileTemplate } from '@sluice/sql';
import { consumeRecords, createTopic, deleteTopic, kafkaBroker, randomName, startSchemaRegistry, type TestSchemaRegistry } from '@sluice/testkit';
import { Type as AvroType, types as avroTypes } from 'avsc';
import type { KafkaAction } from '../../src/kafka-action';
import { createKafkaProducer, KafkaConnector } from '../../src/kafka-connector';
import { type KafkaConnectorOptions, parseKafkaConnectorConfig } from '../../src/kafka-connector-config';
import { mqttMessage } from '../fixtures/messages';

// Sluice → Kafka with values in the Confluent wire format, against a real schema registry (Apicurio Registry
// 2.4.2.Final, its Confluent-compatible API) and a real broker. The records are read back by a consumer that
// knows only the wire format: it asks the registry for the schema by the id in each value.
const broker = kafkaBroker();

const READING = {
  type: 'record', name: 'Reading', namespace: 'sluice.test',
  fields: [{ name: 'clientid', type: 'string' }, { name: 'temp', type: 'double' }, { name: 'site', type: ['null', 'string'], default: null }],
};
const SQL = 'SELECT clientid, payload.temp as temp, payload.site as site FROM "plant/+/reading"';

const context = (id: string): ActionContext => ({ id, ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped: () => {} });

/** What a consumer knowing only the wire format does: byte 0, the id, then the schema by id from the registry. */
async function decodeWireFormat(registryUrl: string, value: Buffer): Promise<{ id: number; schemaType: string; decoded: unknown }> {
  expect(value[0]).toBe(0);
  const id = value.readUInt32BE(1);
  const res = await fetch(`${registryUrl}/schemas/ids/${id}`);
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { schema: string; schemaType?: string };
  const schemaType = answer.schemaType ?? 'AVRO';
  const body = value.subarray(5);
  const decoded = schemaType === 'AVRO'
    ? AvroType.forSchema(JSON.parse(answer.schema) as never, { wrapUnions: 'auto' }).fromBuffer(body)
    : JSON.parse(body.toString('utf8')) as unknown;
  return { id, schemaType, decoded };
}

async function registerSchema(registryUrl: string, subject: string, schema: object, schemaType?: string): Promise<number> {
  const res = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema), ...(schemaType === undefined ? {} : { schemaType }) }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: number }).id;
}

/** Evaluates the rule on an MQTT message and sends the outputs through the action, as the runtime does. */
function publish(action: KafkaAction, device: string, payload: object): Promise<unknown[]> {
  const outputs = compileRule(SQL).evaluate({ topic: `plant/${device}/reading`, payload: JSON.stringify(payload), clientid: device, timestamp: Date.now(), qos: 1 });
  return Promise.all(outputs.map((output) => action.send(output as RuleOutput, mqttMessage({ topic: `plant/${device}/reading` }))));
}

describe('valueSchema against a real schema registry (Apicurio Registry) and a real broker', () => {
  let registry: TestSchemaRegistry;
  let connector: KafkaConnector | undefined;
  let topic: string;

  beforeAll(async () => {
    registry = await startSchemaRegistry();
  }, 180_000);

  afterAll(async () => {
    await registry?.stop();
  });

  const startConnector = async (schemaRegistry: KafkaConnectorOptions['schemaRegistry']): Promise<KafkaConnector> => {
    const config = parseKafkaConnectorConfig({ id: 'it', bootstrapHosts: broker.bootstrap, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 }, schemaRegistry });
    connector = new KafkaConnector(config, createKafkaProducer(config, silentLogger), silentLogger);
    await connector.start(new AbortController().signal);
    return connector;
  };

  beforeEach(async () => {
    topic = randomName('avro');
    await createTopic(topic);
  });

  afterEach(async () => {
    await connector?.stop();
    connector = undefined;
    await deleteTopic(topic).catch(() => undefined);
  });

  it('registers the Avro schema under <topic>-value and writes values a wire-format consumer decodes', async () => {
    const action = (await startConnector({ url: registry.url })).createAction({ topic, valueSchema: { type: 'avro', schema: READING } }, context('r:avro'));
    await publish(action, 'dev-1', { temp: 21.5, site: 'north' });
    await publish(action, 'dev-2', { temp: -3 });
    const records = await consumeRecords(topic, 2);
    const decoded = await Promise.all(records.map((record) => decodeWireFormat(registry.url, record.valueBytes as Buffer)));
    expect(decoded.map((d) => d.decoded)).toEqual([{ clientid: 'dev-1', temp: 21.5, site: 'north' }, { clientid: 'dev-2', temp: -3, site: null }]);
    const latest = (await (await fetch(`${registry.url}/subjects/${topic}-value/versions/latest`)).json()) as { id: number };
    expect(decoded.map((d) => [d.id, d.schemaType])).toEqual([[latest.id, 'AVRO'], [latest.id, 'AVRO']]);
  });

  it('uses the latest schema of the subject when the action names none', async () => {
    const id = await registerSchema(registry.url, `${topic}-value`, READING);
    const action = (await startConnector({ url: registry.url })).createAction({ topic, valueSchema: { type: 'avro' } }, context('r:latest'));
    await publish(action, 'dev-3', { temp: 5 });
    const [record] = await consumeRecords(topic, 1);
    expect(await decodeWireFormat(registry.url, record?.valueBytes as Buffer)).toEqual({ id, schemaType: 'AVRO', decoded: { clientid: 'dev-3', temp: 5, site: null } });
  });

  it('fails an output that does not fit the schema (not retriable, counted), and sends the others', async () => {
    const action = (await startConnector({ url: registry.url })).createAction({ topic, valueSchema: { type: 'avro', schema: READING } }, context('r:misfit'));
    const failure = await publish(action, 'dev-4', { temp: 'warm' }).catch((error: unknown) => error);
    expect(IntegrationError.is(failure) && !failure.retriable).toBe(true);
    expect((failure as Error).message).toBe(`the rule output does not fit the Avro schema of subject "${topic}-value": field "temp": the text "warm" does not fit Avro type "double"; the record is not sent`);
    await publish(action, 'dev-5', { temp: 1 });
    const records = await consumeRecords(topic, 1);
    expect((await decodeWireFormat(registry.url, records[0]?.valueBytes as Buffer)).decoded).toEqual({ clientid: 'dev-5', temp: 1, site: null });
    expect(action.metrics()['rejected.schema']).toBe(1);
  });

  it('writes a nanosecond timestamp from the payload into an Avro long with every digit', async () => {
    const schema = { type: 'record', name: 'Stamp', fields: [{ name: 'clientid', type: 'string' }, { name: 'ts', type: 'long' }] };
    const action = (await startConnector({ url: registry.url })).createAction({ topic, valueSchema: { type: 'avro', schema } }, context('r:nanos'));
    const outputs = compileRule('SELECT clientid, payload.ts as ts FROM "plant/+/reading"')
      .evaluate({ topic: 'plant/dev-8/reading', payload: '{"ts": 1700000000123456789}', clientid: 'dev-8', timestamp: Date.now(), qos: 1 });
    await Promise.all(outputs.map((output) => action.send(output as RuleOutput, mqttMessage())));
    const [record] = await consumeRecords(topic, 1);
    const value = record?.valueBytes as Buffer;
    const id = value.readUInt32BE(1);
    const registered = (await (await fetch(`${registry.url}/schemas/ids/${id}`)).json()) as { schema: string };
    const exactLong = avroTypes.LongType.__with({
      fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
      toBuffer: (n: bigint) => {
        const buf = Buffer.alloc(8);
        buf.writeBigInt64LE(n);
        return buf;
      },
      fromJSON: BigInt, toJSON: Number, isValid: (n: unknown) => typeof n === 'bigint', compare: () => 0,
    });
    const reader = AvroType.forSchema(JSON.parse(registered.schema) as never, { registry: { long: exactLong } });
    expect(reader.fromBuffer(value.subarray(5))).toEqual({ clientid: 'dev-8', ts: 1_700_000_000_123_456_789n });
  });

  it('writes JSON Schema values: the id, then the output as JSON text', async () => {
    const schema = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['clientid', 'temp'], properties: { clientid: { type: 'string' }, temp: { type: 'number' } } };
    const action = (await startConnector({ url: registry.url })).createAction({ topic, valueSchema: { type: 'json', schema } }, context('r:json'));
    await publish(action, 'dev-6', { temp: 7.25 });
    const [record] = await consumeRecords(topic, 1);
    const { schemaType, decoded } = await decodeWireFormat(registry.url, record?.valueBytes as Buffer);
    expect([schemaType, decoded]).toEqual(['JSON', { clientid: 'dev-6', temp: 7.25 }]);
  });

  it('the connection test ends with a schema registry stage', async () => {
    const reached = await (await startConnector({ url: registry.url })).test();
    expect(reached.stages.at(-1)).toEqual({ stage: 'schema registry', ok: true, detail: expect.stringMatching(new RegExp(`^${registry.url} answered GET /subjects \\(\\d+ subjects?\\)$`)) });
    await connector?.stop();
    const refused = await (await startConnector({ url: 'http://127.0.0.1:1/apis/ccompat/v7' })).test();
    expect([refused.ok, refused.stages.at(-1)]).toEqual([false, { stage: 'schema registry', ok: false, detail: 'schema registry http://127.0.0.1:1/apis/ccompat/v7 cannot be reached while listing subjects: ECONNREFUSED' }]);
  });

  it('keeps records waiting while the registry cannot be reached, reports disconnected with the reason, and sends them once it answers', async () => {
    // a port that refuses until a proxy to the real registry opens on it
    const registryPort = Number(new URL(registry.url).port);
    const proxy = net.createServer((client) => {
      const upstream = net.connect(registryPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    try {
      const started = await startConnector({ url: `http://127.0.0.1:${port}/apis/ccompat/v7`, requestTimeout: 2000 });
      const action = started.createAction({ topic, valueSchema: { type: 'avro', schema: READING }, retryBackoff: { initial: 100, max: 200 } }, context('r:outage'));
      const sent = publish(action, 'dev-7', { temp: 30 });
      await waitFor(() => started.status().state === 'disconnected');
      expect(started.status().reason).toMatch(new RegExp(`^schema registry http://127.0.0.1:${port}/apis/ccompat/v7 cannot be reached while registering the schema under subject "${topic}-value": ECONNREFUSED; records for subject "${topic}-value" wait`));
      expect(action.queued()).toBe(1);
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      await sent;
      const [record] = await consumeRecords(topic, 1);
      expect((await decodeWireFormat(registry.url, record?.valueBytes as Buffer)).decoded).toEqual({ clientid: 'dev-7', temp: 30, site: null });
      expect(started.status().state).toBe('connected');
    } finally {
      await new Promise<void>((resolve) => (proxy.listening ? proxy.close(() => resolve()) : resolve()));
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

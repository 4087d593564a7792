// The console's Messages routes against the real Kafka test broker: topics, the latest records (text, binary
// as hex, headers) and a live follow over server-sent events, through the Kafka connector's RecordBrowser.
import { get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { Kafka, type Producer } from 'kafkajs';
import { sluiceApi } from '@sluice/cli';
import { createIntegration, sourceModule, type Integration } from '@sluice/core';
import { InMemorySource } from '@sluice/core/testing';
import { kafkaModule } from '@sluice/kafka';
import { sqlModule } from '@sluice/sql';
import { createTopic, deleteTopic, kafkaBroker, kafkaConfig, randomName } from '@sluice/testkit';

let integration: Integration;
let host: FastifyInstance;
let producer: Producer;
let topic: string;
let base: string;
const auth = { authorization: 'Bearer t0ken' };
const streams: IncomingMessage[] = [];

beforeEach(async () => {
  topic = randomName('console-messages');
  await createTopic(topic, 2);
  integration = await createIntegration({
    modules: [sourceModule(new InMemorySource('plant')), sqlModule(), kafkaModule({ id: 'upstash', bootstrapHosts: [kafkaBroker().bootstrap] })],
    rules: [{ id: 'r', sql: 'SELECT * FROM "t/#"', actions: [{ connector: 'upstash', topic }] }],
  });
  await integration.start();
  host = Fastify();
  await host.register(sluiceApi, { integration, token: 't0ken' });
  await host.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`;
  producer = new Kafka(kafkaConfig()).producer();
  await producer.connect();
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.destroy();
  await producer.disconnect();
  await host.close();
  await integration.stop();
  await deleteTopic(topic);
});

const json = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${base}${path}`, { headers: auth });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

it('lists the topics and answers the latest records: UTF-8 as text, other bytes as hex, headers', async () => {
  await producer.send({ topic, messages: [
    { partition: 0, key: 'sensor-1', value: '{"temp": 27.5, "hum": 41.8}', headers: { site: 'lyon' } },
    { partition: 1, key: null, value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
  ] });
  const topics = await json('/api/connectors/upstash/topics');
  expect(topics.status).toBe(200);
  expect(topics.body['topics']).toContain(topic);
  expect((topics.body['topics'] as string[]).filter((name) => name.startsWith('__'))).toEqual([]);

  const latest = await json(`/api/connectors/upstash/messages?topic=${topic}&limit=10`);
  expect(latest.status).toBe(200);
  const records = latest.body['records'] as Array<{ partition: number; value: unknown }>;
  expect([...records].sort((a, b) => a.partition - b.partition)).toEqual([
    { partition: 0, offset: '0', timestamp: expect.stringMatching(/^\d{13}$/), key: { text: 'sensor-1', encoding: 'utf8' }, value: { text: '{"temp": 27.5, "hum": 41.8}', encoding: 'utf8' }, headers: { site: { text: 'lyon', encoding: 'utf8' } } },
    { partition: 1, offset: '0', timestamp: expect.stringMatching(/^\d{13}$/), key: null, value: { text: 'deadbeef', encoding: 'hex' }, headers: {} },
  ]);
  expect((await json(`/api/connectors/upstash/messages?topic=${topic}-missing`)).status).toBe(404);
  expect((await fetch(`${base}/api/connectors/upstash/messages?topic=${topic}`)).status).toBe(401);
});

it('follows a topic: each record written after the follow started arrives as `event: record`', async () => {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    httpGet(`${base}/api/connectors/upstash/messages/stream?topic=${topic}`, { headers: auth, agent: false }, resolve).on('error', reject);
  });
  streams.push(res);
  expect([res.statusCode, res.headers['content-type']]).toEqual([200, 'text/event-stream; charset=utf-8']);
  res.setEncoding('utf8');
  let text = '';
  const firstRecord = new Promise<string>((resolve) => {
    res.on('data', (chunk: string) => {
      text += chunk;
      const event = /event: record\ndata: (.*)\n\n/.exec(text);
      if (event !== null) resolve(event[1] as string);
    });
  });
  // the follow's consumer joins in its own time: write until one arrives (each value says when it was sent)
  let sent = 0;
  let arrived: string | undefined;
  void firstRecord.then((data) => (arrived = data));
  while (arrived === undefined && sent < 120) {
    await producer.send({ topic, messages: [{ partition: 0, key: 'k', value: `live-${sent++}` }] });
    await Promise.race([firstRecord, new Promise((resolve) => setTimeout(resolve, 500))]);
  }
  const record = JSON.parse(await firstRecord) as { partition: number; key: unknown; value: { text: string; encoding: string } };
  expect(record).toMatchObject({ partition: 0, key: { text: 'k', encoding: 'utf8' }, value: { text: expect.stringMatching(/^live-\d+$/), encoding: 'utf8' } });
});

// The one-pass produce encoder against kafkajs's own: the same bytes for the same request, whatever the records hold.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Message } from 'kafkajs';
import { encodeProduceRequest, installProduceEncoding, type ProduceRequestArgs } from './produce-encoding';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: unknown) => { encode(): Promise<{ buffer: Buffer }> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KafkajsEncoder = require('kafkajs/src/protocol/encoder') as new () => unknown;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Long = require('kafkajs/src/utils/long') as { fromValue(value: unknown): unknown };

async function kafkajsBytes(args: ProduceRequestArgs): Promise<Buffer> {
  const request = kafkajsProduceV3({
    ...args,
    compression: 0,
    ...(args.producerId === undefined ? {} : { producerId: Long.fromValue(args.producerId) }),
  });
  return (await request.encode()).buffer;
}

const request = (messages: Message[], extra: Partial<ProduceRequestArgs> = {}): ProduceRequestArgs => ({
  acks: -1, timeout: 30000, topicData: [{ topic: 'readings', partitions: [{ partition: 2, messages }] }], ...extra,
});

describe('encodeProduceRequest', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it.each<[string, Message[]]>([
    ['string keys and values with timestamps', [
      { key: 'dev-1', value: '{"temp": 21.3}', timestamp: '1796622850690' },
      { key: 'dev-2', value: '{"temp": 21.4}', timestamp: '1796622850695' },
    ]],
    ['Buffers, null keys and values, empty strings', [
      { key: null, value: Buffer.from([0, 1, 2, 255]), timestamp: '1796622850690' },
      { key: Buffer.alloc(0), value: null, timestamp: '1796622850691' },
      { key: '', value: '', timestamp: '1796622850692' },
    ]],
    ['headers: strings, Buffers, repeated keys, unicode', [
      { key: 'k', value: 'v', timestamp: '1796622850690', headers: { a: 'x', b: Buffer.from('y'), c: ['1', '2'], 'clé': 'été ✓' } },
      { key: 'k', value: 'v', timestamp: '1796622850690', headers: {} },
    ]],
    ['values past the one- and two-byte varint sizes', [
      { key: 'k'.repeat(200), value: 'v'.repeat(20_000), timestamp: '1796622850690' },
      { key: 'k', value: 'é'.repeat(70_000), timestamp: '1796622851690' },
    ]],
    ['16-digit timestamps past 2^53 (first and max written from their digits)', [
      { key: 'a', value: '1', timestamp: '9007199254740993' },
      { key: 'b', value: '2', timestamp: '9007199254740995' },
    ]],
    ['timestamps out of order (first and max are the smallest and largest)', [
      { key: 'a', value: '1', timestamp: '1796622850699' },
      { key: 'b', value: '2', timestamp: '1796622850600' },
      { key: 'c', value: '3', timestamp: '1796622850650' },
    ]],
  ])('writes what kafkajs writes: %s', async (_, messages) => {
    const args = request(messages);
    expect(encodeProduceRequest(args).equals(await kafkajsBytes(args))).toBe(true);
  });

  it('gives a record without a timestamp the time of encoding, as kafkajs does', async () => {
    jest.useFakeTimers({ now: 1_796_622_850_000 });
    const args = request([{ key: 'a', value: '1' }, { key: 'b', value: '2', timestamp: '1796622850690' }, { key: 'c', value: '3' }]);
    expect(encodeProduceRequest(args).equals(await kafkajsBytes(args))).toBe(true);
    const none = request([{ key: 'a', value: '1' }]);
    expect(encodeProduceRequest(none).equals(await kafkajsBytes(none))).toBe(true);
  });

  it('writes several topics and partitions, the idempotent producer\'s fields and a transactional id', async () => {
    const messages = (n: number): Message[] => Array.from({ length: n }, (_, i) => ({ key: `d${i}`, value: `{"n": ${i}}`, timestamp: String(1796622850690 + i) }));
    const args: ProduceRequestArgs = {
      acks: 1, timeout: 5000, transactionalId: 'tx-1', producerId: 4242, producerEpoch: 3,
      topicData: [
        { topic: 'a', partitions: [{ partition: 0, firstSequence: 17, messages: messages(3) }, { partition: 1, firstSequence: 0, messages: messages(300) }] },
        { topic: 'b', partitions: [{ partition: 5, messages: messages(1) }] },
      ],
    };
    expect(encodeProduceRequest(args).equals(await kafkajsBytes(args))).toBe(true);
  });

  it('refuses a header without a value, as kafkajs cannot encode one either', () => {
    expect(() => encodeProduceRequest(request([{ key: 'k', value: 'v', headers: { a: undefined } }]))).toThrow(TypeError);
  });

  it('installs into kafkajs\'s produce requests v3 and later, uncompressed only, once', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const definition = require('kafkajs/src/protocol/requests/produce') as { protocol: (which: { version: number }) => (args: unknown) => { request: { apiVersion: number; encode(): Promise<{ buffer: Buffer }> } } };
    const args = request([{ key: 'dev-1', value: '{"temp": 21.3}', timestamp: '1796622850690', headers: { h: 'v' } }]);
    const before = await definition.protocol({ version: 7 })({ ...args, compression: 0 }).request.encode();
    const gzipBefore = await definition.protocol({ version: 7 })({ ...args, compression: 1 }).request.encode();
    installProduceEncoding();
    const wrapped = definition.protocol;
    installProduceEncoding();
    expect(definition.protocol).toBe(wrapped);
    const built = definition.protocol({ version: 7 })({ ...args, compression: 0 });
    expect(built.request.apiVersion).toBe(7);
    const after = await built.request.encode();
    // kafkajs's encode resolves to one of its Encoders; ours to the bytes
    expect(before).toBeInstanceOf(KafkajsEncoder);
    expect(after).not.toBeInstanceOf(KafkajsEncoder);
    expect(after.buffer.equals(before.buffer)).toBe(true);
    // a compressed request keeps kafkajs's encoder
    const gzipAfter = await definition.protocol({ version: 7 })({ ...args, compression: 1 }).request.encode();
    expect(gzipAfter).toBeInstanceOf(KafkajsEncoder);
    expect(gzipAfter.buffer.equals(gzipBefore.buffer)).toBe(true);
  });
});

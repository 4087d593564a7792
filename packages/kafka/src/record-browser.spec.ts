import { describe, expect, it } from '@jest/globals';
import type { KafkaMessage } from 'kafkajs';
import { MAX_BROWSED_BYTES, toBrowsedRecord } from './record-browser';

function message(fields: Partial<KafkaMessage>): KafkaMessage {
  return { offset: '7', timestamp: '1700000000000', key: null, value: null, attributes: 0, headers: {}, ...fields } as KafkaMessage;
}

describe(toBrowsedRecord.name, () => {
  it('keeps a small record whole, in bytes of its own, without originalSizes', () => {
    const fetched = Buffer.alloc(14); // as a fetch response: an allocation of its own, records are views into it
    fetched.write('..key..value..');
    const record = toBrowsedRecord(2, message({ key: fetched.subarray(2, 5), value: fetched.subarray(7, 12), headers: { site: Buffer.from('lyon'), twice: [Buffer.from('a'), Buffer.from('b')] } }));
    expect(record).toEqual({ partition: 2, offset: '7', timestamp: '1700000000000', key: Buffer.from('key'), value: Buffer.from('value'), headers: { site: Buffer.from('lyon'), twice: Buffer.from('b') } });
    expect(record.value?.buffer).not.toBe(fetched.buffer);
    expect('originalSizes' in record).toBe(false);
  });

  it(`keeps only the first ${MAX_BROWSED_BYTES} bytes of a large key and value, and says how long they were`, () => {
    const value = Buffer.alloc(1024 * 1024, 0x61);
    const key = Buffer.alloc(MAX_BROWSED_BYTES + 1, 0x6b);
    const record = toBrowsedRecord(0, message({ key, value }));
    expect(record.value?.length).toBe(MAX_BROWSED_BYTES);
    expect(record.key?.length).toBe(MAX_BROWSED_BYTES);
    expect(record.value?.buffer.byteLength).toBeLessThanOrEqual(MAX_BROWSED_BYTES * 2); // not a view of the 1 MB value
    expect(record.originalSizes).toEqual({ key: MAX_BROWSED_BYTES + 1, value: 1024 * 1024 });
  });

  it(`keeps at most ${MAX_BROWSED_BYTES} bytes of all the headers together`, () => {
    const big = Buffer.alloc(MAX_BROWSED_BYTES - 10, 0x68);
    const record = toBrowsedRecord(0, message({ value: Buffer.from('v'), headers: { a: big, b: Buffer.alloc(100, 0x69), c: Buffer.from('x') } }));
    expect(record.headers['a']?.length).toBe(MAX_BROWSED_BYTES - 10);
    expect(record.headers['b']?.length).toBe(10);
    expect(record.headers['c']?.length).toBe(0);
    expect(record.originalSizes).toEqual({ headers: { b: 100, c: 1 } });
    expect(Object.getPrototypeOf(record.originalSizes?.headers)).toBeNull();
  });
});

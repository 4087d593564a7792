import { describe, expect, it } from '@jest/globals';
import { Type as AvroType, types as avroTypes } from 'avsc';
import { compileCodec, SchemaMismatch, WIRE_HEADER_BYTES } from './value-codecs';

const READING = JSON.stringify({
  type: 'record', name: 'Reading', fields: [
    { name: 'clientid', type: 'string' },
    { name: 'temp', type: 'double' },
    { name: 'seq', type: 'long' },
    { name: 'site', type: ['null', 'string'], default: null },
    { name: 'samples', type: { type: 'array', items: 'int' }, default: [] },
  ],
});

const mismatchOf = (encode: () => unknown): SchemaMismatch => {
  try {
    encode();
  } catch (error) {
    if (error instanceof SchemaMismatch) return error;
    throw error;
  }
  throw new Error('encoded without a mismatch');
};

describe('compileCodec', () => {
  describe('avro', () => {
    const codec = compileCodec('AVRO', READING);

    it('frames the Avro binary: byte 0, the schema id big-endian, the encoding', () => {
      const output = { clientid: 'dev-1', temp: 27.5, seq: 7, site: 'north', samples: [1, 2], extra: 'ignored' };
      const framed = codec.encode(output, 0x01020304);
      expect([...framed.subarray(0, WIRE_HEADER_BYTES)]).toEqual([0, 1, 2, 3, 4]);
      const decoded = AvroType.forSchema(JSON.parse(READING) as never, { wrapUnions: 'auto' }).fromBuffer(framed.subarray(WIRE_HEADER_BYTES));
      expect(decoded).toEqual({ clientid: 'dev-1', temp: 27.5, seq: 7, site: 'north', samples: [1, 2] });
    });

    it('uses field defaults for outputs without the field', () => {
      const framed = codec.encode({ clientid: 'd', temp: 1, seq: 1 }, 1);
      const decoded = AvroType.forSchema(JSON.parse(READING) as never, { wrapUnions: 'auto' }).fromBuffer(framed.subarray(WIRE_HEADER_BYTES));
      expect(decoded).toEqual({ clientid: 'd', temp: 1, seq: 1, site: null, samples: [] });
    });

    it('writes values larger than its scratch buffer', () => {
      const samples = Array.from({ length: 20_000 }, (_, i) => i);
      const framed = codec.encode({ clientid: 'd', temp: 1, seq: 1, samples }, 9);
      const decoded = AvroType.forSchema(JSON.parse(READING) as never, { wrapUnions: 'auto' }).fromBuffer(framed.subarray(WIRE_HEADER_BYTES)) as { samples: number[] };
      expect(decoded.samples).toEqual(samples);
      expect(framed.readUInt32BE(1)).toBe(9);
    });

    it('names the first field that does not fit, and what it holds', () => {
      expect(mismatchOf(() => codec.encode({ clientid: 'd', temp: 'hot', seq: 1 }, 1)).message)
        .toBe('temp: the text "hot" does not fit Avro type "double"');
      expect(mismatchOf(() => codec.encode({ clientid: 'd', temp: 1 }, 1)).message)
        .toBe('seq: a missing value does not fit Avro type "long"');
      expect(mismatchOf(() => codec.encode({ clientid: 'd', temp: 1, seq: 1, samples: [1, 2.5] }, 1)).message)
        .toBe('samples[1]: the number 2.5 does not fit Avro type "int"');
    });

    it('writes exact integers beyond 2^53 (bigint outputs) into long fields, every digit kept', () => {
      const nanos = 1_700_000_000_123_456_789n;
      const framed = codec.encode({ clientid: 'd', temp: 1, seq: nanos }, 1);
      const exactLong = avroTypes.LongType.__with({
        fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
        toBuffer: (n: bigint) => { const buf = Buffer.alloc(8); buf.writeBigInt64LE(n); return buf; },
        fromJSON: BigInt, toJSON: Number, isValid: (n: unknown) => typeof n === 'bigint', compare: () => 0,
      });
      const reader = AvroType.forSchema(JSON.parse(READING) as never, { wrapUnions: 'auto', registry: { long: exactLong } });
      expect((reader.fromBuffer(framed.subarray(WIRE_HEADER_BYTES)) as { seq: bigint }).seq).toBe(nanos);
      // numbers still take the plain path, and a bigint past int64 is refused by name
      expect(codec.encode({ clientid: 'd', temp: 1, seq: 7 }, 1)).toEqual(compileCodec('AVRO', READING).encode({ clientid: 'd', temp: 1, seq: 7 }, 1));
      expect(mismatchOf(() => codec.encode({ clientid: 'd', temp: 1, seq: 2n ** 64n }, 1)).message).toBe('seq: the bigint 18446744073709551616 does not fit Avro type "long"');
    });

    it('refuses a text that is not an Avro schema', () => {
      expect(() => compileCodec('AVRO', '{"type": "recrod"}')).toThrow(/recrod/);
      expect(() => compileCodec('AVRO', 'not json')).toThrow();
    });
  });

  describe('json', () => {
    const codec = compileCodec('JSON', JSON.stringify({
      type: 'object', required: ['clientid', 'temp'],
      properties: { clientid: { type: 'string' }, temp: { type: 'number' }, readings: { type: 'array', items: { type: 'integer' } } },
    }));

    it('frames the output as JSON text after the header', () => {
      const framed = codec.encode({ clientid: 'd', temp: 3.5 }, 42);
      expect(framed[0]).toBe(0);
      expect(framed.readUInt32BE(1)).toBe(42);
      expect(JSON.parse(framed.subarray(WIRE_HEADER_BYTES).toString('utf8'))).toEqual({ clientid: 'd', temp: 3.5 });
    });

    it('names the field and the rule the output breaks', () => {
      const mismatch = mismatchOf(() => codec.encode({ clientid: 'd', temp: 1, readings: [1, 'x'] }, 1));
      expect(mismatch.path).toBe('readings[1]');
      expect(mismatch.problem).toMatch(/must be integer/);
      expect(mismatchOf(() => codec.encode({ clientid: 'd' }, 1)).problem).toMatch(/must have required property 'temp'/);
    });

    it('compiles 2020-12 schemas with their own dialect', () => {
      // prefixItems exists from 2020-12 on: a draft-07 validator would ignore it and accept ['x']
      const schema = { type: 'object', properties: { pair: { type: 'array', prefixItems: [{ type: 'number' }] } } };
      const modern = compileCodec('JSON', JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...schema }));
      expect(mismatchOf(() => modern.encode({ pair: ['x'] }, 1)).path).toBe('pair[0]');
      expect(compileCodec('JSON', JSON.stringify(schema)).encode({ pair: ['x'] }, 1).length).toBe(WIRE_HEADER_BYTES + '{"pair":["x"]}'.length);
    });

    it('writes exact integers beyond 2^53 as JSON numbers with every digit, validated as integers', () => {
      const framed = codec.encode({ clientid: 'd', temp: 1, readings: [1_700_000_000_123_456_789n, 2] }, 1);
      expect(framed.subarray(WIRE_HEADER_BYTES).toString('utf8')).toBe('{"clientid":"d","temp":1,"readings":[1700000000123456789,2]}');
      const tricky = { clientid: '\u0000 not a marker: 5', temp: 1 };
      expect(JSON.parse(codec.encode({ ...tricky, big: 2n ** 70n }, 1).subarray(WIRE_HEADER_BYTES).toString('utf8'))).toEqual({ ...tricky, big: 2 ** 70 });
    });
  });
});

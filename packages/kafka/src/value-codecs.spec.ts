import { describe, expect, it } from '@jest/globals';
import { Type as AvroType } from 'avsc';
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

    it('refuses an output that cannot be written as JSON', () => {
      const any = compileCodec('JSON', '{}');
      expect(mismatchOf(() => any.encode({ big: 10n }, 1)).message).toMatch(/cannot be written as JSON/);
    });
  });
});

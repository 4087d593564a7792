import { describe, expect, it } from '@jest/globals';
import { compileRule, compileTemplate } from '@sluice/sql';
import { mqttMessage } from '../test/fixtures/messages';
import { parseKafkaActionSettings } from './kafka-connector-config';
import { createPicker } from './partitioning';
import { RecordRenderer } from './record-renderer';

// Integers beyond 2^53 from a payload, through a rule and the SQL engine's templates, into a Kafka record
// (issue 15): the digits must arrive exact, as EMQX's bignums do.

const renderer = (settings: Record<string, unknown>): RecordRenderer =>
  new RecordRenderer({ connectorId: 'k', actionId: 'r:k' }, parseKafkaActionSettings(settings, 'r:k'), { compileTemplate }, createPicker('random', undefined));

const [output] = compileRule('SELECT payload.ts AS ts, payload.ts div 1000000 AS ms, clientid FROM "t/#"')
  .evaluate({ topic: 't/1', clientid: 'dev-1', payload: '{"ts": 1733400000123456789}' });

describe('a nanosecond timestamp from the payload into a Kafka record', () => {
  it('keeps every digit in a value template, the default ${.} value, the key and a header', () => {
    const record = renderer({ topic: 't', key: '${ts}', value: '{"ts": ${ts}}', extHeaders: [{ key: 'ts', value: '${ts}' }] }).render(output ?? {}, mqttMessage());
    expect(record.message.value).toBe('{"ts": 1733400000123456789}');
    expect(record.message.key).toBe('1733400000123456789');
    expect(record.message.headers?.['ts']).toBe('1733400000123456789');
    expect(renderer({ topic: 't' }).render(output ?? {}, mqttMessage()).message.value).toBe('{"ts":1733400000123456789,"ms":1733400000123,"clientid":"dev-1"}');
  });

  it('keeps every digit in headers from a map placeholder, as text and in the json header encoding', () => {
    const [withMap] = compileRule("SELECT map_put('ts', payload.ts, map_put('n', 1, json_decode('{}'))) AS h, [map_put('key', 'ts', map_put('value', payload.ts, json_decode('{}')))] AS pairs FROM \"t/#\"")
      .evaluate({ topic: 't/1', payload: '{"ts": 1733400000123456789}' });
    expect(renderer({ topic: 't', headers: '${h}' }).render(withMap ?? {}, mqttMessage()).message.headers).toEqual({ ts: '1733400000123456789', n: '1' });
    expect(renderer({ topic: 't', headers: '${pairs}' }).render(withMap ?? {}, mqttMessage()).message.headers).toEqual({ ts: '1733400000123456789' });
    expect(renderer({ topic: 't', headers: '${h}', headerValueEncodeMode: 'json' }).render(withMap ?? {}, mqttMessage()).message.headers)
      .toEqual({ ts: '1733400000123456789', n: '1' });
  });

  it('passes the JSON value check', () => {
    const record = renderer({ topic: 't', value: '{"ts": ${ts}}', check: { value: 'json' } }).render(output ?? {}, mqttMessage());
    expect(record.message.value).toBe('{"ts": 1733400000123456789}');
  });

  it('takes the record timestamp from the integer milliseconds the rule computed', () => {
    expect(renderer({ topic: 't', timestamp: '${ms}' }).render(output ?? {}, mqttMessage()).message.timestamp).toBe('1733400000123');
  });
});

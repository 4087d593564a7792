import { describe, expect, it, jest } from '@jest/globals';
import { IntegrationError } from '@sluice/core';
import { templates } from '../test/fixtures/fake-templates';
import { mqttMessage } from '../test/fixtures/messages';
import { parseKafkaActionSettings } from './kafka-connector-config';
import { createPicker } from './partitioning';
import { compileTemplate as compileSqlTemplate } from '@sluice/sql';
import { RecordRenderer, recordProblem } from './record-renderer';

const renderer = (settings: Record<string, unknown>): RecordRenderer =>
  new RecordRenderer({ connectorId: 'k', actionId: 'r:k' }, parseKafkaActionSettings(settings, 'r:k'), templates, createPicker('random', undefined));

const output = { timestamp: 1_700_000_000_123, clientid: 'dev-1', temp: '27.5', hum: '41.8' };

describe(RecordRenderer.name, () => {
  describe('.render', () => {
    it('renders the issue-2 record: key = client id, value from the template, timestamp from the output', () => {
      const record = renderer({ topic: 'emqx', value: '{"temp": ${temp}, "hum": ${hum}}' }).render(output, mqttMessage());
      expect(record.topic).toBe('emqx');
      expect(record.message).toMatchObject({ key: 'dev-1', value: '{"temp": 27.5, "hum": 41.8}', timestamp: '1700000000123' });
      expect(record.message.headers).toBeUndefined();
      expect(record.bytes).toBeGreaterThan(record.message.value!.length);
    });

    it('sends the whole output as JSON by default', () => {
      expect(renderer({ topic: 't' }).render(output, mqttMessage()).message.value).toBe(JSON.stringify(output));
    });

    it('renders an empty key as a null key', () => {
      expect(renderer({ topic: 't' }).render({ temp: 1 }, mqttMessage()).message.key).toBeNull();
    });

    it('falls back to the current time when the timestamp is not an integer', () => {
      jest.spyOn(Date, 'now').mockReturnValue(42);
      try {
        expect(renderer({ topic: 't' }).render({ timestamp: '2024-01-01' }, mqttMessage()).message.timestamp).toBe('42');
        expect(renderer({ topic: 't' }).render({}, mqttMessage()).message.timestamp).toBe('42');
      } finally {
        jest.restoreAllMocks();
      }
    });

    it('renders a templated topic', () => {
      expect(renderer({ topic: 't-${site}.${line}' }).render({ site: 'a', line: 3 }, mqttMessage()).topic).toBe('t-a.3');
    });

    it('fails the record, not retriable, when a topic placeholder has no value', () => {
      const render = (): unknown => renderer({ topic: 't-${site}' }).render({ line: 3 }, mqttMessage());
      expect(render).toThrow(/\$\{site\} has no value/);
      try {
        render();
      } catch (error) {
        expect(IntegrationError.is(error) && error.code === 'ERR_ACTION_WRITE' && !error.retriable).toBe(true);
      }
    });
  });

  describe('headers', () => {
    it('copies MQTT 5 user properties, a repeated key as repeated headers', () => {
      const message = mqttMessage({ userProperties: { site: 'north', tag: ['a', 'b'] } });
      expect(renderer({ topic: 't' }).render(output, message).message.headers).toEqual({ site: 'north', tag: ['a', 'b'] });
    });

    it('leaves user properties out when userPropertiesAsHeaders is false', () => {
      const message = mqttMessage({ userProperties: { site: 'north' } });
      expect(renderer({ topic: 't', userPropertiesAsHeaders: false }).render(output, message).message.headers).toBeUndefined();
    });

    it('takes a map, a {key, value} list or their JSON text from the headers placeholder', () => {
      const render = (props: unknown): unknown => renderer({ topic: 't', headers: '${props}' }).render({ props }, mqttMessage()).message.headers;
      expect(render({ a: 'x', n: 1, o: { p: true } })).toEqual({ a: 'x', n: '1', o: '{"p":true}' });
      expect(render([{ key: 'a', value: 'x' }, { key: 'a', value: 'y' }])).toEqual({ a: ['x', 'y'] });
      expect(render('{"a":"x"}')).toEqual({ a: 'x' });
      expect(render(undefined)).toBeUndefined();
    });

    it('encodes values as JSON in json mode', () => {
      const record = renderer({ topic: 't', headers: '${props}', headerValueEncodeMode: 'json' }).render({ props: { a: 'x', n: 1 } }, mqttMessage());
      expect(record.message.headers).toEqual({ a: '"x"', n: '1' });
    });

    it('fails the record when the headers placeholder yields something else', () => {
      expect(() => renderer({ topic: 't', headers: '${props}' }).render({ props: 'plain text' }, mqttMessage())).toThrow(/must yield a map/);
    });

    it('adds extHeaders after user properties and headers, skipping an empty key', () => {
      const record = renderer({
        topic: 't', headers: '${props}',
        extHeaders: [{ key: 'site', value: '${clientid}' }, { key: '${missing}', value: 'x' }, { key: 'static', value: 'v' }],
      }).render({ ...output, props: { site: 'p' } }, mqttMessage({ userProperties: { site: 'u' } }));
      expect(record.message.headers).toEqual({ site: ['u', 'p', 'dev-1'], static: 'v' });
    });
  });

  describe('check: json', () => {
    const failureOf = (render: () => unknown): Error => {
      try {
        render();
      } catch (error) {
        return error as Error;
      }
      throw new Error('rendered without a failure');
    };

    it('sends what the templates render when the check is off (EMQX\'s behaviour)', () => {
      expect(renderer({ topic: 't', value: '{"temp": ${temp}}' }).render({ temp: 'n/a' }, mqttMessage()).message.value).toBe('{"temp": n/a}');
    });

    it('fails a value that is not JSON, not retriable, saying where and why, and counts it', () => {
      const checked = renderer({ topic: 't', value: '{"temp": ${temp}, "hum": ${hum}}', check: { value: 'json' } });
      const failure = failureOf(() => checked.render({ temp: 'n/a', hum: 40 }, mqttMessage()));
      expect(IntegrationError.is(failure) && failure.code === 'ERR_ACTION_WRITE' && !failure.retriable).toBe(true);
      expect(failure.message).toBe('value template "{\\"temp\\": ${temp}, \\"hum\\": ${hum}}" rendered text that is not JSON: '
        + 'expected a value (a string, number, object, list, true, false or null) at character 10 of 24 (near "{\\"temp\\": n/a, \\"hum\\": 40}"); '
        + 'the record is not sent (check.value: json). A placeholder of a missing or non-numeric value is the usual cause: quote it ("${x}") or make the rule give a number');
      expect(failureOf(() => checked.render({ hum: 40 }, mqttMessage())).message).toMatch(/at character 10 of 21/);
      expect(checked.counters).toEqual({ invalidJson: 2, schema: 0 });
      expect(checked.render({ temp: 21.5, hum: 40 }, mqttMessage()).message.value).toBe('{"temp": 21.5, "hum": 40}');
    });

    it('checks the key when asked; an empty key (a null key) passes', () => {
      const checked = renderer({ topic: 't', key: '${id}', check: { key: 'json' } });
      expect(checked.render({ id: 7 }, mqttMessage()).message.key).toBe('7');
      expect(checked.render({}, mqttMessage()).message.key).toBeNull();
      expect(failureOf(() => checked.render({ id: 'dev-1' }, mqttMessage())).message).toMatch(/^key template "\$\{id\}" rendered text that is not JSON: .* \(check.key: json\)/);
    });

    it('checks a binary value as UTF-8 JSON', () => {
      // the SQL package's templates keep bytes as bytes (the fake ones render text)
      const checked = new RecordRenderer({ connectorId: 'k', actionId: 'r:k' }, parseKafkaActionSettings({ topic: 't', value: '${payload}', check: { value: 'json' } }, 'r:k'),
        { compileTemplate: compileSqlTemplate }, createPicker('random', undefined));
      expect(checked.render({ payload: Buffer.from('{"a":1}') }, mqttMessage()).message.value).toEqual(Buffer.from('{"a":1}'));
      expect(failureOf(() => checked.render({ payload: Buffer.from([0x7b, 0xff]) }, mqttMessage())).message).toMatch(/the bytes are not UTF-8 text/);
    });
  });
});

// kafkajs's own encoder of one record (what sendBatch runs on each message of a request), to show what it accepts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: { key?: unknown; value?: unknown; headers?: unknown }) => unknown;

describe('hostile user property names (issue 10 item 1)', () => {
  // what mqtt-packet hands over: a map without prototype, so `__proto__` is an own key like any other
  const hostileProperties = (): Record<string, string> => {
    const props = Object.create(null) as Record<string, string>;
    for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf']) props[name] = `v-${name}`;
    return props;
  };

  it('carries every name verbatim as an own header with its text value, __proto__ included', () => {
    const headers = renderer({ topic: 't' }).render(output, mqttMessage({ userProperties: hostileProperties() })).message.headers;
    expect(headers).toBeDefined();
    expect(Object.getPrototypeOf(headers)).toBeNull();
    expect(Object.keys(headers ?? {}).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']);
    for (const name of Object.keys(headers ?? {})) expect(headers?.[name]).toBe(`v-${name}`);
  });

  it('builds a record kafkajs can encode (a function-valued header would throw for the whole request)', () => {
    const record = renderer({ topic: 't' }).render(output, mqttMessage({ userProperties: hostileProperties() }));
    expect(recordProblem(record.message)).toBeUndefined();
    expect(() => encodeRecord(record.message)).not.toThrow();
  });

  it('keeps the names of the headers placeholder and of extHeaders verbatim too', () => {
    const record = renderer({
      topic: 't', headers: '${props}', extHeaders: [{ key: 'constructor', value: 'e' }],
    }).render({ props: '{"__proto__": "p", "toString": "s"}' }, mqttMessage());
    expect(Object.entries(record.message.headers ?? {})).toEqual([['__proto__', 'p'], ['toString', 's'], ['constructor', 'e']]);
  });
});

describe(recordProblem.name, () => {
  const fine = { key: 'k', value: Buffer.from([0xff]), timestamp: '1', headers: { a: 'x', b: [Buffer.from([0]), 'y'] } };

  it('accepts text and bytes everywhere, a null key and a null value', () => {
    expect(recordProblem(fine)).toBeUndefined();
    expect(recordProblem({ key: null, value: null })).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a function-valued header', { headers: { toString: Object.prototype.toString } }, /header "toString" is a function/],
    ['a list header holding a function', { headers: { a: ['x', (): void => undefined] } }, /header "a" is a list/],
    ['an undefined header value', { headers: { a: undefined } }, /header "a" is undefined,/],
    ['a numeric value', { value: 5 }, /value is a number/],
    ['an undefined value (kafkajs refuses the whole request)', { value: undefined }, /value is undefined,/],
    ['an object key', { key: {} }, /key is an object,/],
    ['headers that are bytes', { headers: Buffer.from('x') }, /headers are bytes/],
    ['a numeric timestamp', { timestamp: 5 }, /timestamp is a number/],
  ])('refuses %s, naming what is wrong', (_label, change, expected) => {
    expect(recordProblem({ ...fine, ...change } as never)).toMatch(expected);
  });

  it('refuses what kafkajs cannot encode (every refused record throws in its encoder)', () => {
    // (a TypeError from Node's realm, which jest's toThrow(TypeError) does not recognise: matched by its text)
    expect(() => encodeRecord({ ...fine, headers: { toString: Object.prototype.toString } })).toThrow(/must be of type string/);
    expect(() => encodeRecord({ ...fine, headers: Buffer.from('x') })).toThrow(/must be of type string/);
  });
});

describe('binary values (issue 10 item 4)', () => {
  // the SQL engine's templates: the fake ones have no binary values
  const sqlRenderer = (settings: Record<string, unknown>): RecordRenderer =>
    new RecordRenderer({ connectorId: 'k', actionId: 'r:k' }, parseKafkaActionSettings(settings, 'r:k'), { compileTemplate: compileSqlTemplate }, createPicker('random', undefined));
  const bytes = Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80]);

  it('sends the bytes of a binary value unchanged as key, value and header value', () => {
    const record = sqlRenderer({ topic: 't', key: '${payload}', value: '${payload}', extHeaders: [{ key: 'raw', value: '${payload}' }] })
      .render({ payload: bytes }, mqttMessage());
    for (const rendered of [record.message.key, record.message.value, record.message.headers?.['raw']]) {
      expect(Buffer.isBuffer(rendered) && rendered.equals(bytes)).toBe(true);
    }
    expect(recordProblem(record.message)).toBeUndefined();
    expect(record.bytes).toBeGreaterThanOrEqual(3 * bytes.length);
  });

  it('joins text around a binary value as its UTF-8 bytes', () => {
    const value = sqlRenderer({ topic: 't', value: 'é<${payload}>' }).render({ payload: bytes }, mqttMessage()).message.value;
    expect(Buffer.isBuffer(value) && value.equals(Buffer.concat([Buffer.from('é<'), bytes, Buffer.from('>')]))).toBe(true);
  });

  it('still sends text as text', () => {
    expect(sqlRenderer({ topic: 't', value: '${payload}' }).render({ payload: '{"a": 1}' }, mqttMessage()).message.value).toBe('{"a": 1}');
  });
});

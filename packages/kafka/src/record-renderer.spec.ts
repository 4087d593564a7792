import { describe, expect, it, jest } from '@jest/globals';
import { IntegrationError } from '@sluice/core';
import { templates } from '../test/fixtures/fake-templates';
import { mqttMessage } from '../test/fixtures/messages';
import { parseKafkaActionSettings } from './kafka-sink-config';
import { createPicker } from './partitioning';
import { RecordRenderer } from './record-renderer';

const renderer = (settings: Record<string, unknown>): RecordRenderer =>
  new RecordRenderer('k', parseKafkaActionSettings(settings, 'r:k'), templates, createPicker('random', undefined));

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
        expect(IntegrationError.is(error) && error.code === 'ERR_SINK_WRITE' && !error.retriable).toBe(true);
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
});

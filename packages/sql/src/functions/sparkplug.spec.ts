import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlRuleEngine } from '../sql-rule-engine';
import { SqlFloat } from '../values';

// The Sparkplug B payload of EMQX's schema registry suite (t_sparkplug_decode / t_sparkplug_encode) and
// the map EMQX decodes it to.
const EXAMPLE = Buffer.from(
  'CPHh67HrMBIqChxjb3VudGVyX2dyb3VwMS9jb3VudGVyMV8xc2VjGPXh67HrMCACUKgDEikKHGNvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxXzVzZWMY9eHrseswIAJQVBIqCh1jb3VudGVyX2dyb3VwMS9jb3VudGVyMV8xMHNlYxj14eux6zAgAlAqEigKG2NvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxX3J1bhj14eux6zAgBVABEioKHWNvdW50ZXJfZ3JvdXAxL2NvdW50ZXIxX3Jlc2V0GPXh67HrMCAFUAAYWA==',
  'base64',
);
const EXAMPLE_MAP = {
  metrics: [
    { datatype: 2, int_value: 424, name: 'counter_group1/counter1_1sec', timestamp: 1678094561525 },
    { datatype: 2, int_value: 84, name: 'counter_group1/counter1_5sec', timestamp: 1678094561525 },
    { datatype: 2, int_value: 42, name: 'counter_group1/counter1_10sec', timestamp: 1678094561525 },
    { datatype: 5, int_value: 1, name: 'counter_group1/counter1_run', timestamp: 1678094561525 },
    { datatype: 5, int_value: 0, name: 'counter_group1/counter1_reset', timestamp: 1678094561525 },
  ],
  seq: 88,
  timestamp: 1678094561521,
};

const engine = new SqlRuleEngine();
const evaluate = (sql: string, payload: string | Buffer): Record<string, unknown> =>
  engine.compileRule(sql).evaluate({ topic: 't', payload })[0] as Record<string, unknown>;

describe('sparkplug_decode', () => {
  it('decodes EMQX\'s example to the same map', () => {
    expect(evaluate('select sparkplug_decode(payload) as decoded from t', EXAMPLE)).toEqual({ decoded: EXAMPLE_MAP });
  });

  it('reaches metrics with FOREACH', () => {
    const rule = engine.compileRule("FOREACH map_get('metrics', sparkplug_decode(payload)) as m DO m.name as name, m.int_value as value FROM \"spBv1.0/+/DDATA/+/+\"");
    const outputs = rule.evaluate({ topic: 'spBv1.0/g/DDATA/n/d', payload: EXAMPLE });
    expect(outputs.map((o) => o['name'])).toHaveLength(5);
    expect(outputs[0]).toEqual({ name: 'counter_group1/counter1_1sec', value: 424 });
  });

  it('keeps a double metric a float, a string one text, a bytes one binary', () => {
    const encoded = evaluate('select sparkplug_encode(json_decode(payload)) as e from t', JSON.stringify({
      metrics: [
        { name: 'temp', datatype: 10, double_value: 21 },
        { name: 'label', datatype: 12, string_value: 'pump' },
        { name: 'blob', datatype: 17, bytes_value: 'ab' },
      ],
    }))['e'] as Buffer;
    const decoded = evaluate('select sparkplug_decode(payload) as d from t', encoded)['d'] as { metrics: unknown[] };
    expect(decoded.metrics).toEqual([
      { name: 'temp', datatype: 10, double_value: new SqlFloat(21) },
      { name: 'label', datatype: 12, string_value: 'pump' },
      { name: 'blob', datatype: 17, bytes_value: Buffer.from('ab') },
    ]);
  });

  it('fails the rule on bytes that are not a payload', () => {
    expect(() => evaluate('select sparkplug_decode(payload) as d from t', Buffer.from([0x12, 0x7f, 0x00]))).toThrow(
      new RuleEvaluationError('function sparkplug_decode(): not a valid Payload message (index out of range)'),
    );
  });
});

describe('sparkplug_encode', () => {
  it('encodes EMQX\'s example map to EMQX\'s bytes', () => {
    expect(evaluate('select sparkplug_encode(json_decode(payload)) as encoded from t', JSON.stringify(EXAMPLE_MAP))).toEqual({ encoded: EXAMPLE });
  });

  it('round-trips with the message name given (EMQX t_sparkplug_decode_encode_with_message_name)', () => {
    expect(evaluate("select sparkplug_encode(sparkplug_decode(payload, 'Payload'), 'Payload') as encoded from t", EXAMPLE)).toEqual({ encoded: EXAMPLE });
  });

  it('refuses a float for a uint64 field (EMQX t_sparkplug_encode_float_to_uint64_key)', () => {
    expect(() => evaluate('select sparkplug_encode(json_decode(payload)) as e from t', '{"seq":1.5}')).toThrow(
      'function sparkplug_encode(): seq: expected an integer from 0 to 18446744073709551615 (uint64), got 1.5',
    );
  });

  it('refuses an unknown message name', () => {
    expect(() => evaluate("select sparkplug_encode(json_decode(payload), 'Nope') as e from t", '{}')).toThrow(
      'function sparkplug_encode(): the Sparkplug B schema has no message type Nope (Payload, Payload.Metric, ...)',
    );
  });
});

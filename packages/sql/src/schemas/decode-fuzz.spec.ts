import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import { SqlRuleEngine } from '../sql-rule-engine';

// Random and mutated bytes into every decoder: each message either decodes or fails as that message's
// RuleEvaluationError; nothing else may escape (a TypeError from a half-read value, a stack overflow).
const engine = new SqlRuleEngine({
  limits: { maxListLength: 1000 },
  schemas: [
    {
      name: 'pb',
      type: 'protobuf',
      source: `syntax = "proto3";
        message Node { Node child = 1; repeated int64 v = 2; map<string, Node> m = 3; bytes b = 4; double d = 5;
                       oneof o { string s = 6; float f = 7; } Kind k = 8; }
        enum Kind { A = 0; B = 1; }`,
    },
    {
      name: 'avro',
      type: 'avro',
      source: JSON.stringify({
        type: 'record', name: 'R', fields: [
          { name: 'a', type: { type: 'array', items: ['null', 'long', 'string', { type: 'map', values: 'double' }] } },
          { name: 'e', type: { type: 'enum', name: 'E', symbols: ['X', 'Y'] } },
          { name: 'f', type: { type: 'fixed', name: 'F', size: 3 } },
          { name: 'n', type: ['null', 'R'] },
        ],
      }),
    },
  ],
});
const rules = [
  "select schema_decode('pb', payload, 'Node') as d from t",
  "select schema_decode('avro', payload) as d from t",
  'select sparkplug_decode(payload) as d from t',
].map((sql) => engine.compileRule(sql));
const valid = [
  engine.compileRule("select schema_encode('pb', json_decode(payload), 'Node') as e from t")
    .evaluate({ topic: 't', payload: '{"child":{"v":[1,2,3],"s":"x"},"m":{"k":{"d":1.5}},"b":"ab","k":"B"}' })[0]?.['e'] as Buffer,
  engine.compileRule("select schema_encode('avro', json_decode(payload)) as e from t")
    .evaluate({ topic: 't', payload: '{"a":[null,5,"s",{"x":1.5}],"e":"Y","f":"abc","n":null}' })[0]?.['e'] as Buffer,
  engine.compileRule('select sparkplug_encode(json_decode(payload)) as e from t')
    .evaluate({ topic: 't', payload: '{"timestamp":1,"seq":2,"metrics":[{"name":"m","datatype":10,"double_value":2.5}]}' })[0]?.['e'] as Buffer,
];

function xorshift(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('decoders under random bytes', () => {
  it('start from payloads that decode (strings given for Avro bytes/fixed are their UTF-8 bytes)', () => {
    expect(rules[1]?.evaluate({ topic: 't', payload: valid[1] as Buffer })).toEqual([
      { d: { a: [null, 5, 's', { x: 1.5 }], e: 'Y', f: Buffer.from('abc'), n: null } },
    ]);
  });

  it('decode or fail as that message, for 3 x 3,000 inputs', () => {
    const random = xorshift(0x5eed);
    let decoded = 0;
    let failed = 0;
    for (let n = 0; n < 3000; n++) {
      for (let r = 0; r < rules.length; r++) {
        const base = valid[r] as Buffer;
        // half purely random, half the valid payload with a few bytes changed, cut or extended
        let payload: Buffer;
        if (n % 2 === 0) {
          payload = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
        } else {
          payload = Buffer.from(base);
          for (let k = 0; k < 1 + Math.floor(random() * 3); k++) payload[Math.floor(random() * payload.length)] = Math.floor(random() * 256);
          if (random() < 0.3) payload = payload.subarray(0, Math.floor(random() * payload.length));
        }
        try {
          (rules[r] as (typeof rules)[number]).evaluate({ topic: 't', payload });
          decoded++;
        } catch (error) {
          if (!(error instanceof RuleEvaluationError)) throw new Error(`rule ${r}, payload ${payload.toString('hex')}: ${String(error)}`);
          failed++;
        }
      }
    }
    // both outcomes occur, so the inputs reach past the first byte's checks
    expect(decoded).toBeGreaterThan(100);
    expect(failed).toBeGreaterThan(100);
  });
});

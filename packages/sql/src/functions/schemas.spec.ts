import { describe, expect, it } from '@jest/globals';
import { ConfigError, RuleEvaluationError, RuleSyntaxError } from '@sluice/core';
import { Container } from 'inversify';
import { RuleEngine } from '@sluice/core';
import { compileRule } from '../rule';
import type { SchemaDefinition } from '../schemas/schema-types';
import { sqlModule } from '../sql-module';
import { SqlRuleEngine } from '../sql-rule-engine';
import { SqlFloat } from '../values';

// The schemas of EMQX's emqx_schema_registry_SUITE (same fields, same cases), plus a few of our own.
const AVRO: SchemaDefinition = {
  name: 'avro_serde',
  type: 'avro',
  source: JSON.stringify({ type: 'record', name: 'test', namespace: 'emqx.com', fields: [{ name: 'i', type: 'int' }, { name: 's', type: 'string' }] }),
};
const JSON_SCHEMA: SchemaDefinition = {
  name: 'json_serde',
  type: 'json',
  source: JSON.stringify({ type: 'object', properties: { i: { type: 'integer' }, s: { type: 'string' } }, required: ['i', 's'] }),
};
const PROTOBUF: SchemaDefinition = {
  name: 'pb_serde',
  type: 'protobuf',
  source: `
    message Person {
      required string name = 1;
      required int32 id = 2;
      optional string email = 3;
    }
    message UnionValue {
      oneof u {
        int32 a = 1;
        string b = 2;
      }
    }
    message Reading {
      optional double temp = 1;
      optional uint64 ts = 2;
      repeated int32 samples = 3;
      optional Kind kind = 4;
      optional bytes raw = 5;
      enum Kind { UNKNOWN = 0; SENSOR = 1; }
    }
    message Tags { map<string, int32> tags = 1; }`,
};
const NESTED: SchemaDefinition = { name: 'nest', type: 'protobuf', source: 'syntax = "proto3"; message Node { Node child = 1; int32 v = 2; }' };
const NULLS: SchemaDefinition = { name: 'nulls', type: 'avro', source: JSON.stringify({ type: 'array', items: 'null' }) };
const INTS: SchemaDefinition = { name: 'ints', type: 'avro', source: JSON.stringify({ type: 'array', items: 'int' }) };
const AMBIGUOUS: SchemaDefinition = { name: 'amb', type: 'protobuf', source: 'syntax = "proto3"; message A { message In { int32 x = 1; } } message B { message In { int32 y = 1; } }' };
const LONGS: SchemaDefinition = { name: 'longs', type: 'avro', source: JSON.stringify({ type: 'record', name: 'L', fields: [{ name: 'l', type: 'long' }, { name: 'o', type: ['null', 'long'] }] }) };
const MAPS: SchemaDefinition = { name: 'maps', type: 'avro', source: JSON.stringify({ type: 'map', values: 'int' }) };

const engine = new SqlRuleEngine({ schemas: [AVRO, JSON_SCHEMA, PROTOBUF, NESTED, NULLS, INTS, MAPS, AMBIGUOUS, LONGS], limits: { maxListLength: 1000 } });

function run(sql: string, payload: string | Buffer = ''): Record<string, unknown> {
  const outputs = engine.compileRule(sql).evaluate({ topic: 't', payload });
  expect(outputs).toHaveLength(1);
  return outputs[0] as Record<string, unknown>;
}

function failure(sql: string, payload: string | Buffer = ''): string {
  const rule = engine.compileRule(sql);
  try {
    rule.evaluate({ topic: 't', payload });
  } catch (error) {
    expect(error).toBeInstanceOf(RuleEvaluationError);
    return (error as Error).message;
  }
  throw new Error('the rule did not fail');
}

function syntaxError(sql: string): RuleSyntaxError {
  try {
    engine.compileRule(sql);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleSyntaxError);
    return error as RuleSyntaxError;
  }
  throw new Error('the rule compiled');
}

describe('schema functions', () => {
  describe('encode then decode (EMQX t_encode_decode)', () => {
    it.each([
      ['avro_serde', ''],
      ['json_serde', ''],
    ])('%s round-trips the payload', (name) => {
      const out = run(
        `select schema_decode('${name}', schema_encode('${name}', json_decode(payload))) as decoded, decoded.i as decoded_int, decoded.s as decoded_string from t`,
        '{"i":10,"s":"text"}',
      );
      expect(out).toEqual({ decoded: { i: 10, s: 'text' }, decoded_int: 10, decoded_string: 'text' });
    });

    it('protobuf round-trips with the message type', () => {
      const out = run(
        "select schema_decode('pb_serde', schema_encode('pb_serde', json_decode(payload), 'Person'), 'Person') as decoded, decoded.name as decoded_name, decoded.email as decoded_email, decoded.id as decoded_id from t",
        '{"name":"some name","id":10,"email":"emqx@emqx.io"}',
      );
      expect(out).toEqual({
        decoded: { email: 'emqx@emqx.io', id: 10, name: 'some name' },
        decoded_email: 'emqx@emqx.io',
        decoded_id: 10,
        decoded_name: 'some name',
      });
    });

    it('protobuf oneof members are plain keys (EMQX t_protobuf_union_*)', () => {
      for (const value of ['{"a":10}', '{"b":"string"}']) {
        const out = run("select schema_decode('pb_serde', schema_encode('pb_serde', json_decode(payload), 'UnionValue'), 'UnionValue') as d from t", value);
        expect(out['d']).toEqual(JSON.parse(value));
      }
    });
  });

  describe('schema_encode', () => {
    it('gives Avro binary that avsc reads back', () => {
      const out = run("select schema_encode('avro_serde', json_decode(payload)) as e from t", '{"i":10,"s":"text"}');
      // zig-zag 10 = 0x14, then the string: length 4 (0x08) and its bytes
      expect(out['e']).toEqual(Buffer.from([0x14, 0x08, ...Buffer.from('text')]));
    });

    it('gives JSON text for a JSON schema', () => {
      expect(run("select schema_encode('json_serde', json_decode(payload)) as e from t", '{"i":1,"s":"x"}')['e']).toBe('{"i":1,"s":"x"}');
    });

    it.each([
      ["schema_encode('avro_serde', json_decode('{\"i\":\"x\",\"s\":\"t\"}'))", 'schema "avro_serde": i: expected a value of type int, got'],
      ["schema_encode('json_serde', json_decode('{\"i\":1}'))", "must have required property 's'"],
      ["schema_encode('pb_serde', json_decode('{\"id\":1}'), 'Person')", 'required field "name" of message Person is missing'],
      ["schema_encode('pb_serde', json_decode('{\"name\":\"n\",\"id\":1.5}'), 'Person')", 'id: expected an integer from -2147483648 to 2147483647 (int32), got 1.5'],
      ["schema_encode('pb_serde', json_decode('{\"name\":\"n\",\"id\":1,\"x\":2}'), 'Person')", 'message Person has no field "x"'],
      ["schema_encode('pb_serde', json_decode('{\"a\":1,\"b\":\"s\"}'), 'UnionValue')", 'fields a and b are members of oneof u: set one'],
      ["schema_encode('pb_serde', json_decode('{\"kind\":\"OTHER\"}'), 'Reading')", 'kind: expected a name or number of enum Kind (UNKNOWN, SENSOR)'],
    ])('%s fails the rule: %s', (call, message) => {
      expect(failure(`select ${call} as e from t`)).toContain(message);
    });
  });

  describe('schema_decode', () => {
    it('keeps number kinds, enum names, bytes and 64-bit integers of protobuf', () => {
      const bytes = run(
        "select schema_encode('pb_serde', json_decode(payload), 'Reading') as e from t",
        '{"temp":21.0,"ts":1678094561525,"samples":[1,2,3],"kind":"SENSOR","raw":"hi"}',
      )['e'] as Buffer;
      const out = run("select schema_decode('pb_serde', payload, 'Reading') as d from t", bytes);
      expect(out['d']).toEqual({ temp: new SqlFloat(21), ts: 1678094561525, samples: [1, 2, 3], kind: 'SENSOR', raw: Buffer.from('hi') });
    });

    it('gives proto3 scalars their defaults when absent', () => {
      const out = run("select schema_decode('nest', payload, 'Node') as d from t", Buffer.alloc(0));
      expect(out['d']).toEqual({ v: 0 });
    });

    it('checks JSON data against a JSON schema', () => {
      expect(run("select schema_decode('json_serde', payload) as d from t", '{"i":1,"s":"x"}')['d']).toEqual({ i: 1, s: 'x' });
      expect(failure("select schema_decode('json_serde', payload) as d from t", '{"i":"1","s":"x"}')).toContain('/i must be integer');
      expect(failure("select schema_decode('json_serde', payload) as d from t", 'not json')).toContain('the data is not valid JSON');
    });

    it.each([
      ['truncated protobuf', "schema_decode('pb_serde', payload, 'Person')", Buffer.from([0x0a, 0x05, 0x61])],
      ['a length past the end', "schema_decode('pb_serde', payload, 'Person')", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['a missing required field', "schema_decode('pb_serde', payload, 'Person')", Buffer.from([0x10, 0x01])],
      ['truncated Avro', "schema_decode('avro_serde', payload)", Buffer.from([0x14, 0x08, 0x61])],
      ['trailing Avro bytes', "schema_decode('avro_serde', payload)", Buffer.from([0x14, 0x00, 0x00])],
    ])('fails the rule on %s', (_what, call, payload) => {
      expect(failure(`select ${call} as d from t`, payload)).toMatch(/^function schema_decode\(\): schema "\w+": /);
    });
  });

  describe('hostile payloads', () => {
    it('refuses an Avro block announcing 2^62 items of a zero-byte type, at once', () => {
      // count 2^62 as a zig-zag varint (2^63: nine 0x80 bytes then 0x01), then the end of blocks
      const payload = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00]);
      expect(failure("select schema_decode('nulls', payload) as d from t", payload)).toContain('more than 1000 array or map items (the limit maxListLength)');
    });

    it('refuses an Avro block announcing more ints than there are bytes', () => {
      const payload = Buffer.from([0xe8, 0x07, 0x02]); // 500 items, one byte of data
      expect(failure("select schema_decode('ints', payload) as d from t", payload)).toContain('in the middle of a number');
    });

    it('accepts an Avro array up to the item limit', () => {
      const payload = Buffer.concat([Buffer.from([0xd0, 0x0f]), Buffer.alloc(1000, 0x02), Buffer.from([0x00])]);
      expect((run("select schema_decode('ints', payload) as d from t", payload)['d'] as number[]).length).toBe(1000);
    });

    it('refuses protobuf repeated fields past maxListLength in total, accepts them up to it', () => {
      const packed = (n: number): Buffer => Buffer.concat([Buffer.from([0x1a]), varint(n), Buffer.alloc(n, 0x01)]);
      expect((run("select schema_decode('pb_serde', payload, 'Reading') as d from t", packed(1000))['d'] as { samples: number[] }).samples).toHaveLength(1000);
      expect(failure("select schema_decode('pb_serde', payload, 'Reading') as d from t", packed(1001))).toContain(
        'more than 1000 repeated or map items (the limit maxListLength)',
      );
    });

    it('refuses protobuf nested deeper than 64 levels, and a 100,000-level one without crashing', () => {
      let nested = Buffer.alloc(0);
      for (let i = 0; i < 100; i++) nested = Buffer.concat([Buffer.from([0x0a]), varint(nested.length), nested]);
      expect(failure("select schema_decode('nest', payload, 'Node') as d from t", nested)).toContain('nested deeper than 64 levels');
      // 50,000 levels, each a tag and a 3-byte length (non-minimal varints are valid protobuf): this
      // overflows protobufjs's recursion, which must stay this message's error
      const levels = 50_000;
      const deep = Buffer.alloc(levels * 4);
      for (let i = 0; i < levels; i++) {
        const length = deep.length - (i + 1) * 4;
        deep.set([0x0a, (length & 0x7f) | 0x80, ((length >> 7) & 0x7f) | 0x80, length >> 14], i * 4);
      }
      expect(failure("select schema_decode('nest', payload, 'Node') as d from t", deep)).toMatch(/schema "nest"/);
    });
  });

  describe('64-bit integers', () => {
    it.each([
      ['18446744073709551615', 18446744073709551615n],
      ['9007199254740993', 9007199254740993n],
      ['9007199254740991', 9007199254740991],
      ['0', 0],
    ])('protobuf uint64 %s round-trips exactly', (text, expected) => {
      const out = run("select schema_decode('pb_serde', schema_encode('pb_serde', json_decode(payload), 'Reading'), 'Reading') as d from t", `{"ts":${text}}`);
      expect((out['d'] as { ts: unknown }).ts).toEqual(expected);
    });

    it.each([
      ['-9223372036854775808', -9223372036854775808n],
      ['9223372036854775807', 9223372036854775807n],
      ['-9007199254740993', -9007199254740993n],
      ['1700000000000', 1700000000000],
      ['-1', -1],
    ])('avro long %s round-trips exactly', (text, expected) => {
      const out = run("select schema_decode('longs', schema_encode('longs', json_decode(payload))) as d from t", `{"l":${text},"o":${text}}`);
      expect(out['d']).toEqual({ l: expected, o: expected });
    });

    it('refuses integers past 64 bits', () => {
      expect(failure("select schema_encode('longs', json_decode(payload)) as e from t", '{"l":9223372036854775808,"o":null}')).toContain('l: expected');
      expect(failure("select schema_encode('pb_serde', json_decode(payload), 'Reading') as e from t", '{"ts":18446744073709551616}')).toContain(
        'ts: expected an integer from 0 to 18446744073709551615 (uint64)',
      );
    });
  });

  describe('map keys from the payload', () => {
    it.each([
      ['pb_serde', ", 'Tags'", 'tags'],
      ['maps', '', undefined],
    ])('keep __proto__ an own key (%s)', (name, messageType, field) => {
      const json = field === undefined ? '{"__proto__":1,"a":2}' : `{"${field}":{"__proto__":1,"a":2}}`;
      const out = run(`select schema_decode('${name}', schema_encode('${name}', json_decode(payload)${messageType})${messageType}) as d from t`, json);
      const map = (field === undefined ? out['d'] : (out['d'] as Record<string, unknown>)[field]) as Record<string, unknown>;
      expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
      expect(Object.keys(map).sort()).toEqual(['__proto__', 'a']);
      expect(Object.getOwnPropertyDescriptor(map, '__proto__')?.value).toBe(1);
    });
  });

  describe('JSON Schema patterns', () => {
    const patterns = new SqlRuleEngine({
      schemas: [{ name: 'pat', type: 'json', source: JSON.stringify({ type: 'object', properties: { id: { type: 'string', pattern: '^(a+)+$' } } }) }],
    });
    const check = (payload: string): unknown => patterns.compileRule("select schema_check('pat', payload) as ok from t").evaluate({ topic: 't', payload })[0]?.['ok'];

    it('run on RE2: a catastrophic pattern against a device string answers at once', () => {
      // with JavaScript's RegExp this is 2^40 steps
      expect(check(JSON.stringify({ id: `${'a'.repeat(40)}!` }))).toBe(false);
      expect(check(JSON.stringify({ id: 'aaaa' }))).toBe(true);
    });

    it('refuse a pattern RE2 cannot run when the schema is declared', () => {
      expect(() => new SqlRuleEngine({ schemas: [{ name: 'bad', type: 'json', source: '{"pattern": "(a)\\\\1"}' }] })).toThrow(/schema "bad" \(json\): /);
    });
  });

  describe('schema_check', () => {
    it('answers whether a map or JSON text conforms (JSON schema)', () => {
      expect(run("select schema_check('json_serde', json_decode(payload)) as ok from t", '{"i":1,"s":"x"}')['ok']).toBe(true);
      expect(run("select schema_check('json_serde', payload) as ok from t", '{"i":1}')['ok']).toBe(false);
      expect(run("select schema_check('json_serde', payload) as ok from t", 'not json')['ok']).toBe(false);
    });
  });

  describe('when the rule compiles', () => {
    it('refuses an unknown literal schema name with its position', () => {
      const error = syntaxError("select\n  schema_decode('nope', payload) as d from t");
      expect(error.message).toBe('schema_decode(): no schema named "nope" (declared: amb, avro_serde, ints, json_serde, longs, maps, nest, nulls, pb_serde) (line 2, column 18)');
    });

    it.each([
      ["schema_decode('pb_serde', payload)", 'schema "pb_serde" is a Protobuf schema: name the message type as the third argument'],
      ["schema_decode('pb_serde', payload, 'Nobody')", 'schema "pb_serde" has no message type Nobody (it has Person, UnionValue, Reading, Tags)'],
      ["schema_encode('avro_serde', payload, 'X')", 'schema "avro_serde" is an Avro schema: it takes no message type'],
      ["schema_decode('amb', payload, 'In')", 'schema "amb" has several message types named In (A.In, B.In): give the full name'],
      ["schema_check('avro_serde', payload)", 'schema_check(): schema "avro_serde" is an Avro schema: schema_check takes a JSON schema'],
    ])('refuses %s', (call, message) => {
      expect(syntaxError(`select ${call} as d from t`).message).toContain(message);
    });

    it('takes a nested message type by its full or enclosing name', () => {
      expect(run("select schema_decode('amb', payload, 'A.In') as d from t", Buffer.from([0x08, 0x05]))['d']).toEqual({ x: 5 });
    });

    it('leaves a message type that comes from data to run time', () => {
      expect(failure("select schema_decode('amb', payload, payload) as d from t", 'In')).toBe(
        'function schema_decode(): schema "amb": it has several message types named In (A.In, B.In): give the full name',
      );
    });

    it('leaves names that come from data to run time', () => {
      expect(failure("select schema_decode(payload, payload) as d from t", 'unknown')).toBe(
        'function schema_decode(): no schema named "unknown" (declared: amb, avro_serde, ints, json_serde, longs, maps, nest, nulls, pb_serde)',
      );
    });

    it('checks names only against an engine: compileRule alone accepts any', () => {
      expect(() => compileRule("select schema_decode('any', payload) as d from t")).not.toThrow();
      expect(() => new SqlRuleEngine().compileRule("select schema_decode('any', payload) as d from t")).toThrow(
        'no schema named "any" (no schemas are declared: add them under `schemas:`)',
      );
    });
  });

  describe('declaring schemas', () => {
    it.each([
      [{ name: 'a', type: 'avro', source: '{"type":"record","name":"r","fields":[{"name":"x","type":"nope"}]}' }, 'schemas[0].source', 'schema "a" (avro): '],
      [{ name: 'a', type: 'avro', source: '{not json' }, 'schemas[0].source', 'schema "a" (avro): the source is not JSON'],
      [{ name: 'p', type: 'protobuf', source: 'message A { int32 x = 1; ' }, 'schemas[0].source', 'schema "p" (protobuf): '],
      [{ name: 'p', type: 'protobuf', source: 'import "other.proto"; message A { int32 x = 1; }' }, 'schemas[0].source', 'imports are not supported'],
      [{ name: 'j', type: 'json', source: '{"type": 12}' }, 'schemas[0].source', 'schema "j" (json): '],
      [{ name: 'j', type: 'json', source: '{"$schema":"http://json-schema.org/draft-04/schema#"}' }, 'schemas[0].source', 'is not supported'],
      [{ name: 'x', type: 'xml', source: '<a/>' }, 'schemas[0].type', 'type must be one of avro, protobuf, json'],
      [{ name: '', type: 'json', source: '{}' }, 'schemas[0].name', 'a schema needs a name'],
    ])('refuses %j with a ConfigError at %s', (definition, path, message) => {
      let error: unknown;
      try {
        sqlModule({ schemas: [definition as SchemaDefinition] });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const issue = (error as ConfigError).issues[0];
      expect(issue?.path).toBe(path);
      expect(issue?.message).toContain(message);
    });

    it('refuses a name declared twice', () => {
      expect(() => sqlModule({ schemas: [JSON_SCHEMA, JSON_SCHEMA] })).toThrow('schema "json_serde" is declared twice');
    });

    it('binds an engine with the schemas (embedding)', async () => {
      const container = new Container();
      await container.load(sqlModule({ schemas: [JSON_SCHEMA] }));
      const rule = container.get<RuleEngine>(RuleEngine).compileRule("select schema_check('json_serde', payload) as ok from t");
      expect(rule.evaluate({ topic: 't', payload: '{"i":1,"s":"x"}' })).toEqual([{ ok: true }]);
    });
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

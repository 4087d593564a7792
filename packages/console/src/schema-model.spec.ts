import { describe, expect, it } from '@jest/globals';
import type { JSONSchema } from './api-types';
import {
  type Field, errorFor, errorsFromIssues, fieldsOf, getPath, isProminent, parseList, parseMap, parseScalar, setPath, variantIndex,
} from './schema-model';

const duration: JSONSchema = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^(\\d+)(ms|s)$' }] };

// The shapes zod's toJSONSchema gives the Kafka connector's settings (trimmed).
const kafka: JSONSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', const: 'kafka' },
    id: { type: 'string', minLength: 1 },
    clientId: { type: 'string', default: 'sluice' },
    bootstrapHosts: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], examples: [['kafka-1:9092', 'kafka-2:9092']] },
    authentication: {
      default: 'none',
      anyOf: [
        { type: 'string', const: 'none' },
        {
          type: 'object',
          properties: {
            mechanism: { type: 'string', enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
            username: { type: 'string' },
            password: { type: 'string', writeOnly: true },
          },
          required: ['mechanism', 'username', 'password'],
        },
        { type: 'object', properties: { mechanism: { type: 'string', const: 'oauthbearer' }, tokenProvider: { description: 'a function' } }, required: ['mechanism', 'tokenProvider'] },
      ],
    },
    ssl: { default: false, anyOf: [{ type: 'boolean' }, { type: 'object', properties: { verify: { type: 'boolean', default: true }, ca: { anyOf: [{ type: 'string' }, {}] } } }] },
    connectTimeout: { ...duration, default: 5000 },
    idempotent: { type: 'boolean', default: false },
    protocolVersion: { anyOf: [{ type: 'number', const: 4 }, { type: 'number', const: 5 }], default: 5 },
    retry: { type: 'object', properties: { retries: { type: 'integer', default: 5 } } },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    users: { type: 'array', items: { type: 'object', properties: { username: { type: 'string' } } } },
  },
  required: ['type', 'id', 'bootstrapHosts'],
};

function field(fields: readonly Field[], path: string): Field {
  const found = fields.find((f) => f.path === path);
  if (found === undefined) throw new Error(`no field ${path}`);
  return found;
}

describe('fieldsOf', () => {
  const fields = fieldsOf(kafka, '', ['id']);

  it('leaves out omitted and constant properties, and puts required fields first', () => {
    expect(fields.map((f) => f.key)).toEqual([
      'bootstrapHosts', 'clientId', 'authentication', 'ssl', 'connectTimeout', 'idempotent', 'protocolVersion', 'retry', 'headers', 'users',
    ]);
    expect(field(fields, 'bootstrapHosts').required).toBe(true);
  });

  it('reads string | string[] as a comma-separated list with the first example as placeholder', () => {
    expect(field(fields, 'bootstrapHosts')).toMatchObject({ kind: 'list', label: 'Bootstrap hosts', placeholder: 'kafka-1:9092, kafka-2:9092' });
  });

  it('reads integer | duration as a scalar with the default as placeholder', () => {
    expect(field(fields, 'connectTimeout')).toMatchObject({ kind: 'scalar', placeholder: '5000', default: 5000 });
  });

  it('reads a union of constants as a select', () => {
    const protocol = field(fields, 'protocolVersion');
    expect(protocol.kind).toBe('enum');
    if (protocol.kind === 'enum') expect(protocol.options.map((o) => o.value)).toEqual([4, 5]);
  });

  it('reads authentication as a union discriminated by mechanism, without the variant a form cannot fill', () => {
    const auth = field(fields, 'authentication');
    if (auth.kind !== 'union') throw new Error('not a union');
    expect(auth.selectLabel).toBe('Mechanism');
    expect(auth.discriminator).toBe('mechanism');
    expect(auth.variants.map((v) => v.label)).toEqual(['none', 'plain', 'scram-sha-256', 'scram-sha-512']);
    const scram = auth.variants[2]!;
    expect(scram.initial).toEqual({ mechanism: 'scram-sha-256' });
    expect(scram.fields?.map((f) => [f.path, f.kind, f.kind === 'text' && f.secret])).toEqual([
      ['authentication.username', 'text', false],
      ['authentication.password', 'text', true],
    ]);
    expect(variantIndex(auth.variants, undefined, auth.default)).toBe(0);
    expect(variantIndex(auth.variants, { mechanism: 'scram-sha-512', username: 'u' }, auth.default)).toBe(3);
  });

  it('reads boolean | object as no / yes / custom settings', () => {
    const ssl = field(fields, 'ssl');
    if (ssl.kind !== 'union') throw new Error('not a union');
    expect(ssl.discriminator).toBeUndefined();
    expect(ssl.variants.map((v) => v.label)).toEqual(['No', 'Yes', 'Custom settings']);
    expect(variantIndex(ssl.variants, undefined, false)).toBe(0);
    expect(variantIndex(ssl.variants, { verify: false }, false)).toBe(2);
    expect(ssl.variants[2]!.fields?.map((f) => [f.path, f.kind])).toEqual([['ssl.verify', 'boolean'], ['ssl.ca', 'text']]);
  });

  it('names object variants without a discriminator by their keys when there are several', () => {
    const [identity] = fieldsOf({ type: 'object', properties: { clientid: { anyOf: [
      { type: 'object', properties: { userProperty: { type: 'string' } }, required: ['userProperty'] },
      { type: 'object', properties: { topicSegment: { type: 'string' } }, required: ['topicSegment'] },
    ] } } });
    if (identity?.kind !== 'union') throw new Error('not a union');
    expect(identity.variants.map((v) => v.label)).toEqual(['User property', 'Topic segment']);
    expect(variantIndex(identity.variants, { topicSegment: 'd/{clientid}' }, undefined)).toBe(1);
    expect(variantIndex(identity.variants, undefined, undefined)).toBe(-1);
  });

  it('reads objects as groups, string maps as key: value text and anything else as JSON', () => {
    expect(field(fields, 'retry')).toMatchObject({ kind: 'object' });
    expect(field(fields, 'headers').kind).toBe('map');
    expect(field(fields, 'users').kind).toBe('json');
  });

  it('shows required fields and the ways to connect up front, the rest folded', () => {
    expect(fields.filter(isProminent).map((f) => f.key)).toEqual(['bootstrapHosts', 'authentication', 'ssl']);
  });

  it('treats password-like keys as secret even when the schema does not say writeOnly', () => {
    const [password] = fieldsOf({ type: 'object', properties: { password: { type: 'string' } } });
    expect(password).toMatchObject({ kind: 'text', secret: true });
  });
});

describe('values', () => {
  it('parses lists, scalars and maps from what was typed', () => {
    expect(parseList(' a:9092, ,b ')).toEqual(['a:9092', 'b']);
    expect(parseList(' , ')).toBeUndefined();
    expect(parseScalar('250')).toBe(250);
    expect(parseScalar('5s')).toBe('5s');
    expect(parseScalar('  ')).toBeUndefined();
    expect(parseMap('a: 1\n\nb: x: y')).toEqual({ value: { a: '1', b: 'x: y' } });
    expect(parseMap('oops')).toEqual({ error: 'line 1: write key: value' });
  });

  it('sets and removes values by dotted path without touching the original', () => {
    const original = { bootstrapHosts: ['a'] };
    const withAuth = setPath(original, 'authentication.username', 'u');
    expect(withAuth).toEqual({ bootstrapHosts: ['a'], authentication: { username: 'u' } });
    expect(original).toEqual({ bootstrapHosts: ['a'] });
    expect(getPath(withAuth, 'authentication.username')).toBe('u');
    expect(setPath(withAuth, 'authentication.username', undefined)).toEqual({ bootstrapHosts: ['a'] });
  });
});

describe('errors', () => {
  it('maps API issue paths to fields, array items to their list', () => {
    const errors = errorsFromIssues([
      { path: 'bootstrapHosts[0]', message: 'bad host' },
      { path: 'authentication.password', message: 'required' },
      { path: 'retry.retries', message: 'too small' },
    ]);
    expect(errors).toEqual({ bootstrapHosts: 'bad host', 'authentication.password': 'required', 'retry.retries': 'too small' });
    expect(errorFor(errors, 'authentication.password')).toBe('required');
    expect(errorFor({ 'bootstrapHosts[1]': 'x' }, 'bootstrapHosts')).toBe('x');
    expect(errorFor(errors, 'clientId')).toBeUndefined();
  });
});

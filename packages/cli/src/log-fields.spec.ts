import { describe, expect, it } from '@jest/globals';
import { CENSOR, MAX_FIELD_VALUES, isSecretKey, loggableFields } from './log-fields';

describe(loggableFields.name, () => {
  it('counts every value against the per-line budget, not only objects (an object of 10,000 keys was copied whole)', () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) wide[`k${i}`] = i;
    const copy = loggableFields({ wide })['wide'] as Record<string, unknown>;
    const keys = Object.keys(copy);
    expect(keys.length).toBeLessThanOrEqual(MAX_FIELD_VALUES + 1);
    expect(copy['…']).toBe(`${10_000 - (keys.length - 1)} more keys`);
    const list = loggableFields({ list: Array.from({ length: 50 }, () => Array.from({ length: 100 }, (_, i) => i)) })['list'] as unknown[][];
    expect(list.flat().filter((v) => typeof v === 'number').length).toBeLessThanOrEqual(MAX_FIELD_VALUES);
  });

  it("keeps an error's own fields (kafkajs retriable, a system error's errno/syscall/address/port, AggregateError's errors), secret-named ones redacted", () => {
    const system = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9093'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 9093 });
    const kafka = Object.assign(new Error('This server does not host this topic-partition'), { name: 'KafkaJSProtocolError', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true, password: 'p' });
    const all = new AggregateError([system, new Error('second')], 'every broker failed');
    expect(loggableFields({ error: system, kafka, all })).toEqual({
      error: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9093', code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 9093 },
      kafka: { type: 'KafkaJSProtocolError', message: 'This server does not host this topic-partition', code: 3, errorType: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true, password: CENSOR },
      all: {
        type: 'AggregateError',
        message: 'every broker failed',
        errors: [
          { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9093', code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 9093 },
          { type: 'Error', message: 'second' },
        ],
      },
    });
  });

  it('never changes the objects it is given', () => {
    const inner = { password: 'p', list: Array.from({ length: 150 }, (_, i) => i) };
    const error = Object.assign(new Error('e'), { detail: inner });
    const fields = { inner, error };
    const before = JSON.stringify(fields);
    loggableFields(fields);
    expect(JSON.stringify(fields)).toBe(before);
    expect(inner.password).toBe('p');
  });
});

describe(isSecretKey.name, () => {
  it('matches names that end in a secret word (saslPassword, kafka_password, bearerToken, apiSecret, x-auth-token)', () => {
    for (const key of ['password', 'saslPassword', 'kafka_password', 'bearerToken', 'session-token', 'x-auth-token', 'apiSecret', 'client_secret', 'X-Api-Key', 'Proxy-Authorization', 'sslPassphrase', 'authBytes', 'sasl']) {
      expect({ key, secret: isSecretKey(key) }).toEqual({ key, secret: true });
    }
  });

  it('leaves names that only mention a secret word (tokenProvider, maxTokens, secretPaths, passwordFile)', () => {
    for (const key of ['tokenProvider', 'maxTokens', 'secretPaths', 'passwordFile', 'mechanism', 'username', 'keys']) {
      expect({ key, secret: isSecretKey(key) }).toEqual({ key, secret: false });
    }
  });
});

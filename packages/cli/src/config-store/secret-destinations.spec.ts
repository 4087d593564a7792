import { describe, expect, it } from '@jest/globals';
import { changedDestination } from './secret-destinations';

describe('changedDestination of a kafka connector with a schema registry', () => {
  const stored = {
    type: 'kafka', id: 'k', bootstrapHosts: ['kafka:9092'],
    schemaRegistry: { url: 'https://registry:8081', authentication: { username: 'key', password: '${file:/s/k}' }, tls: { caFile: '/ca.pem' } },
  };

  it.each([
    ['schemaRegistry.url', { url: 'https://attacker.example' }],
    ['schemaRegistry.tls', { tls: { caFile: '/ca.pem', verify: false } }],
    ['schemaRegistry.authentication.username', { authentication: { username: 'other', password: '[redacted]' } }],
  ])('names %s when it changes: a kept registry password would go elsewhere', (field, change) => {
    expect(changedDestination({ ...stored, schemaRegistry: { ...stored.schemaRegistry, ...change } }, stored)).toBe(field);
  });

  it('keeps the destination when only the password or the timeout changes', () => {
    const entry = { ...stored, schemaRegistry: { ...stored.schemaRegistry, authentication: { username: 'key', password: '[redacted]' }, requestTimeout: '5s' } };
    expect(changedDestination(entry, stored)).toBeUndefined();
  });
});

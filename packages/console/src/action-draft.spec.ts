import { describe, expect, it } from '@jest/globals';
import { definitionOf, draftOf, newDraft } from './action-draft';

const KAFKA = new Set(['topic', 'key', 'value', 'extHeaders']);

describe('newDraft', () => {
  it("starts with EMQX's key and value defaults", () => {
    expect(newDraft('upstash')).toMatchObject({ connector: 'upstash', topic: '', key: '${clientid}', value: '${.}', headersText: '' });
  });
});

describe('draftOf and definitionOf', () => {
  const stored = {
    connector: 'upstash', id: 'r:upstash', topic: 'emqx', value: '{"temp": ${temp}}',
    extHeaders: [{ key: 'source', value: 'sluice-${clientid}' }], compression: 'gzip', fallbackActions: [{ connector: 'dlq', topic: 'dead' }],
  };

  it('round-trip a stored action, the unshown settings untouched and the missing key at its default', () => {
    const draft = draftOf(stored);
    expect(draft).toMatchObject({ topic: 'emqx', key: '${clientid}', headersText: 'source: sluice-${clientid}', rest: { compression: 'gzip', fallbackActions: stored.fallbackActions } });
    expect(definitionOf(draft, KAFKA)).toEqual({ definition: { ...stored, key: '${clientid}' }, problems: [] });
  });

  it('turns header lines into extHeaders and reports the lines it cannot read', () => {
    const { definition, problems } = definitionOf({ ...newDraft('k'), topic: ' emqx ', headersText: 'a: 1\nbroken' }, KAFKA);
    expect(definition).toEqual({ connector: 'k', topic: 'emqx', key: '${clientid}', value: '${.}', extHeaders: [{ key: 'a', value: '1' }] });
    expect(problems).toEqual([{ line: 2, message: 'write a header as "name: value"' }]);
  });

  it('sends only the settings the connector type knows', () => {
    expect(definitionOf({ ...newDraft('pg'), rest: { table: 't' } }, new Set()).definition).toEqual({ connector: 'pg', table: 't' });
  });
});

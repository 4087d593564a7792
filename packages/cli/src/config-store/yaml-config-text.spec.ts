import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { YamlConfigText } from './yaml-config-text';

function edited(text: string, edit: (t: YamlConfigText) => void): string {
  const t = new YamlConfigText(text);
  edit(t);
  return t.toString();
}

describe(YamlConfigText.name, () => {
  describe('.replaceEntry', () => {
    it('changes the first key of an entry in place', () => {
      const text = 'sources:\n  - type: mqtt   # kind\n    url: a\n';
      expect(edited(text, (t) => t.replaceEntry('sources', 0, { type: 'mqtt-broker', url: 'a' }))).toBe('sources:\n  - type: mqtt-broker   # kind\n    url: a\n');
    });

    it('re-renders an entry that lost its first key, keeping its inner comments and the text around it', () => {
      const text = 'sources:\n  # before\n  - type: mqtt\n    # the url\n    url: a   # line comment\n    id: s\n\n# after\nrules: []\n';
      const out = edited(text, (t) => t.replaceEntry('sources', 0, { url: 'a', id: 's' }));
      expect(out).toBe('sources:\n  # before\n  - # the url\n    url: a # line comment\n    id: s\n\n# after\nrules: []\n');
      expect(parse(out).sources).toEqual([{ url: 'a', id: 's' }]);
    });

    it('keeps an alias to an anchor outside the entry when re-rendering it', () => {
      const text = 'defaults: &hosts [a, b]\nconnectors:\n  - id: k\n    bootstrapHosts: *hosts\n';
      const out = edited(text, (t) => t.replaceEntry('connectors', 0, { type: 'kafka', id: 'k', bootstrapHosts: ['a', 'b'] }));
      expect(out).toBe('defaults: &hosts [a, b]\nconnectors:\n  - id: k\n    bootstrapHosts: *hosts\n    type: kafka\n');
      const rerendered = edited(text, (t) => t.replaceEntry('connectors', 0, { kind: 'x', bootstrapHosts: ['a', 'b'] }));
      expect(rerendered).toBe('defaults: &hosts [a, b]\nconnectors:\n  - bootstrapHosts: *hosts\n    kind: x\n');
      expect(parse(rerendered).connectors[0].bootstrapHosts).toEqual(['a', 'b']);
    });

    it('keeps the quoting style of a changed string and quotes what plain text cannot hold', () => {
      const text = "rules:\n  - id: r\n    a: 'single'\n    b: \"double\"\n    c: plain\n";
      const out = edited(text, (t) => t.replaceEntry('rules', 0, { id: 'r', a: "it's", b: 'x\ny', c: 'key: value' }));
      expect(out).toBe("rules:\n  - id: r\n    a: 'it''s'\n    b: \"x\\ny\"\n    c: \"key: value\"\n");
      expect(parse(out).rules[0]).toEqual({ id: 'r', a: "it's", b: 'x\ny', c: 'key: value' });
    });

    it('replaces a block scalar that changed with a new one at the same indentation', () => {
      const text = 'rules:\n  - id: r\n    sql: >-\n      SELECT *\n      FROM "a/#"\n    x: 1\n';
      const out = edited(text, (t) => t.replaceEntry('rules', 0, { id: 'r', sql: 'SELECT a\nFROM "b/#"', x: 1 }));
      expect(parse(out).rules[0]).toEqual({ id: 'r', sql: 'SELECT a\nFROM "b/#"', x: 1 });
      expect(out.endsWith('    x: 1\n')).toBe(true);
    });

    it('edits an entry of a flow list as flow text', () => {
      const text = 'rules: [{id: a, sql: x}, {id: b, sql: y}] # two\n';
      const out = edited(text, (t) => t.replaceEntry('rules', 1, { id: 'b', sql: 'z' }));
      expect(out).toBe('rules: [{id: a, sql: x}, {id: b, sql: z}] # two\n');
    });
  });

  describe('.appendEntry', () => {
    it('adds a missing section at the end, after a last line without a newline', () => {
      const out = edited('rules:\n  - id: r\nlog: {level: info}', (t) => t.appendEntry('connectors', { type: 'kafka', id: 'k' }));
      expect(out).toBe('rules:\n  - id: r\nlog: {level: info}\nconnectors:\n  - type: kafka\n    id: k\n');
    });

    it('appends after a last entry whose line has no newline, as a line of its own', () => {
      const out = edited('rules:\n  - id: a\n    sql: SELECT 1', (t) => t.appendEntry('rules', { id: 'b', sql: 'SELECT 2' }));
      expect(out).toBe('rules:\n  - id: a\n    sql: SELECT 1\n  - id: b\n    sql: SELECT 2\n');
      expect(parse(out).rules).toEqual([{ id: 'a', sql: 'SELECT 1' }, { id: 'b', sql: 'SELECT 2' }]);
    });

    it('fills an empty list', () => {
      const out = edited('connectors: []   # none yet\nrules: []\n', (t) => t.appendEntry('connectors', { id: 'k' }));
      expect(out).toBe('connectors:\n  - id: k\nrules: []\n');
    });
  });

  describe('.removeEntry', () => {
    it('leaves [] behind when the last entry goes (an empty key would read as null)', () => {
      const out = edited('connectors:\n  - id: k\n    type: kafka\nrules: []\n', (t) => t.removeEntry('connectors', 0));
      expect(out).toBe('connectors: []\nrules: []\n');
    });

    it('removes the first entry with its anchor', () => {
      const out = edited('connectors:\n  - &a\n    id: k\n  - id: j\n', (t) => t.removeEntry('connectors', 0));
      expect(out).toBe('connectors:\n  - id: j\n');
    });
  });
});

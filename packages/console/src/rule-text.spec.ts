import { describe, expect, it } from '@jest/globals';
import {
  describeProblems, headersToText, issuesByPath, issuesUnder, parseHeadersText, parseUserProperties, rulePath, sampleTopic, sqlSummary, syntaxErrorText,
} from './rule-text';

describe('parseHeadersText', () => {
  it('reads one "name: value" per line, splitting at the first colon', () => {
    expect(parseHeadersText('source: sluice-${clientid}\n\n  url : http://x:1/${topic}  \n')).toEqual({
      value: [{ key: 'source', value: 'sluice-${clientid}' }, { key: 'url', value: 'http://x:1/${topic}' }],
      problems: [],
    });
  });

  it('keeps a repeated name as two headers (Kafka headers are a list)', () => {
    expect(parseHeadersText('a: 1\na: 2').value).toEqual([{ key: 'a', value: '1' }, { key: 'a', value: '2' }]);
  });

  it('names the lines without a colon or without a name', () => {
    const parsed = parseHeadersText('ok: 1\nno colon\n: no name');
    expect(parsed.value).toEqual([{ key: 'ok', value: '1' }]);
    expect(parsed.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(describeProblems(parsed.problems)).toBe('line 2: write a header as "name: value"; line 3: write a header as "name: value"');
  });

  it('round-trips with headersToText', () => {
    const headers = [{ key: 'a', value: '${payload.x}' }, { key: 'b', value: '' }];
    expect(parseHeadersText(headersToText(headers)).value).toEqual(headers);
    expect(headersToText(undefined)).toBe('');
  });
});

describe('parseUserProperties', () => {
  it('reads one "name=value" per line into a map without prototype', () => {
    const parsed = parseUserProperties('site=lab\n__proto__=x\nurl=a=b');
    expect(parsed.problems).toEqual([]);
    expect(Object.getPrototypeOf(parsed.value)).toBeNull();
    expect(Object.entries(parsed.value)).toEqual([['site', 'lab'], ['__proto__', 'x'], ['url', 'a=b']]);
  });

  it('names a line without "=" or without a name', () => {
    expect(parseUserProperties('a\n=b').problems).toEqual([
      { line: 1, message: 'write a user property as "name=value"' },
      { line: 2, message: 'write a user property as "name=value"' },
    ]);
    expect(describeProblems([])).toBeUndefined();
  });
});

describe('sqlSummary', () => {
  it('collapses whitespace and drops -- comments outside quotes', () => {
    expect(sqlSummary('SELECT a, -- the a\n  b\nFROM "t/--/x"  -- end')).toBe('SELECT a, b FROM "t/--/x"');
  });

  it('cuts long rules with an ellipsis at the limit', () => {
    const summary = sqlSummary(`SELECT ${'x, '.repeat(50)}y FROM "t"`, 20);
    expect(summary.length).toBeLessThanOrEqual(20);
    expect(summary.endsWith('…')).toBe(true);
  });
});

describe('syntaxErrorText', () => {
  it('says the position once, first', () => {
    expect(syntaxErrorText({ line: 2, column: 9, message: 'unexpected quoted name "t": expected FROM (line 2, column 9)' }))
      .toBe('line 2, column 9: unexpected quoted name "t": expected FROM');
  });
});

describe('issue paths', () => {
  it('are made relative to the rule and found under a field', () => {
    expect(rulePath('rules[3].actions[0].topic')).toBe('actions[0].topic');
    const byPath = issuesByPath([
      { path: 'actions[0].topic', message: 'Required' },
      { path: 'rules[0].actions[0].buffer.dir', message: 'outside the data dir' },
      { path: 'actions[1].key', message: 'too long' },
    ]);
    expect(issuesUnder(byPath, 'actions[0].topic')).toEqual(['Required']);
    expect(issuesUnder(byPath, 'actions[0]')).toEqual(['topic: Required', 'buffer.dir: outside the data dir']);
    expect(issuesUnder(byPath, 'actions[1].value')).toEqual([]);
  });

  it("say zod's empty-text refusal as a person would", () => {
    const byPath = issuesByPath([{ path: 'actions[0].topic', message: 'Too small: expected string to have >=1 characters' }]);
    expect(issuesUnder(byPath, 'actions[0].topic')).toEqual(['required: fill this in']);
  });
});

describe('sampleTopic', () => {
  it('takes the first FROM filter with its wildcard levels filled in', () => {
    expect(sampleTopic('SELECT * FROM "temp_hum/emqx"')).toBe('temp_hum/emqx');
    expect(sampleTopic("select a from 'sensors/+/data', \"b/#\"")).toBe('sensors/test/data');
    expect(sampleTopic('SELECT * FROM t/#')).toBe('t/test');
    expect(sampleTopic('SELECT * FROM "$share/g/a/+"')).toBe('a/test');
  });

  it('is undefined without a FROM', () => {
    expect(sampleTopic('SELECT a')).toBeUndefined();
  });
});

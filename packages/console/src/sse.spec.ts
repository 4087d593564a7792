import { describe, expect, it } from '@jest/globals';
import { SseParser } from './sse';

describe(SseParser.name, () => {
  it('dispatches an event at the blank line, with its name and data', () => {
    const parser = new SseParser();
    expect(parser.push('event: snapshot\ndata: {"at":1}\n\n')).toEqual([{ event: 'snapshot', data: '{"at":1}' }]);
  });

  it('joins events split across chunks anywhere, CRLF included', () => {
    const parser = new SseParser();
    const text = 'event: record\r\ndata: {"a":\r\ndata: 1}\r\n\r\n';
    const events = [...text].flatMap((char) => parser.push(char));
    expect(events).toEqual([{ event: 'record', data: '{"a":\n1}' }]);
  });

  it('skips comments (the : ping keep-alive) and names unnamed events "message"', () => {
    const parser = new SseParser();
    expect(parser.push(': ping\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('does not carry an event name over to the next event', () => {
    const parser = new SseParser();
    expect(parser.push('event: a\ndata: 1\n\ndata: 2\n\n')).toEqual([{ event: 'a', data: '1' }, { event: 'message', data: '2' }]);
  });
});

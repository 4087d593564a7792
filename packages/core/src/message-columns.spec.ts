import { describe, expect, it } from '@jest/globals';
import type { Message } from './message';
import { messageColumns } from './message-columns';

describe(messageColumns.name, () => {
  it('keeps user property names the prototype has (`__proto__`, `toString`) as own keys of pub_props (issue 10 item 1)', () => {
    const userProperties = Object.create(null) as Record<string, string>;
    userProperties['__proto__'] = 'p';
    userProperties['toString'] = 't';
    const message: Message = { sourceId: 's', topic: 't', payload: Buffer.from('{}'), qos: 1, retain: false, dup: false,
      clientId: undefined, username: undefined, peerHost: undefined, receivedAt: 1, properties: { userProperties } };
    const props = messageColumns(message, 'n')['pub_props'] as Record<string, unknown>;
    const single = props['User-Property'] as Record<string, string>;
    expect(Object.entries(single)).toEqual([['__proto__', 'p'], ['toString', 't']]);
    expect(props['User-Property-Pairs']).toEqual([{ key: '__proto__', value: 'p' }, { key: 'toString', value: 't' }]);
  });
});

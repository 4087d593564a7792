import { describe, expect, it } from '@jest/globals';
import { matchTopic } from '@sluice/core';
import { type MessageEmitter, RoutingProbe } from './routing-probe';
import { connackReason } from './broker-events';

type Listener = (message: { readonly topic: string }, done: () => void) => void;

/**
 * A synchronous stand-in for mqemitter: emit calls every listener whose filter matches, then done. Like
 * mqemitter (qlobber), `#` is handed `$` topics too: Aedes's listener drops them itself.
 */
class FakeEmitter implements MessageEmitter {
  readonly listeners: Array<{ topic: string; listener: Listener }> = [];
  on(topic: string, listener: Listener): void {
    this.listeners.push({ topic, listener });
  }
  removeListener(topic: string, listener: Listener): void {
    const i = this.listeners.findIndex((l) => l.topic === topic && l.listener === listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }
  emit(message: { readonly topic: string }, done?: (error?: Error) => void): void {
    for (const { topic, listener } of this.listeners) if (topic === '#' || topic === message.topic || ((topic.includes('#') || topic.includes('+')) && matchTopic(message.topic, topic))) listener(message, () => undefined);
    done?.();
  }
}

describe(RoutingProbe.name, () => {
  function setUp() {
    const unrouted: string[] = [];
    const probe = new RoutingProbe((m) => unrouted.push(m.topic));
    const emitter = new FakeEmitter();
    probe.install(emitter);
    return { probe, emitter, unrouted };
  }

  it('reports a message no listener received, only while active', () => {
    const { probe, emitter, unrouted } = setUp();
    const delivered: string[] = [];
    emitter.on('t/#', (m) => delivered.push(m.topic));
    emitter.emit({ topic: 'nobody' });
    expect(unrouted).toEqual([]);
    probe.active = true;
    emitter.emit({ topic: 't/a' });
    emitter.emit({ topic: 'nobody' });
    expect(delivered).toEqual(['t/a']);
    expect(unrouted).toEqual(['nobody']);
  });

  it('forgets a listener removed with the function it was added with', () => {
    const { probe, emitter, unrouted } = setUp();
    probe.active = true;
    const listener: Listener = () => undefined;
    emitter.on('t/a', listener);
    emitter.removeListener('t/a', listener);
    emitter.emit({ topic: 't/a' });
    expect(unrouted).toEqual(['t/a']);
  });

  it('does not count a wildcard listener handed a $ topic as a delivery (Aedes drops it there)', () => {
    const { probe, emitter, unrouted } = setUp();
    probe.active = true;
    emitter.on('#', () => undefined);
    emitter.emit({ topic: '$x/y' });
    expect(unrouted).toEqual(['$x/y']);
  });
});

describe(connackReason.name, () => {
  it('names MQTT 3.1.1 return codes as EMQX does', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(connackReason)).toEqual([
      'success', 'unsupported_protocol_version', 'client_identifier_not_valid', 'server_unavailable', 'bad_username_or_password', 'not_authorized', 'unspecified_error',
    ]);
  });
});

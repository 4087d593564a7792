import { afterEach, describe, expect, it } from '@jest/globals';
import { type Logger, type Message, type Settle, silentLogger } from '@sluice/core';
import { recordingLogger } from '../test/source-harness';
import type { IClientOptions, IPublishPacket, MqttClient, Packet } from 'mqtt';
import { FakeWire } from '../test/fake-wire';
import { MqttSource } from './mqtt-source';
import { type MqttSourceOptions, parseMqttSourceConfig } from './mqtt-source-config';

interface Received {
  readonly message: Message;
  readonly settle: Settle;
}

const sources: MqttSource[] = [];

async function started(options: Partial<MqttSourceOptions> = {}, wire = new FakeWire(), logger: Logger = silentLogger, unsuback = true) {
  wire.autoAnswer(false, { unsuback });
  const config = parseMqttSourceConfig({ id: 'unit', url: 'mqtt://fake:1883', reconnectPeriod: 100, ...options });
  const source = new MqttSource(config, wire.clientFactory, logger);
  sources.push(source);
  const received: Received[] = [];
  await source.start({ receive: (message, settle) => received.push({ message, settle }) }, ['t/#'], new AbortController().signal);
  return { source, wire, received };
}

function publishPacket(messageId: number, extra: Partial<IPublishPacket> = {}): IPublishPacket {
  return { cmd: 'publish', topic: 't/x', payload: Buffer.from(`m${messageId}`), qos: 1, dup: false, retain: false, messageId, ...extra };
}

function publish(wire: FakeWire, messageId: number, extra: Partial<IPublishPacket> = {}): void {
  wire.push(publishPacket(messageId, extra));
}

const acksOf = (wire: FakeWire, cmd: 'puback' | 'pubrec' | 'pubcomp' = 'puback'): number[] =>
  wire.sentOf(cmd).map((packet) => (packet as Packet & { messageId: number }).messageId);

/** Lets mqtt.js work through what the wire pushed (it handles one packet per tick). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
};

afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.stop()));
});

describe(MqttSource.name, () => {
  describe('.stop of a share-group member (issue #13: leave, drain, end the session)', () => {
    type Disconnect = Packet & { properties?: { sessionExpiryInterval?: number } };
    const order = (wire: FakeWire): string[] => wire.sent.map((packet) => packet.cmd).filter((cmd) => cmd === 'unsubscribe' || cmd === 'disconnect');

    it('unsubscribes the shared filters, then DISCONNECTs with Session Expiry Interval 0 (nothing unacknowledged)', async () => {
      const { source, wire } = await started({ shareGroup: 'g' });
      await source.stop();
      expect(order(wire)).toEqual(['unsubscribe', 'disconnect']);
      expect((wire.sentOf('unsubscribe')[0] as Packet & { unsubscriptions: string[] }).unsubscriptions).toEqual(['$share/g/t/#']);
      expect((wire.sentOf('disconnect')[0] as Disconnect).properties?.sessionExpiryInterval).toBe(0);
    });

    it('hands over what arrives while leaving and ends the session once it is acknowledged within leaveDrainTimeout', async () => {
      const { source, wire, received } = await started({ shareGroup: 'g', session: { leaveDrainTimeout: 2_000 } });
      publish(wire, 1);
      await flush();
      expect(received).toHaveLength(1);
      const stopping = source.stop();
      await flush();
      (received[0] as Received).settle();
      await stopping;
      expect(acksOf(wire)).toEqual([1]);
      expect((wire.sentOf('disconnect')[0] as Disconnect).properties?.sessionExpiryInterval).toBe(0);
    });

    it('keeps the session (plain DISCONNECT) and warns with the count when a message is still unacknowledged after leaveDrainTimeout', async () => {
      const lines: string[] = [];
      const { source, wire, received } = await started({ shareGroup: 'g', clientId: 'member-1', session: { leaveDrainTimeout: 100 } }, new FakeWire(), recordingLogger(lines));
      publish(wire, 1);
      await flush();
      expect(received).toHaveLength(1);
      await source.stop();
      expect(order(wire)).toEqual(['unsubscribe', 'disconnect']);
      expect((wire.sentOf('disconnect')[0] as Disconnect).properties?.sessionExpiryInterval).toBeUndefined();
      expect(lines.filter((line) => line.startsWith('WARN leaving the share group with unacknowledged messages'))).toEqual([
        expect.stringContaining('"unacknowledged":1'),
      ]);
      expect(acksOf(wire)).toEqual([]);
    });

    it('keeps the session and closes when the broker never answers the UNSUBSCRIBE', async () => {
      const lines: string[] = [];
      const { source, wire } = await started({ shareGroup: 'g', session: { leaveDrainTimeout: 100 } }, new FakeWire(), recordingLogger(lines), false);
      await source.stop();
      expect(wire.sentOf('unsubscribe')).toHaveLength(1);
      for (const packet of wire.sentOf('disconnect')) expect((packet as Disconnect).properties?.sessionExpiryInterval).toBeUndefined();
      expect(lines.some((line) => line.startsWith('WARN leaving the share group: no UNSUBACK'))).toBe(true);
    });

    it('with keep-session, or outside a share group, neither unsubscribes nor ends the session', async () => {
      for (const options of [{ shareGroup: 'g', session: { shareGroupLeave: 'keep-session' as const } }, {}]) {
        const { source, wire } = await started(options);
        await source.stop();
        expect(order(wire)).toEqual(['disconnect']);
        expect((wire.sentOf('disconnect')[0] as Disconnect).properties?.sessionExpiryInterval).toBeUndefined();
      }
    });

    it('MQTT 3.1.1: unsubscribes, then disconnects normally (no session expiry in 3.1.1)', async () => {
      const { source, wire } = await started({ shareGroup: 'g', protocolVersion: 4 });
      await source.stop();
      expect(order(wire)).toEqual(['unsubscribe', 'disconnect']);
      expect((wire.sentOf('disconnect')[0] as Disconnect).properties).toBeUndefined();
    });
  });

  describe('.start', () => {
    it('connects with a persistent session and Receive Maximum = maxInflight, then subscribes', async () => {
      const { wire, source } = await started({ maxInflight: 7, shareGroup: 'g' });
      const connect = wire.sentOf('connect')[0] as Packet & { clean: boolean; clientId: string; properties: Record<string, unknown> };
      expect(connect.clean).toBe(false);
      expect(connect.clientId).toBe('sluice-unit');
      expect(connect.properties).toEqual({ receiveMaximum: 7, sessionExpiryInterval: 86_400 });
      const subscribe = wire.sentOf('subscribe')[0] as Packet & { subscriptions: { topic: string; qos: number }[] };
      expect(subscribe.subscriptions).toEqual([expect.objectContaining({ topic: '$share/g/t/#', qos: 1 })]);
      expect(source.status()).toEqual({ state: 'connected' });
    });

    it('rejects with ERR_NOT_CONNECTED when the broker refuses the subscription', async () => {
      const wire = new FakeWire();
      wire.on('packet', (packet: Packet) => {
        if (packet.cmd === 'connect') wire.push({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false });
        if (packet.cmd === 'subscribe') wire.push({ cmd: 'suback', messageId: packet.messageId as number, granted: [0x87] });
      });
      const source = new MqttSource(parseMqttSourceConfig({ id: 'unit', url: 'mqtt://fake' }), wire.clientFactory, silentLogger);
      await expect(source.start({ receive: () => {} }, ['t/#'], new AbortController().signal)).rejects.toMatchObject({
        code: 'ERR_NOT_CONNECTED',
        message: expect.stringMatching(/refused the subscription to t\/#.*Not authorized/),
      });
    });
  });

  describe('messages', () => {
    it('arrive with their fields, MQTT 5 properties and the identity read from a user property', async () => {
      const { wire, received } = await started({ identity: { clientid: { userProperty: 'clientid' }, username: { topicSegment: 't/{username}' } } });
      publish(wire, 1, {
        dup: true,
        retain: true,
        properties: { userProperties: { clientid: 'dev-1', tag: ['a', 'b'] }, contentType: 'application/json', correlationData: Buffer.from('c') },
      });
      await flush();
      expect(received).toHaveLength(1);
      const { message } = received[0]!;
      expect(message).toMatchObject({ sourceId: 'unit', topic: 't/x', qos: 1, dup: true, retain: true, clientId: 'dev-1', username: 'x', peerHost: undefined });
      expect(message.payload.toString()).toBe('m1');
      expect(message.properties).toEqual({ userProperties: { clientid: 'dev-1', tag: ['a', 'b'] }, contentType: 'application/json', correlationData: Buffer.from('c') });
      expect(typeof message.receivedAt).toBe('number');
    });
  });

  describe('at-least-once', () => {
    it('keeps taking messages while their PUBACKs are held, and releases them in arrival order', async () => {
      const { wire, received } = await started({ maxInflight: 100 });
      for (let id = 1; id <= 50; id++) publish(wire, id);
      await flush();
      expect(received).toHaveLength(50); // all in flight at once: intake did not wait for settle
      expect(acksOf(wire)).toEqual([]);
      const order = received.map((_, i) => i).sort(() => Math.random() - 0.5);
      for (const i of order.slice(0, 25)) received[i]!.settle();
      for (const i of order) received[i]!.settle(); // settling twice changes nothing
      await flush();
      expect(acksOf(wire)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('still answers the broker (PINGRESP, SUBACK) while messages wait for settle', async () => {
      const { wire, received, source } = await started();
      publish(wire, 1);
      await flush();
      wire.push({ cmd: 'pingresp' });
      const subscribed = source.updateFilters(['t/#', 'u/#']);
      await expect(subscribed).resolves.toBeUndefined();
      expect(received).toHaveLength(1);
      expect(acksOf(wire)).toEqual([]);
    });

    it('hands over no more than maxInflight unacknowledged messages; the rest wait their turn', async () => {
      const { wire, received } = await started({ maxInflight: 2 });
      for (let id = 1; id <= 5; id++) publish(wire, id);
      await flush();
      expect(received.map((r) => r.message.payload.toString())).toEqual(['m1', 'm2']);
      received[1]!.settle();
      await flush();
      expect(received).toHaveLength(2); // message 2 settled but 1 holds the window
      received[0]!.settle();
      await flush();
      expect(acksOf(wire)).toEqual([1, 2]);
      expect(received.map((r) => r.message.payload.toString())).toEqual(['m1', 'm2', 'm3', 'm4']);
    });

    it('tells the receiver it stalled each time the window fills, after handing over the message that filled it', async () => {
      const wire = new FakeWire();
      wire.autoAnswer(false, { unsuback: true });
      const source = new MqttSource(parseMqttSourceConfig({ id: 'unit', url: 'mqtt://fake:1883', maxInflight: 2 }), wire.clientFactory, silentLogger);
      sources.push(source);
      const events: string[] = [];
      const received: Received[] = [];
      const receiver = {
        receive: (message: Message, settle: Settle) => {
          events.push(message.payload.toString());
          received.push({ message, settle });
        },
        stalled: () => events.push('stalled'),
      };
      await source.start(receiver, ['t/#'], new AbortController().signal);
      for (let id = 1; id <= 4; id++) publish(wire, id);
      await flush();
      expect(events).toEqual(['m1', 'm2', 'stalled']);
      received[0]!.settle();
      await flush();
      expect(events).toEqual(['m1', 'm2', 'stalled', 'm3', 'stalled']); // one slot freed, filled again at once
      received[1]!.settle();
      await flush();
      expect(events).toEqual(['m1', 'm2', 'stalled', 'm3', 'stalled', 'm4', 'stalled']);
      received[2]!.settle();
      received[3]!.settle();
      publish(wire, 5);
      await flush();
      expect(events.slice(7)).toEqual(['m5']); // one of two slots taken: not full, no stall
    });

    it('holds the PUBREC of a QoS 2 message until settle', async () => {
      const { wire, received } = await started({ qos: 2 });
      publish(wire, 9, { qos: 2 });
      await flush();
      expect(received).toHaveLength(1);
      expect(acksOf(wire, 'pubrec')).toEqual([]);
      received[0]!.settle();
      await flush();
      expect(acksOf(wire, 'pubrec')).toEqual([9]);
      wire.push({ cmd: 'pubrel', messageId: 9 });
      await flush();
      expect(acksOf(wire, 'pubcomp')).toEqual([9]);
      expect(received).toHaveLength(1); // PUBREL does not hand the message over a second time
    });

    it('on settle(error) acknowledges nothing from that message on and reconnects with the same session', async () => {
      const { wire, received, source } = await started({ maxInflight: 10 });
      for (let id = 1; id <= 4; id++) publish(wire, id);
      await flush();
      received[0]!.settle();
      received[2]!.settle();
      received[1]!.settle(new Error('kafka is away'));
      received[3]!.settle();
      await flush();
      expect(acksOf(wire)).toEqual([1]);
      expect(source.status().state).not.toBe('connected');
      await wire.next((packet) => packet.cmd === 'connect');
      await flush();
      expect(wire.connections).toBe(2);
      const reconnect = wire.sentOf('connect')[1] as Packet & { clean: boolean; clientId: string };
      expect(reconnect).toMatchObject({ clean: false, clientId: 'sluice-unit' });
      publish(wire, 2, { dup: true }); // the broker redelivers; the same id now means the new delivery
      await flush();
      expect(received[4]!.message.dup).toBe(true);
      received[4]!.settle();
      await flush();
      expect(acksOf(wire)).toEqual([1, 2]);
    });

    it('never sends on a new connection an acknowledgement of a message received on the old one', async () => {
      const { wire, received } = await started();
      publish(wire, 1);
      await flush();
      wire.cut();
      await wire.next((packet) => packet.cmd === 'connect');
      await flush();
      received[0]!.settle();
      await flush();
      expect(acksOf(wire)).toEqual([]);
    });
  });

  describe("mqtt.js's debug log", () => {
    const withLog = (enabled: boolean | undefined) => {
      const wire = new FakeWire();
      const clients: MqttClient[] = [];
      const factory = (options: IClientOptions): MqttClient => {
        const client = wire.clientFactory(options);
        client.log = Object.assign((): void => {}, { enabled, namespace: 'mqttjs:client' });
        clients.push(client);
        return client;
      };
      return { wire, clients, factory };
    };

    it.each<[boolean | undefined, string]>([[undefined, 'replaces it by a no-op'], [false, 'replaces it by a no-op'], [true, 'keeps it']])('when its namespace is enabled=%p, %s', async (enabled) => {
      const { wire, clients, factory } = withLog(enabled);
      wire.autoAnswer();
      const source = new MqttSource(parseMqttSourceConfig({ id: 'unit', url: 'mqtt://fake:1883' }), factory, silentLogger);
      sources.push(source);
      await source.start({ receive: () => {} }, ['t/#'], new AbortController().signal);
      expect((clients[0]?.log as { namespace?: string }).namespace).toBe(enabled === true ? 'mqttjs:client' : undefined);
    });
  });

  describe('at-most-once', () => {
    it('acknowledges on receipt', async () => {
      const { wire, received } = await started({ delivery: 'at-most-once' });
      for (let id = 1; id <= 3; id++) publish(wire, id);
      await flush();
      expect(received).toHaveLength(3);
      expect(acksOf(wire)).toEqual([1, 2, 3]);
    });

    it('acknowledges what arrived in one read in one write to the socket, in arrival order', async () => {
      const { wire, received } = await started({ delivery: 'at-most-once' });
      wire.pushTogether([1, 2, 3, 4, 5].map((id) => publishPacket(id)));
      await flush();
      expect(received).toHaveLength(5);
      const ackWrites = wire.writes.filter((write) => write.some((packet) => packet.cmd === 'puback'));
      expect(ackWrites.map((write) => write.map((packet) => (packet as Packet & { messageId: number }).messageId))).toEqual([[1, 2, 3, 4, 5]]);
    });

    it('acknowledges what it handed over when stopped before the turn of the event loop ends', async () => {
      const { wire, received, source } = await started({ delivery: 'at-most-once' });
      wire.pushTogether([1, 2, 3].map((id) => publishPacket(id)));
      // mqtt.js handles one packet per tick: wait for the three without letting the event loop turn
      for (let i = 0; i < 100 && received.length < 3; i++) await new Promise((resolve) => process.nextTick(resolve));
      expect(received).toHaveLength(3);
      await source.stop();
      await flush();
      expect(acksOf(wire)).toEqual([1, 2, 3]);
    });

    it('hands over what waited for window room and acknowledges it too', async () => {
      const { wire, received } = await started({ delivery: 'at-most-once', maxInflight: 2 });
      for (let id = 1; id <= 7; id++) publish(wire, id);
      await flush();
      expect(received.map((r) => r.message.payload.toString())).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
      expect(acksOf(wire)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });
  });

  describe('.pause', () => {
    it('hands nothing over and acknowledges nothing new', async () => {
      const { wire, received, source } = await started({ delivery: 'at-most-once' });
      publish(wire, 1);
      await flush();
      source.pause();
      publish(wire, 2);
      await flush();
      expect(received).toHaveLength(1);
      expect(acksOf(wire)).toEqual([1]);
    });

    it('does not reconnect when the connection drops while paused (draining before stop or replacement), yet still acknowledges on the live one', async () => {
      const { wire, received, source } = await started();
      publish(wire, 1);
      await flush();
      source.pause();
      received[0]!.settle();
      await flush();
      expect(acksOf(wire)).toEqual([1]);
      wire.cut();
      await new Promise((resolve) => setTimeout(resolve, 300)); // three reconnect periods
      expect(wire.connections).toBe(1);
    });

    it('cancels a reconnection already scheduled when the connection was lost before the pause', async () => {
      const { wire, source } = await started();
      wire.cut();
      await flush();
      source.pause();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(wire.connections).toBe(1);
      await source.stop();
      expect(source.status()).toEqual({ state: 'stopped' });
    });
  });

  describe('.replacesInPlace', () => {
    it('is true for a replacement keeping the fixed client id (one connection per id at the broker), false otherwise', () => {
      const make = (options: Partial<MqttSourceOptions>): MqttSource =>
        new MqttSource(parseMqttSourceConfig({ id: 'unit', url: 'mqtt://fake:1883', ...options }), new FakeWire().clientFactory, silentLogger);
      expect(make({}).replacesInPlace(make({ keepalive: 30 }))).toBe(true); // qos 1 default: sluice-unit on both
      expect(make({ clientId: 'a' }).replacesInPlace(make({ clientId: 'b' }))).toBe(false);
      expect(make({ qos: 0 }).replacesInPlace(make({ qos: 0 }))).toBe(false); // random ids
    });

    it('can start again after stop (a failed replacement puts it back)', async () => {
      const { wire, source, received } = await started();
      source.pause();
      await source.stop();
      await source.start({ receive: (message, settle) => received.push({ message, settle }) }, ['t/#'], new AbortController().signal);
      expect(source.status()).toEqual({ state: 'connected' });
      expect(wire.connections).toBe(2);
      publish(wire, 1);
      await flush();
      expect(received).toHaveLength(1);
    });
  });

  describe('.stop', () => {
    it('sends the acknowledgements of settled messages, then DISCONNECT, and leaves the unsettled ones to the broker', async () => {
      const { wire, received, source } = await started();
      for (let id = 1; id <= 3; id++) publish(wire, id);
      await flush();
      received[0]!.settle();
      received[2]!.settle();
      source.pause();
      await source.stop();
      received[1]!.settle();
      await flush();
      expect(wire.sent.map((p) => p.cmd).slice(-2)).toEqual(['puback', 'disconnect']);
      expect(acksOf(wire)).toEqual([1]);
      expect(source.status()).toEqual({ state: 'stopped' });
    });
  });
});

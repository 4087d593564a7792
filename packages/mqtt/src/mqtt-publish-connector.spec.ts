import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from '@jest/globals';
import { IntegrationError, silentLogger } from '@sluice/core';
import { compileTemplate } from '@sluice/sql';
import type { IClientPublishOptions, IPublishPacket, MqttClient, Packet } from 'mqtt';
import { FakeWire } from '../test/fake-wire';
import { type MqttPublishAction, MqttPublishConnector } from './mqtt-publish-connector';
import { type MqttPublishConnectorOptions, parseMqttPublishConnectorConfig } from './mqtt-publish-config';

// The publish connector against a fake broker end (FakeWire): what mqtt.js sends, and sends again after a
// reconnection, once a QoS 1/2 publish has timed out. The real broker's refusal is in
// test/integration/mqtt-publish-connector.int.spec.ts.

const connectors: MqttPublishConnector[] = [];

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((connector) => connector.stop()));
});

async function started(options: Partial<MqttPublishConnectorOptions> = {}, wire = new FakeWire()) {
  wire.autoAnswer();
  const config = parseMqttPublishConnectorConfig({ id: 'unit', url: 'mqtt://fake:1883', reconnectPeriod: 100, publishTimeout: 200, ...options });
  const connector = new MqttPublishConnector(config, wire.clientFactory, silentLogger);
  connectors.push(connector);
  await connector.start(new AbortController().signal);
  return { connector, wire };
}

function actionOf(connector: MqttPublishConnector, qos: 0 | 1 | 2): MqttPublishAction {
  return connector.createAction({ topic: 'out/${n}', payload: '${n}', qos }, { id: `r:unit${qos}`, ruleId: 'r', templates: { compileTemplate }, logger: silentLogger, dropped: () => undefined });
}

/** Sends `{ n }` and records how it settled, without awaiting it. */
function send(action: MqttPublishAction, n: number) {
  const outcome: { settled: boolean; error?: unknown } = { settled: false };
  const done = action.send({ n }, { topic: 'in' } as never).then(
    () => { outcome.settled = true; },
    (error: unknown) => { outcome.settled = true; outcome.error = error; },
  );
  return { outcome, done };
}

const publishes = (wire: FakeWire): IPublishPacket[] => wire.sentOf('publish') as IPublishPacket[];
const publishesOf = (wire: FakeWire, n: number): IPublishPacket[] => publishes(wire).filter((p) => p.topic === `out/${n}`);

/** Bounded polling: fails with `what` when the condition does not hold within 5 s. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Cuts the connection and waits until mqtt.js is connected again: it says so once what it resent is acknowledged. */
async function reconnect(wire: FakeWire, connector: MqttPublishConnector): Promise<void> {
  const before = wire.connections;
  wire.cut();
  await until('the connector reconnected', () => wire.connections > before && connector.status().state === 'connected');
}

const retriableTimeout = (ack: string) => expect.objectContaining({ retriable: true, message: expect.stringContaining(`no ${ack} from mqtt://fake:1883 within 200 ms`) });

describe(MqttPublishConnector.name, () => {
  it('resends an unacknowledged QoS 1 publish after a reconnection while its send still waits, and resolves on the PUBACK', async () => {
    const { connector, wire } = await started({ publishTimeout: 5_000 });
    const sent = send(actionOf(connector, 1), 1);
    await until('the publish went out', () => publishesOf(wire, 1).length === 1);
    // (mqtt.js emits 'connect' only once its resends are acknowledged: no waiting for the status here)
    wire.cut();
    await until('the publish went out again on a new connection', () => wire.connections === 2 && publishesOf(wire, 1).length === 2);
    const [first, again] = publishesOf(wire, 1);
    expect(again?.messageId).toBe(first?.messageId);
    wire.push({ cmd: 'puback', messageId: first?.messageId as number, reasonCode: 0 });
    await sent.done;
    expect(sent.outcome.error).toBeUndefined();
  });

  it.each([[1, 'PUBACK'], [2, 'PUBCOMP']] as const)('fails a QoS %i publish without %s as retriable after publishTimeout, and mqtt.js does not send it again', async (qos, ack) => {
    const { connector, wire } = await started();
    const action = actionOf(connector, qos);
    const sent = send(action, 1);
    expect(action.metrics()).toEqual({ inflight: 1 });
    await sent.done;
    expect(sent.outcome.error).toEqual(retriableTimeout(ack));
    expect(IntegrationError.is(sent.outcome.error)).toBe(true);
    expect(action.metrics()).toEqual({ inflight: 0 });

    await reconnect(wire, connector);
    // A later publish goes out after whatever mqtt.js would have resent first: once it is there, a resend would be too.
    const later = send(action, 2);
    await until('the later publish went out', () => publishesOf(wire, 2).length === 1);
    expect(publishesOf(wire, 1)).toHaveLength(1);
    const [packet] = publishesOf(wire, 2);
    if (qos === 1) wire.push({ cmd: 'puback', messageId: packet?.messageId as number, reasonCode: 0 });
    else {
      wire.push({ cmd: 'pubrec', messageId: packet?.messageId as number, reasonCode: 0 });
      await until('PUBREL', () => wire.sentOf('pubrel').some((p) => (p as Packet & { messageId: number }).messageId === packet?.messageId));
      wire.push({ cmd: 'pubcomp', messageId: packet?.messageId as number, reasonCode: 0 });
    }
    await later.done;
    expect(later.outcome.error).toBeUndefined();
  });

  it('does not send the PUBREL of a QoS 2 publish again once it timed out between PUBREC and PUBCOMP', async () => {
    const { connector, wire } = await started();
    const sent = send(actionOf(connector, 2), 1);
    await until('the publish went out', () => publishesOf(wire, 1).length === 1);
    wire.push({ cmd: 'pubrec', messageId: publishesOf(wire, 1)[0]?.messageId as number, reasonCode: 0 });
    await until('PUBREL', () => wire.sentOf('pubrel').length === 1);
    await sent.done;
    expect(sent.outcome.error).toEqual(retriableTimeout('PUBCOMP'));
    await reconnect(wire, connector);
    const later = send(actionOf(connector, 1), 2);
    await until('the later publish went out', () => publishesOf(wire, 2).length === 1);
    expect([wire.sentOf('pubrel').length, publishesOf(wire, 1).length]).toEqual([1, 1]);
    wire.push({ cmd: 'puback', messageId: publishesOf(wire, 2)[0]?.messageId as number, reasonCode: 0 });
    await later.done;
  });

  it('stops reconnecting once a publish the broker answers by closing the connection has timed out', async () => {
    const wire = new FakeWire();
    // A broker refusing a packet larger than its maximum: it closes the connection, every time.
    wire.on('packet', (packet: Packet) => {
      if (packet.cmd === 'publish' && packet.topic === 'out/1') setImmediate(() => wire.cut());
    });
    const { connector } = await started({}, wire);
    const sent = send(actionOf(connector, 1), 1);
    await sent.done;
    expect(sent.outcome.error).toEqual(retriableTimeout('PUBACK'));
    expect(wire.connections).toBeGreaterThan(1); // it did reconnect and resend while the send waited
    await until('the connector reconnected', () => connector.status().state === 'connected');
    const connections = wire.connections;
    const later = send(actionOf(connector, 1), 2);
    await until('the later publish went out', () => publishesOf(wire, 2).length === 1);
    wire.push({ cmd: 'puback', messageId: publishesOf(wire, 2)[0]?.messageId as number, reasonCode: 0 });
    await later.done;
    expect(later.outcome.error).toBeUndefined();
    // Several reconnect periods (100 ms): without the removal, each would bring a new connection.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(wire.connections).toBe(connections);
  });

  it('with one timer for all: acknowledged publishes resolve, the others time out, in any order of sending', async () => {
    const { connector, wire } = await started();
    const action = actionOf(connector, 1);
    const sent = [1, 2, 3, 4].map((n) => send(action, n));
    await until('four publishes went out', () => publishes(wire).length === 4);
    for (const n of [2, 4]) wire.push({ cmd: 'puback', messageId: publishesOf(wire, n)[0]?.messageId as number, reasonCode: 0 });
    await Promise.all(sent.map((s) => s.done));
    expect(sent.map((s) => s.outcome.error === undefined)).toEqual([false, true, false, true]);
    // A second round after the first has expired: the timer is armed again.
    const next = send(action, 5);
    await next.done;
    expect(next.outcome.error).toEqual(retriableTimeout('PUBACK'));
    expect(action.metrics()).toEqual({ inflight: 0 });
  });

  it('fails a publish refused by a PUBACK failure code for good, and a QoS 0 publish resolves once written', async () => {
    const { connector, wire } = await started();
    const refused = send(actionOf(connector, 1), 1);
    await until('the publish went out', () => publishesOf(wire, 1).length === 1);
    wire.push({ cmd: 'puback', messageId: publishesOf(wire, 1)[0]?.messageId as number, reasonCode: 0x87 });
    await refused.done;
    expect(refused.outcome.error).toMatchObject({ retriable: false, message: expect.stringContaining('Not authorized') });
    const qos0 = send(actionOf(connector, 0), 2);
    await qos0.done;
    expect(qos0.outcome.error).toBeUndefined();
    await until('the QoS 0 publish reached the wire', () => publishesOf(wire, 2).length === 1);
  });

  it('takes a publish that timed out while mqtt.js still queued it out of mqtt.js once it is stored, not from inside the queue run', async () => {
    // A client that holds every publish in its queue (as mqtt.js does while it resends after a reconnection)
    // until the test lets it through: real mqtt.js cannot be held there on cue.
    const removed: number[] = [];
    let letThrough: (() => void) | undefined;
    let removedDuringStorePut = -1;
    class QueueingClient extends EventEmitter {
      connected = false;
      readonly options = {};
      connect(): this {
        setImmediate(() => {
          this.connected = true;
          this.emit('connect');
        });
        return this;
      }
      publish(_topic: string, _payload: Buffer, options: IClientPublishOptions): this {
        letThrough = () => {
          options.cbStorePut?.();
          removedDuringStorePut = removed.length;
        };
        return this;
      }
      getLastMessageId(): number {
        return 7;
      }
      removeOutgoingMessage(messageId: number): this {
        removed.push(messageId);
        return this;
      }
      async endAsync(): Promise<void> {}
    }
    const client = new QueueingClient();
    const config = parseMqttPublishConnectorConfig({ id: 'unit', url: 'mqtt://fake:1883', publishTimeout: 100 });
    const connector = new MqttPublishConnector(config, () => client as unknown as MqttClient, silentLogger);
    connectors.push(connector);
    await connector.start(new AbortController().signal);
    const sent = send(actionOf(connector, 1), 1);
    await sent.done;
    expect(sent.outcome.error).toEqual(expect.objectContaining({ retriable: true, message: expect.stringContaining('within 100 ms') }));
    expect(removed).toEqual([]); // no packet id yet: nothing mqtt.js could resend
    letThrough?.();
    expect(removedDuringStorePut).toBe(0);
    await until('the packet was removed', () => removed.length === 1);
    expect(removed).toEqual([7]);
  });
});

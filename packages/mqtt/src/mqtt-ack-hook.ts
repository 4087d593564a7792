import type { IPublishPacket, MqttClient, Packet } from 'mqtt';

/** What the source does with the packets the hook shows it. */
export interface AckInterceptor {
  /** Every PUBLISH, in arrival order, just before mqtt.js handles it (and produces its PUBACK/PUBREC). */
  onPublish(packet: IPublishPacket): void;
  /**
   * mqtt.js is about to send the PUBACK (QoS 1) or PUBREC (QoS 2) of `messageId`. Return true to take
   * it over: mqtt.js goes on with the next packet at once, and the acknowledgement is written when
   * the interceptor calls `send` (or never, if the connection ends first). Return false to let it go.
   */
  onAck(messageId: number, send: () => void): boolean;
}

type SendPacket = (packet: Packet, cb?: (error?: Error) => void, cbStorePut?: () => void, noStore?: boolean) => void;
interface ClientInternals {
  _sendPacket?: SendPacket;
}

/**
 * Installs the at-least-once hook on one mqtt.js 5 client, before it connects.
 *
 * Why a hook: mqtt.js handles incoming packets strictly one at a time and moves to the next only when
 * the current handler calls its `done`; for a QoS 1 PUBLISH, `done` is the callback of the
 * `_sendPacket({ cmd: 'puback' }, done)` call that ends `handlePublish` (QoS 2: the PUBREC, after
 * `incomingStore.put`). Holding `handleMessage`'s callback until the message is stored would hold
 * every later packet too, PINGRESP included: one round trip per message, and keepalive timeouts.
 *
 * What it relies on (pinned by mqtt-ack-hook.spec.ts against the installed mqtt.js):
 * - the public `packetreceive` event, emitted for each packet before its handler runs;
 * - the private `MqttClient#_sendPacket(packet, cb)`, through which handlePublish sends PUBACK and
 *   PUBREC. The wrapper takes over only those two commands, without a reason code, and only when the
 *   interceptor accepts; it calls `cb` at once, so intake continues. Every other packet passes through.
 * - mqtt.js's strict one-packet-at-a-time order: the acknowledgement of PUBLISH n is produced before
 *   PUBLISH n+1 is seen, so it can be matched to the newest message with that id.
 *
 * A held acknowledgement is written later through the original `_sendPacket`, and only while the
 * client is connected: `_sendPacket` queues packets while offline and would send a stale PUBACK on the
 * next connection, where the packet id may name another message.
 */
export function installAckHook(client: MqttClient, interceptor: AckInterceptor): void {
  const internals = client as unknown as ClientInternals;
  const original = internals._sendPacket;
  if (typeof original !== 'function') {
    throw new TypeError('@sluice/mqtt: this mqtt.js has no MqttClient#_sendPacket; at-least-once delivery needs mqtt ~5.16 (or use delivery: "at-most-once")');
  }
  internals._sendPacket = function sendPacketWithHeldAcks(this: MqttClient, packet, cb, cbStorePut, noStore): void {
    if ((packet.cmd === 'puback' || packet.cmd === 'pubrec') && !packet.reasonCode && packet.messageId !== undefined) {
      const ack = packet;
      const send = (): void => {
        if (client.connected) original.call(client, ack);
      };
      if (interceptor.onAck(packet.messageId, send)) {
        cb?.();
        return;
      }
    }
    original.call(this, packet, cb, cbStorePut, noStore);
  };
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'publish') interceptor.onPublish(packet);
  });
}

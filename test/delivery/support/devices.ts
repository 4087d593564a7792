// Devices for the scenarios that talk to an MQTT broker (Mosquitto or Sluice's embedded one) as many
// separate clients: each device is one real mqtt.js connection whose QoS 1 publishes are counted as their
// PUBACKs come back. Against the embedded broker a PUBACK means Sluice stored the message (at-least-once),
// so a device's `acked` is what the scenario asserts on.
import mqtt, { type MqttClient } from 'mqtt';
import { randomName } from '@sluice/testkit';

export interface Device {
  readonly clientId: string;
  /** QoS 1 publishes whose PUBACK arrived. */
  readonly acked: number;
  /** QoS 1 publishes handed to the client. */
  readonly sent: number;
  /**
   * Publishes every payload to `topic` at QoS 1 without waiting for PUBACKs (one connection: the broker
   * receives them in this order), `gapMs` apart (0: all at once). Resolves when every PUBACK has arrived.
   */
  publish(topic: string, payloads: readonly string[], gapMs?: number): Promise<void>;
}

export interface Devices {
  readonly list: readonly Device[];
  /** PUBACKs received over all devices. */
  acked(): number;
  close(): Promise<void>;
}

/**
 * Connects `count` devices (MQTT 3.1.1, reconnecting: a publish whose PUBACK is outstanding when the
 * connection drops is sent again by mqtt.js after the reconnect, as a real device would).
 */
export async function connectDevices(url: string, count: number, name = 'device'): Promise<Devices> {
  const clients: MqttClient[] = [];
  const list: Device[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const clientId = randomName(`${name}${i}`);
      const client = mqtt.connect(url, { clientId, protocolVersion: 4, reconnectPeriod: 300, connectTimeout: 5000 });
      clients.push(client);
      // a dropped connection makes the client emit errors it recovers from; without a listener they would throw
      client.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      list.push(device(client, clientId));
    }
  } catch (error) {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    throw error;
  }
  return {
    list,
    acked: () => list.reduce((sum, d) => sum + d.acked, 0),
    close: async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}

function device(client: MqttClient, clientId: string): Device {
  let acked = 0;
  let sent = 0;
  return {
    clientId,
    get acked() {
      return acked;
    },
    get sent() {
      return sent;
    },
    async publish(topic, payloads, gapMs = 0) {
      let left = payloads.length;
      let done: () => void = () => undefined;
      const all = new Promise<void>((resolve) => (done = resolve));
      if (left === 0) return;
      for (const payload of payloads) {
        sent++;
        client.publish(topic, payload, { qos: 1 }, (error) => {
          // an error here means the client was closed with the publish outstanding (end of the test)
          if (error) return;
          acked++;
          if (--left === 0) done();
        });
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      await all;
    },
  };
}

// The MQTT brokers the share-group and cluster scenarios run on (issue #13): a test-owned Mosquitto 2.0.11 and a
// private HiveMQ CE 2025.5, each started fresh per test, with the share-group leave docs/operations.md recommends.
import mqtt from 'mqtt';
import { startHiveMq, startMosquitto } from '@sluice/testkit';

export interface Broker {
  readonly url: string;
  stop(): Promise<void>;
}

export interface BrokerUnderTest {
  readonly name: string;
  start(): Promise<Broker>;
  /** The `session.shareGroupLeave` docs/operations.md recommends for this broker. */
  readonly shareGroupLeave: 'end-session' | 'keep-session';
}

export const MOSQUITTO: BrokerUnderTest = {
  name: 'Mosquitto',
  shareGroupLeave: 'end-session',
  async start() {
    // unlimited queues: the broker must hold everything a member has not acknowledged
    const broker = await startMosquitto({ settings: { persistence: true, max_queued_messages: 0, max_queued_bytes: 0 } });
    return { url: broker.url, stop: () => broker.dispose() };
  },
};

export const HIVEMQ: BrokerUnderTest = {
  name: 'HiveMQ CE',
  shareGroupLeave: 'keep-session',
  async start() {
    const broker = await startHiveMq();
    return { url: broker.url, stop: () => broker.stop() };
  },
};

/** Whether the broker still holds a session for this client id (it is resumed, then ended: session expiry 0). */
export async function sessionPresent(url: string, clientId: string): Promise<boolean> {
  const client = mqtt.connect(url, { clientId, protocolVersion: 5, clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: 0 } });
  try {
    return await new Promise<boolean>((resolve, reject) => {
      client.once('connect', (connack) => resolve(connack.sessionPresent));
      client.once('error', reject);
    });
  } finally {
    await client.endAsync();
  }
}

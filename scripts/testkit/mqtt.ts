// MQTT helpers for integration tests: the shared broker's URL, one-shot publishing and a subscriber
// that collects what arrives, all with real mqtt.js clients.
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { randomName } from './names';

/** The shared Mosquitto: SLUICE_MQTT_URL, default `mqtt://127.0.0.1:1883`. */
export function mqttUrl(): string {
  return process.env['SLUICE_MQTT_URL'] || 'mqtt://127.0.0.1:1883';
}

export interface PublishOptions extends IClientPublishOptions {
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5 (needed for `properties`). */
  readonly protocolVersion?: 4 | 5;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
}

function clientOptions(opts: { protocolVersion?: 4 | 5; clientId?: string; username?: string; password?: string }): IClientOptions {
  const options: IClientOptions = {
    protocolVersion: opts.protocolVersion ?? 4,
    clientId: opts.clientId ?? randomName('testkit-pub'),
    reconnectPeriod: 0,
    connectTimeout: 5000,
  };
  if (opts.username !== undefined) options.username = opts.username;
  if (opts.password !== undefined) options.password = opts.password;
  return options;
}

/** Connects, publishes each payload in order (awaiting each PUBACK/PUBCOMP for QoS 1/2), disconnects. */
export async function publish(
  url: string,
  topic: string,
  payload: string | Buffer | ReadonlyArray<string | Buffer>,
  opts: PublishOptions = {},
): Promise<void> {
  const { protocolVersion, clientId, username, password, ...publishOptions } = opts;
  const client = await mqtt.connectAsync(url, clientOptions({
    ...(protocolVersion !== undefined && { protocolVersion }),
    ...(clientId !== undefined && { clientId }),
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
  }));
  try {
    const payloads: ReadonlyArray<string | Buffer> = typeof payload === 'string' || Buffer.isBuffer(payload) ? [payload] : payload;
    for (const p of payloads) await client.publishAsync(topic, p, publishOptions);
  } finally {
    await client.endAsync();
  }
}

export interface ReceivedMqtt {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly packet: IPublishPacket;
}

export interface MqttSubscription {
  readonly client: MqttClient;
  /** Everything received so far, in arrival order. */
  readonly messages: readonly ReceivedMqtt[];
  /** Resolves with the first `count` messages once they are in; throws after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMqtt[]>;
  close(): Promise<void>;
}

export interface SubscribeOptions {
  readonly qos?: 0 | 1 | 2;
  readonly protocolVersion?: 4 | 5;
  readonly clientId?: string;
  readonly clean?: boolean;
}

/** Subscribes (the SUBACK has arrived when this resolves) and collects every message. Close it in afterEach. */
export async function subscribeMqtt(url: string, filter: string, opts: SubscribeOptions = {}): Promise<MqttSubscription> {
  const options = clientOptions({
    ...(opts.protocolVersion !== undefined && { protocolVersion: opts.protocolVersion }),
    clientId: opts.clientId ?? randomName('testkit-sub'),
  });
  if (opts.clean !== undefined) options.clean = opts.clean;
  if (opts.clean === false && options.protocolVersion === 5) options.properties = { sessionExpiryInterval: 3600 };
  // The handler goes on before the CONNACK: a persistent session's queued messages can arrive in
  // the same read as the CONNACK, before connectAsync() would have resolved.
  const client = mqtt.connect(url, options);
  const messages: ReceivedMqtt[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, qos: packet.qos, retain: packet.retain, dup: packet.dup, packet });
    for (const wake of waiters) wake();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error(`subscribeMqtt: connection to ${url} closed before CONNACK`)));
    });
    await client.subscribeAsync(filter, { qos: opts.qos ?? 1 });
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  return {
    client,
    messages,
    waitFor(count, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(messages.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`subscribeMqtt(${filter}): ${messages.length} of ${count} messages within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      await client.endAsync();
    },
  };
}

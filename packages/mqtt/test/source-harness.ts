import { type Logger, type Message, type Settle, type Source, silentLogger } from '@sluice/core';
import { type IClientOptions, type MqttClient, connect, connectAsync } from 'mqtt';
import { MqttSource } from '../src/mqtt-source';
import { type MqttSourceOptions, parseMqttSourceConfig } from '../src/mqtt-source-config';

export interface Delivery {
  readonly message: Message;
  readonly settle: Settle;
}

/** Collects what a source hands over and lets a test wait for a number of deliveries. */
export class Collector {
  readonly deliveries: Delivery[] = [];
  private waiters: (() => void)[] = [];
  onReceive: ((delivery: Delivery) => void) | undefined;

  readonly receiver = {
    receive: (message: Message, settle: Settle): void => {
      const delivery = { message, settle };
      this.deliveries.push(delivery);
      this.onReceive?.(delivery);
      for (const wake of this.waiters.splice(0)) wake();
    },
  };

  /** Resolves once `count` deliveries are in; rejects after `timeoutMs` naming how many came. */
  async waitFor(count: number, timeoutMs = 15_000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.deliveries.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.deliveries.length} of ${count} messages arrived within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.deliveries.slice(0, count);
  }

  payloads(from = 0): string[] {
    return this.deliveries.slice(from).map((d) => d.message.payload.toString());
  }
}

/** Every source and client a test opened, closed in afterEach. */
export class Closer {
  private readonly sources: Source[] = [];
  private readonly clients: MqttClient[] = [];

  source<T extends Source>(source: T): T {
    this.sources.push(source);
    return source;
  }

  client(client: MqttClient): MqttClient {
    this.clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.endAsync(true)));
    await Promise.all(this.sources.splice(0).map((source) => source.stop()));
  }
}

export function mqttSource(options: MqttSourceOptions, logger: Logger = silentLogger): MqttSource {
  const config = parseMqttSourceConfig(options);
  return new MqttSource(config, (clientOptions) => connect(config.url, clientOptions), logger);
}

/** A logger that keeps every line (level, message and fields) for the test to read. */
export function recordingLogger(lines: string[]): Logger {
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>): void => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = { debug: () => undefined, info: keep('INFO'), warn: keep('WARN'), error: keep('ERROR'), child: () => logger };
  return logger;
}

/**
 * Connects with `clientId` and a kept session (clean: false), subscribing to nothing, and returns whether the
 * broker still had a session for it and what it delivered from that session within `listenMs`.
 */
export async function resumeSession(url: string, clientId: string, listenMs = 1_000): Promise<{ sessionPresent: boolean; payloads: string[] }> {
  const payloads: string[] = [];
  const client = connect(url, { clientId, protocolVersion: 5, clean: false, reconnectPeriod: 0, connectTimeout: 5_000, properties: { sessionExpiryInterval: 60 } });
  client.on('message', (_topic, payload) => payloads.push(payload.toString()));
  try {
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, listenMs));
    return { sessionPresent: connack.sessionPresent, payloads };
  } finally {
    // End the session this check made, so nothing stays behind on the broker.
    await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  }
}

/** A connected publisher (MQTT 5 unless told otherwise). */
export function publisher(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
}

export const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);

import { randomBytes } from 'node:crypto';
import {
  type ActionContext, ConfigError, type ConnectionTestReport, type ConnectorStatus, IntegrationError, type Logger, type Message, NotConnectedError,
  type RuleOutput, type Sink, type SinkAction, type SinkMetricKind, SinkWriteError,
} from '@sluice/core';
import type { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';
import type { MqttClientFactory } from './mqtt-source';
import { type MqttPublishActionSettings, type MqttPublishSinkConfig, parseMqttPublishActionSettings } from './mqtt-publish-config';
import { describeUrl, type TlsMaterial } from './mqtt-source-config';
import { PublishRenderer } from './publish-renderer';
import { firstConnection } from './first-connection';

/**
 * MQTT 5 reason codes of a PUBACK/PUBREC that say "not now" rather than "never": Quota exceeded (0x97)
 * and Packet Identifier in use (0x91). Every other failure code (Not authorized, Topic Name invalid,
 * Payload format invalid ...) would refuse the same publish again.
 */
const RETRIABLE_REASON_CODES = new Set([0x91, 0x97]);

export type MqttPublishMetrics = {
  readonly 'inflight': number;
};

export const MQTT_PUBLISH_METRIC_KINDS = { inflight: 'gauge' } as const satisfies Record<keyof MqttPublishMetrics, SinkMetricKind>;

/**
 * Publishes rule outputs to an MQTT broker (EMQX's "republish" action, against any broker): one mqtt.js
 * connection per connector, shared by its actions. A send resolves once the broker has the publish as
 * its QoS promises (QoS 0: written to the socket; 1: PUBACK; 2: PUBCOMP).
 */
export class MqttPublishSink implements Sink {
  readonly id: string;
  private client: MqttClient | undefined;
  private state: ConnectorStatus = { state: 'disconnected', reason: 'not started' };
  private lastError: string | undefined;
  private readonly where: string;

  constructor(
    private readonly config: MqttPublishSinkConfig,
    private readonly createClient: MqttClientFactory,
    private readonly logger: Logger,
    private readonly tls: TlsMaterial | undefined = undefined,
  ) {
    this.id = config.id;
    this.where = describeUrl(config.url);
  }

  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): MqttPublishAction {
    const parsed = parseMqttPublishActionSettings(settings, context.id);
    if (parsed.userProperties !== undefined && this.config.protocolVersion !== 5) {
      throw new ConfigError(`mqtt action "${context.id}"`, [{ path: 'userProperties', message: `needs MQTT 5, but connector "${this.id}" uses protocolVersion 4: set protocolVersion 5 on the connector or leave userProperties out` }]);
    }
    return new MqttPublishAction(context.id, parsed, new PublishRenderer(this.id, parsed, context.templates), this);
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.client !== undefined) throw new IntegrationError('ERR_INTERNAL', `mqtt connector "${this.id}" was already started`);
    signal.throwIfAborted();
    const client = this.createClient(this.clientOptions());
    this.client = client;
    client.on('connect', () => {
      if (this.state.state !== 'connecting' || this.lastError !== undefined) this.logger.info('connected', { connector: this.id, url: this.where });
      this.lastError = undefined;
      this.state = { state: 'connected' };
    });
    client.on('close', () => {
      if (this.state.state === 'connected') this.logger.warn('connection lost', { connector: this.id, url: this.where, reason: this.lastError ?? 'closed' });
      if (this.state.state !== 'stopped') this.state = { state: 'disconnected', reason: this.lastError ?? 'connection closed' };
    });
    client.on('reconnect', () => {
      this.state = { state: 'connecting', reason: this.lastError ?? 'reconnecting' };
    });
    // Without a listener, an 'error' event would throw; mqtt.js reconnects by itself.
    client.on('error', (error) => {
      this.lastError = error.message;
      this.logger.debug('mqtt client error', { connector: this.id, reason: error.message });
    });
    this.state = { state: 'connecting' };
    client.connect();
    try {
      await this.firstConnection(client, signal);
    } catch (error) {
      await this.closeClient(true);
      this.client = undefined;
      this.state = { state: 'disconnected', reason: (error as Error).message };
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.state = { state: 'stopped' };
    await this.closeClient(false);
    this.client = undefined;
  }

  status(): ConnectorStatus {
    return this.state;
  }

  /** Connects, and says whether the broker accepted the connection; nothing is published. */
  async test(): Promise<ConnectionTestReport> {
    const client = this.createClient({ ...this.clientOptions(), reconnectPeriod: 0 });
    client.on('error', () => undefined);
    try {
      client.connect();
      await this.firstConnection(client, new AbortController().signal);
      return { connectorId: this.id, ok: true, stages: [{ stage: 'connect', ok: true, detail: `connected to ${this.where} (MQTT ${this.config.protocolVersion === 5 ? '5' : '3.1.1'})` }] };
    } catch (error) {
      return { connectorId: this.id, ok: false, stages: [{ stage: 'connect', ok: false, detail: (error as Error).message }] };
    } finally {
      client.options.reconnectPeriod = 0;
      await client.endAsync(true);
    }
  }

  /** Publishes one rendered output; the promise settles as described on the class. */
  publish(actionId: string, topic: string, payload: Buffer, options: IClientPublishOptions): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) {
      // mqtt.js would queue it until a reconnect; the MQTT source's broker is the better place to wait.
      return Promise.reject(new NotConnectedError(this.id, `mqtt connector "${this.id}" is not connected to ${this.where} (${this.lastError ?? this.state.reason ?? 'disconnected'}); the message is left to the broker it came from`));
    }
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const timer = options.qos === 0 ? undefined : setTimeout(() => {
        done = true;
        reject(new SinkWriteError(this.id, `mqtt action "${actionId}": no ${options.qos === 1 ? 'PUBACK' : 'PUBCOMP'} from ${this.where} within ${this.config.publishTimeout} ms for a publish to "${topic}"`, { retriable: true }));
      }, this.config.publishTimeout);
      client.publish(topic, payload, options, (error) => {
        if (timer !== undefined) clearTimeout(timer);
        if (done) return;
        done = true;
        if (error === undefined || error === null) resolve();
        else reject(this.publishError(actionId, topic, error));
      });
    });
  }

  private publishError(actionId: string, topic: string, error: Error & { code?: unknown }): SinkWriteError {
    const code = typeof error.code === 'number' ? error.code : undefined;
    // An error without a reason code is the connection's (closed, disconnecting): worth another try.
    const retriable = code === undefined || RETRIABLE_REASON_CODES.has(code);
    return new SinkWriteError(this.id, `mqtt action "${actionId}": the publish to "${topic}" on ${this.where} failed: ${error.message}`, { retriable, cause: error });
  }

  private clientOptions(): IClientOptions {
    const c = this.config;
    return {
      manualConnect: true,
      protocolVersion: c.protocolVersion,
      clientId: c.clientId ?? `sluice-pub-${c.id}-${randomBytes(4).toString('hex')}`,
      clean: true,
      keepalive: c.keepalive,
      connectTimeout: c.connectTimeout,
      reconnectPeriod: c.reconnectPeriod,
      queueQoSZero: false,
      ...(c.username !== undefined && { username: c.username }),
      ...(c.password !== undefined && { password: c.password }),
      ...this.tls,
    };
  }

  private firstConnection(client: MqttClient, signal: AbortSignal): Promise<void> {
    return firstConnection(client, signal,
      (reason, cause) => new NotConnectedError(this.id, `mqtt connector "${this.id}" cannot connect to ${this.where}: ${reason}`, cause === undefined ? {} : { cause }),
      () => this.lastError);
  }


  private async closeClient(force: boolean): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    // end() during a connection attempt completes before the socket's 'close' arrives, and that late
    // 'close' would schedule a reconnection of the ended client: switch reconnecting off first.
    client.options.reconnectPeriod = 0;
    await client.endAsync(force || !client.connected);
  }
}

/** One rule's republish: renders each output and publishes it through the connector's connection. */
export class MqttPublishAction implements SinkAction {
  private pending = 0;
  readonly metricKinds = MQTT_PUBLISH_METRIC_KINDS;

  constructor(
    readonly id: string,
    readonly settings: MqttPublishActionSettings,
    private readonly renderer: PublishRenderer,
    private readonly sink: MqttPublishSink,
  ) {}

  /** The topic when it is not templated; undefined otherwise. */
  get constantTopic(): string | undefined {
    return this.renderer.constantTopic;
  }

  send(output: RuleOutput, _message: Message): Promise<void> {
    let rendered;
    try {
      rendered = this.renderer.render(output);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const options: IClientPublishOptions = {
      qos: rendered.qos,
      retain: rendered.retain,
      ...(rendered.userProperties !== undefined && { properties: { userProperties: rendered.userProperties } }),
    };
    this.pending++;
    return this.sink.publish(this.id, rendered.topic, rendered.payload, options).finally(() => {
      this.pending--;
    });
  }

  /** Publishes awaiting their acknowledgement (or, at QoS 0, their write). */
  metrics(): MqttPublishMetrics {
    return { inflight: this.pending };
  }
}

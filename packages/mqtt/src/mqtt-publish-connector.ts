import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  type ActionContext, ConfigError, type ConnectionTestReport, type ConnectorStatus, IntegrationError, type Logger, type Message, NotConnectedError,
  type RuleOutput, type Connector, type Action, type ActionMetricKind, ActionWriteError,
} from '@sluice/core';
import type { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';
import { type MqttClientFactory, setNoDelay } from './mqtt-source';
import { type MqttPublishActionSettings, type MqttPublishConnectorConfig, parseMqttPublishActionSettings } from './mqtt-publish-config';
import { describeUrl, type TlsMaterial } from './mqtt-source-config';
import { PublishRenderer } from './publish-renderer';
import { firstConnection } from './first-connection';

/**
 * MQTT 5 reason codes of a PUBACK/PUBREC that say "not now" rather than "never": Quota exceeded (0x97)
 * and Packet Identifier in use (0x91). Every other failure code (Not authorized, Topic Name invalid,
 * Payload format invalid ...) would refuse the same publish again.
 */
const RETRIABLE_REASON_CODES = new Set([0x91, 0x97]);

/** A QoS 1/2 publish awaiting its PUBACK/PUBCOMP, as the timeout sweep sees it. */
interface PendingPublish {
  readonly client: MqttClient;
  /** performance.now() after which the send fails. */
  readonly deadline: number;
  /** mqtt.js's packet id, known once mqtt.js has stored the packet (it may queue the publish first). */
  messageId: number | undefined;
  readonly expire: () => void;
}

export type MqttPublishMetrics = {
  readonly 'inflight': number;
};

export const MQTT_PUBLISH_METRIC_KINDS = { inflight: 'gauge' } as const satisfies Record<keyof MqttPublishMetrics, ActionMetricKind>;

/**
 * Publishes rule outputs to an MQTT broker (EMQX's "republish" action, against any broker): one mqtt.js
 * connection per connector, shared by its actions. A send resolves once the broker has the publish as
 * its QoS promises (QoS 0: written to the socket; 1: PUBACK; 2: PUBCOMP).
 */
export class MqttPublishConnector implements Connector {
  readonly id: string;
  private client: MqttClient | undefined;
  private state: ConnectorStatus = { state: 'disconnected', reason: 'not started' };
  private lastError: string | undefined;
  private readonly where: string;
  /**
   * QoS 1/2 publishes awaiting their acknowledgement, oldest first: every one waits the same
   * publishTimeout, so insertion order is deadline order and one timer, armed for the oldest, serves all.
   */
  private readonly awaitingAck = new Set<PendingPublish>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: MqttPublishConnectorConfig,
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
    return new MqttPublishAction(context.id, parsed, new PublishRenderer({ connectorId: this.id, actionId: context.id }, parsed, context.templates), this);
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.client !== undefined) throw new IntegrationError('ERR_INTERNAL', `mqtt connector "${this.id}" was already started`);
    signal.throwIfAborted();
    const client = this.createClient(this.clientOptions());
    this.client = client;
    client.on('connect', () => {
      setNoDelay(client); // small QoS 1 PUBLISHes wait for the broker's delayed ACK with Nagle on
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
    if (options.qos !== 1 && options.qos !== 2) {
      return new Promise<void>((resolve, reject) => {
        client.publish(topic, payload, options, (error) => {
          if (error === undefined || error === null) resolve();
          else reject(this.publishError(actionId, topic, error));
        });
      });
    }
    const ack = options.qos === 1 ? 'PUBACK' : 'PUBCOMP';
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = {
        client,
        deadline: performance.now() + this.config.publishTimeout,
        messageId: undefined,
        expire: () => reject(new ActionWriteError({ connectorId: this.id, actionId }, `mqtt action "${actionId}": no ${ack} from ${this.where} within ${this.config.publishTimeout} ms for a publish to "${topic}"; mqtt.js will not send it again`, { retriable: true })),
      };
      this.awaitingAck.add(pending);
      this.armSweep();
      // mqtt.js calls cbStorePut right after it has allocated the packet id and stored the packet, in the
      // same synchronous run with its in-memory store, so the last allocated id is this publish's. It is
      // also called with an error, and no id, when a queued publish is dropped on a close.
      const cbStorePut = (error?: unknown): void => {
        if (error !== undefined || pending.messageId !== undefined) return;
        pending.messageId = client.getLastMessageId();
        // Timed out while mqtt.js still held it in its queue: it goes out once now, but is not kept for
        // resending. Not from inside mqtt.js's queue processing, which would run this queued publish again.
        if (!this.awaitingAck.has(pending)) queueMicrotask(() => this.forget(pending));
      };
      client.publish(topic, payload, { ...options, cbStorePut }, (error) => {
        if (!this.awaitingAck.delete(pending)) return; // it timed out: already rejected
        if (this.awaitingAck.size === 0) this.disarmSweep();
        if (error === undefined || error === null) {
          resolve();
          return;
        }
        // mqtt.js drops the packet itself on a PUBACK/PUBREC failure code; this covers any other error.
        this.forget(pending);
        reject(this.publishError(actionId, topic, error));
      });
    });
  }

  /**
   * Takes a failed publish out of mqtt.js's outgoing state. mqtt.js keeps QoS 1/2 packets until they are
   * acknowledged and sends them again on every reconnection; a publish the broker refuses by closing the
   * connection (larger than its maximum packet size, for one) would make the connector reconnect and
   * resend it for ever. The send has failed as retriable, so the message is the source broker's again.
   */
  private forget(pending: PendingPublish): void {
    // removeOutgoingMessage calls the publish callback ("Message removed"); it finds the publish settled.
    if (pending.messageId !== undefined) pending.client.removeOutgoingMessage(pending.messageId);
  }

  /** Arms the sweep for the oldest publish awaiting its acknowledgement, unless it is armed already. */
  private armSweep(): void {
    if (this.sweepTimer !== undefined) return;
    const oldest = this.awaitingAck.values().next();
    if (oldest.done === true) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweep();
    }, Math.max(0, Math.ceil(oldest.value.deadline - performance.now())));
  }

  /** Nothing awaits an acknowledgement any more: no timer left behind (it would hold a process or a test run open). */
  private disarmSweep(): void {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Fails every publish whose deadline has passed (they are the oldest), then re-arms for the next. */
  private sweep(): void {
    const now = performance.now();
    for (const pending of this.awaitingAck) {
      if (pending.deadline > now) break;
      this.awaitingAck.delete(pending);
      this.forget(pending);
      pending.expire();
    }
    this.armSweep();
  }

  private publishError(actionId: string, topic: string, error: Error & { code?: unknown }): ActionWriteError {
    const code = typeof error.code === 'number' ? error.code : undefined;
    // An error without a reason code is the connection's (closed, disconnecting): worth another try.
    const retriable = code === undefined || RETRIABLE_REASON_CODES.has(code);
    return new ActionWriteError({ connectorId: this.id, actionId }, `mqtt action "${actionId}": the publish to "${topic}" on ${this.where} failed: ${error.message}`, { retriable, cause: error });
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
export class MqttPublishAction implements Action {
  private pending = 0;
  readonly metricKinds = MQTT_PUBLISH_METRIC_KINDS;

  constructor(
    readonly id: string,
    readonly settings: MqttPublishActionSettings,
    private readonly renderer: PublishRenderer,
    private readonly connector: MqttPublishConnector,
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
    return this.connector.publish(this.id, rendered.topic, rendered.payload, options).finally(() => {
      this.pending--;
    });
  }

  /** Publishes awaiting their acknowledgement (or, at QoS 0, their write). */
  metrics(): MqttPublishMetrics {
    return { inflight: this.pending };
  }
}

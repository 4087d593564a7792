import { randomBytes } from 'node:crypto';
import {
  type ConnectorStatus,
  IntegrationError,
  type Logger,
  type Message,
  type MessageReceiver,
  NotConnectedError,
  type Settle,
  type Source,
} from '@sluice/core';
import type { IClientOptions, IClientSubscribeOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import { type AckSlot, AckWindow } from './ack-window';
import { Fifo } from './fifo';
import { installAckHook } from './mqtt-ack-hook';
import { MessageFactory } from './message-factory';
import { type MqttSourceConfig, type TlsMaterial, describeUrl } from './mqtt-source-config';
import { firstConnection } from './first-connection';

/** Builds an mqtt.js client that has not connected yet (`manualConnect: true` is always set). */
export type MqttClientFactory = (options: IClientOptions) => MqttClient;

/** A message received on a connection and not handed to the receiver yet (paused, or window full). */
interface Waiting {
  readonly message: Message;
  readonly slot: AckSlot | undefined;
}

/**
 * What belongs to one connection. Acknowledgements are only valid on the connection that received
 * the PUBLISH; when it ends, the whole link is dropped and the broker redelivers what it held.
 */
interface Link {
  readonly window: AckWindow;
  readonly waiting: Fifo<Waiting>;
  /** QoS 1/2 messages handed to the receiver and not acknowledged yet. */
  outstanding: number;
  dead: boolean;
}

const noopSettle: Settle = () => {};

/**
 * Subscribes to an MQTT broker with mqtt.js 5 and hands each message to the runtime.
 *
 * at-least-once: a QoS 1/2 message is acknowledged only after its settle() (see mqtt-ack-hook.ts and
 * ack-window.ts); up to `maxInflight` messages are with the receiver at once; acknowledgements go out
 * in arrival order. settle(error) drops the connection, so the persistent session brings the message
 * back (dup=true). at-most-once: acknowledged as soon as it is handed over.
 */
export class MqttSource implements Source {
  readonly id: string;
  private client: MqttClient | undefined;
  private receiver: MessageReceiver | undefined;
  private link: Link | undefined;
  private filters: string[] = [];
  private paused = false;
  private stopped = false;
  private draining = false;
  private everConnected = false;
  private warnedWindow = false;
  private lastError: string | undefined;
  /** Set when pause() ended a client that had lost its connection (closeClient waits for it). */
  private ending: Promise<void> | undefined;
  private state: ConnectorStatus = { state: 'disconnected', reason: 'not started' };
  private readonly factory: MessageFactory;
  private readonly atLeastOnce: boolean;
  private readonly where: string;

  constructor(
    private readonly config: MqttSourceConfig,
    private readonly createClient: MqttClientFactory,
    private readonly logger: Logger,
    private readonly tls: TlsMaterial | undefined = undefined,
  ) {
    this.id = config.id;
    this.factory = new MessageFactory(config.id, config.identity);
    this.atLeastOnce = config.delivery === 'at-least-once';
    this.where = describeUrl(config.url);
  }

  async start(receiver: MessageReceiver, filters: readonly string[], signal: AbortSignal): Promise<void> {
    if (this.client !== undefined) throw new IntegrationError('ERR_INTERNAL', `mqtt source "${this.id}" was already started`);
    signal.throwIfAborted();
    // start() may come again after stop(): a failed in-place replacement puts this source back (replacesInPlace)
    this.paused = false;
    this.stopped = false;
    this.ending = undefined;
    this.receiver = receiver;
    this.filters = [...new Set(filters)];
    const client = this.createClient(this.clientOptions());
    this.client = client;
    installAckHook(client, {
      onPublish: (packet) => this.onPublish(packet),
      onAck: (messageId, send) => this.onAck(messageId, send),
    });
    client.on('connect', (connack) => this.onConnect(connack));
    client.on('close', () => this.onClose());
    client.on('error', (error) => this.onError(error));
    client.on('reconnect', () => {
      this.state = { state: 'connecting', reason: this.lastError ?? 'reconnecting' };
    });
    if (this.atLeastOnce && this.config.qos > 0 && !this.config.session.persistent) {
      this.logger.warn('at-least-once without a persistent session: what is unacknowledged when the connection drops is lost', { source: this.id });
    }
    this.state = { state: 'connecting' };
    client.connect();
    try {
      await this.firstConnection(client, signal);
      await this.subscribe(this.filters);
    } catch (error) {
      await this.closeClient(true);
      this.client = undefined;
      this.state = { state: 'disconnected', reason: (error as Error).message };
      throw error;
    }
  }

  async updateFilters(filters: readonly string[]): Promise<void> {
    const next = [...new Set(filters)];
    const added = next.filter((f) => !this.filters.includes(f));
    const removed = this.filters.filter((f) => !next.includes(f));
    this.filters = next;
    if (removed.length > 0) await this.client?.unsubscribeAsync(removed.map((f) => this.subscriptionTopic(f)));
    await this.subscribe(added);
  }

  /**
   * The broker lets one connection hold a client id: a replacement with the same fixed id would take the
   * session from this one and this one (draining) would take it back at each reconnect. So it starts only
   * once this one has stopped, and picks up what this one left unacknowledged.
   */
  replacesInPlace(previous: Source): boolean {
    return previous instanceof MqttSource && this.config.clientId !== undefined && previous.config.clientId === this.config.clientId;
  }

  /**
   * No new messages, and no reconnecting from now on (replaced, removed or stopping): a new connection
   * could only bring messages this source will not hand over, and with a fixed client id it would take the
   * session from the source replacing this one. Acknowledgements still go out on the live connection.
   */
  pause(): void {
    this.paused = true;
    const client = this.client;
    if (client === undefined) return;
    client.options.reconnectPeriod = 0;
    // A reconnection already scheduled (the connection was lost) is cancelled by ending the client: with
    // no connection there is nothing left to acknowledge.
    if (!client.connected) this.ending ??= client.endAsync(true).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.paused = true;
    this.stopped = true;
    // Acknowledgements are written as soon as they are due, so everything settled is on the wire
    // already. What is still unsettled stays unacknowledged: the broker's session keeps it.
    this.dropLink();
    await this.closeClient(false);
    this.client = undefined;
    this.state = { state: 'stopped' };
  }

  status(): ConnectorStatus {
    return this.state;
  }

  private clientOptions(): IClientOptions {
    const c = this.config;
    const v5 = c.protocolVersion === 5;
    return {
      manualConnect: true,
      protocolVersion: c.protocolVersion,
      clientId: c.clientId ?? `sluice-${c.id}-${randomBytes(4).toString('hex')}`,
      clean: !c.session.persistent,
      keepalive: c.keepalive,
      connectTimeout: c.connectTimeout,
      reconnectPeriod: c.reconnectPeriod,
      resubscribe: true,
      queueQoSZero: false,
      ...(c.username !== undefined && { username: c.username }),
      ...(c.password !== undefined && { password: c.password }),
      // Receive Maximum makes an MQTT 5 broker respect the window; 3.1.1 has no way to say it.
      ...(v5 && {
        properties: {
          receiveMaximum: c.maxInflight,
          ...(c.session.persistent && { sessionExpiryInterval: c.session.sessionExpiry }),
        },
      }),
      ...this.tls,
    };
  }

  private firstConnection(client: MqttClient, signal: AbortSignal): Promise<void> {
    return firstConnection(client, signal,
      (reason, cause) => new NotConnectedError(this.id, `mqtt source "${this.id}" cannot connect to ${this.where}: ${reason}`, cause === undefined ? {} : { cause }),
      () => this.lastError);
  }


  private async subscribe(filters: readonly string[]): Promise<void> {
    const client = this.client;
    if (client === undefined || filters.length === 0) return;
    const request: Record<string, IClientSubscribeOptions> = {};
    for (const filter of filters) request[this.subscriptionTopic(filter)] = { qos: this.config.qos };
    let granted: Awaited<ReturnType<MqttClient['subscribeAsync']>>;
    try {
      granted = await client.subscribeAsync(request);
    } catch (error) {
      // MQTT 5: mqtt.js rejects with the SUBACK's reason string (e.g. "Subscribe error: Not authorized").
      const topics = Object.keys(request).join(', ');
      throw new NotConnectedError(this.id, `mqtt source "${this.id}": ${this.where} refused the subscription to ${topics}: ${(error as Error).message}`, { cause: error });
    }
    const refused = granted.filter((grant) => grant.qos >= 0x80);
    if (refused.length > 0) {
      const list = refused.map((grant) => `${grant.topic} (reason code ${grant.qos})`).join(', ');
      throw new NotConnectedError(this.id, `mqtt source "${this.id}": ${this.where} refused the subscription to ${list}`);
    }
  }

  private subscriptionTopic(filter: string): string {
    return this.config.shareGroup === undefined ? filter : `$share/${this.config.shareGroup}/${filter}`;
  }

  private onConnect(connack: IConnackPacket): void {
    this.dropLink();
    const link: Link = { window: new AckWindow((sent) => this.onAcked(link, sent)), waiting: new Fifo<Waiting>(), outstanding: 0, dead: false };
    this.link = link;
    if (this.config.session.persistent && !connack.sessionPresent && this.everConnected) {
      this.logger.warn('the broker kept no session for this client: messages published while disconnected may be lost', { source: this.id });
    }
    if (this.everConnected) this.logger.info('reconnected', { source: this.id, url: this.where });
    this.everConnected = true;
    this.lastError = undefined;
    this.state = { state: 'connected' };
  }

  private onClose(): void {
    this.dropLink();
    if (this.stopped) return;
    if (this.state.state === 'connected') {
      this.logger.warn('connection lost', { source: this.id, url: this.where, reason: this.lastError ?? 'closed' });
    }
    this.state = { state: 'disconnected', reason: this.lastError ?? 'connection closed' };
  }

  private onError(error: Error): void {
    // Errors also arrive while reconnecting, once per attempt: keep the latest for status().
    this.lastError = error.message;
    this.logger.debug('mqtt client error', { source: this.id, reason: error.message });
  }

  private onPublish(packet: IPublishPacket): void {
    const link = this.link;
    if (link === undefined || link.dead) return; // its acknowledgement is swallowed: the broker redelivers
    const message = this.factory.create(packet, Date.now());
    const slot = packet.qos > 0 ? link.window.open(packet.messageId as number) : undefined;
    if (link.waiting.length === 0 && this.canDeliver(link, slot)) {
      this.deliver(link, message, slot);
      return;
    }
    link.waiting.push({ message, slot });
    if (!this.paused && !this.warnedWindow) {
      this.warnedWindow = true;
      this.logger.warn('the broker sends more unacknowledged messages than maxInflight; the extra ones wait (set the broker limit or use MQTT 5)', {
        source: this.id,
        maxInflight: this.config.maxInflight,
      });
    }
  }

  private onAck(messageId: number, send: () => void): boolean {
    const link = this.link;
    // No live connection state for it: never acknowledge what was not handed over and settled.
    if (link === undefined || link.dead) return true;
    if (link.window.arm(messageId, send)) return true;
    this.logger.error('an acknowledgement matched no message waiting for one; it is held back', { source: this.id, messageId });
    return true;
  }

  private canDeliver(link: Link, slot: AckSlot | undefined): boolean {
    return !this.paused && (slot === undefined || link.outstanding < this.config.maxInflight);
  }

  private deliver(link: Link, message: Message, slot: AckSlot | undefined): void {
    const receiver = this.receiver as MessageReceiver;
    if (slot === undefined) {
      this.handOver(receiver, message, noopSettle);
      return;
    }
    link.outstanding++;
    if (!this.atLeastOnce) {
      link.window.settle(slot);
      this.handOver(receiver, message, noopSettle);
      return;
    }
    let settled = false;
    this.handOver(receiver, message, (error?: Error) => {
      if (settled) return;
      settled = true;
      if (link.dead) return;
      if (error === undefined) link.window.settle(slot);
      else this.fail(link, error);
    });
  }

  private handOver(receiver: MessageReceiver, message: Message, settle: Settle): void {
    try {
      receiver.receive(message, settle);
    } catch (error) {
      // The receiver contract says it never throws; if it does, treat the message as not stored.
      this.logger.error('the receiver threw; treating the message as not stored', { source: this.id, reason: (error as Error).message });
      settle(error as Error);
    }
  }

  private onAcked(link: Link, sent: number): void {
    link.outstanding -= sent;
    if (link.waiting.length > 0) this.drain(link);
  }

  /** Hands waiting messages over while the window has room; re-entrant calls (instant settles) return at once. */
  private drain(link: Link): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!link.dead && link.waiting.length > 0) {
        const next = link.waiting.peek() as Waiting;
        if (!this.canDeliver(link, next.slot)) break;
        link.waiting.shift();
        this.deliver(link, next.message, next.slot);
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * A message could not be stored: acknowledge neither it nor anything after it, and drop the
   * connection so that the session brings them back (mqtt.js reconnects after reconnectPeriod).
   * A non-zero PUBACK reason code would not do: the broker treats any PUBACK as delivered.
   */
  private fail(link: Link, error: Error): void {
    if (link !== this.link) return;
    this.dropLink();
    this.logger.warn('a message could not be stored; reconnecting so the broker delivers it again', { source: this.id, reason: error.message });
    this.lastError = `reconnecting after a message could not be stored: ${error.message}`;
    this.state = { state: 'connecting', reason: this.lastError };
    // end(), not destroy(): mqtt-packet corks the socket until the next tick, and a destroy would
    // discard acknowledgements released just before the failure (they would come back as duplicates).
    const stream = this.client?.stream;
    if (stream !== undefined) {
      stream.end();
      setTimeout(() => stream.destroy(), 2_000).unref();
    }
  }

  private dropLink(): void {
    const link = this.link;
    if (link === undefined) return;
    link.dead = true;
    link.window.discard();
    link.waiting.clear();
    this.link = undefined;
  }

  private async closeClient(force: boolean): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    if (this.ending !== undefined) {
      await this.ending;
      return;
    }
    // end() during a connection attempt completes before the socket's 'close' arrives, and that late
    // 'close' would schedule a reconnection of the ended client: switch reconnecting off first.
    client.options.reconnectPeriod = 0;
    await client.endAsync(force || !client.connected);
  }
}

import { randomBytes } from 'node:crypto';
import {
  type ConnectorStatus,
  Fifo,
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
  /** at-most-once: slots of messages handed over this turn of the event loop, settled together (see deliver). */
  handedOver: AckSlot[];
  dead: boolean;
}

const noopSettle: Settle = () => {};

/**
 * mqtt.js calls its `debug` logger several times per packet (`this.log(...)`), and `debug` checks whether
 * its namespace is on at every call: ~1.5 % of the CPU per message in the bench profile. When mqttjs:client
 * is off as the client is built, its calls go to a no-op instead (enabling it later, at run time, is not
 * seen: set DEBUG before the source starts). mqtt-packet's own calls are out of reach.
 */
function quietDebugLog(client: MqttClient): void {
  const log = client.log as ((...args: unknown[]) => void) & { enabled?: unknown };
  // `debug`'s getter says undefined (not false) until some namespace was enabled
  if (typeof log === 'function' && 'enabled' in log && !log.enabled) client.log = noopLog;
}

const noopLog = (): void => {};

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
  /** at-most-once: the release of `link.handedOver` scheduled for the end of this turn of the event loop. */
  private releaseTimer: NodeJS.Immediate | undefined;
  /** Set when pause() ended a client that had lost its connection (closeClient waits for it). */
  private ending: Promise<void> | undefined;
  /** Set when a share-group member began to leave (pause() unsubscribed): resolves true once unsubscribed. */
  private leaving: Promise<boolean> | undefined;
  /** Called when the window empties while leaving (see waitUnacknowledged). */
  private onWindowEmpty: (() => void) | undefined;
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
    this.leaving = undefined;
    this.receiver = receiver;
    this.filters = [...new Set(filters)];
    const client = this.createClient(this.clientOptions());
    this.client = client;
    quietDebugLog(client);
    installAckHook(client, {
      onPublish: (packet) => this.onPublish(packet),
      onAck: (messageId, send) => this.onAck(messageId, send),
    });
    client.on('connect', (connack) => this.onConnect(connack));
    // mqtt.js leaves Nagle on: small PUBACKs then wait for the broker's delayed ACK (HiveMQ: ~1,000 msg/s
    // for one QoS 1 subscriber). Set on every connection: each reconnection builds a new socket.
    client.on('connect', () => setNoDelay(client));
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
    else if (this.leavesGroup()) this.leaving ??= this.unsubscribeAll(client);
  }

  async stop(): Promise<void> {
    this.paused = true;
    this.stopped = true;
    // Acknowledgements are written as soon as they are due, so everything settled is on the wire
    // already, except at-most-once's of this turn of the event loop: released now, before the link goes.
    // What is still unsettled stays unacknowledged: the broker's session keeps it.
    this.releaseHandedOver();
    const client = this.client;
    if (this.leaving === undefined && client !== undefined && client.connected && this.ending === undefined && this.leavesGroup()) {
      this.leaving = this.unsubscribeAll(client);
      if (this.link !== undefined) this.drain(this.link);
    }
    const leave = this.leaving === undefined ? 'none' : await this.finishLeaving(this.leaving);
    this.leaving = undefined;
    this.dropLink();
    // mqtt.js's end() waits for the UNSUBACK: one that never came would hold the stop for ever.
    await this.closeClient(leave === 'no-unsuback', leave === 'end-session');
    this.client = undefined;
    this.state = { state: 'stopped' };
  }

  /** A persistent member of a share group leaves it on stop unless told to keep its session. */
  private leavesGroup(): boolean {
    const c = this.config;
    return c.shareGroup !== undefined && c.session.persistent && c.session.shareGroupLeave === 'end-session' && this.filters.length > 0;
  }

  /** UNSUBSCRIBE from the shared filters, so the broker routes nothing more to this member. */
  private unsubscribeAll(client: MqttClient): Promise<boolean> {
    const topics = this.filters.map((f) => this.subscriptionTopic(f));
    // Messages the broker had queued for this member before the UNSUBACK still arrive: they are handed
    // over during the leave (see canDeliver), or the session could never end.
    const link = this.link;
    if (link !== undefined) queueMicrotask(() => this.drain(link));
    return client.unsubscribeAsync(topics).then(
      () => true,
      (error: unknown) => {
        this.logger.warn('leaving the share group: the unsubscription failed; the session is kept', { source: this.id, reason: (error as Error).message });
        return false;
      },
    );
  }

  /**
   * Waits (at most leaveDrainTimeout in all) for the unsubscription and for every message delivered to this
   * member to be acknowledged, and says how to close: `end-session` only when unsubscribed with nothing left
   * unacknowledged; `keep-session` otherwise; `no-unsuback` when the broker never confirmed the unsubscription.
   */
  private async finishLeaving(leaving: Promise<boolean>): Promise<'end-session' | 'keep-session' | 'no-unsuback'> {
    const started = Date.now();
    const timeout = this.config.session.leaveDrainTimeout;
    const unsubscribed = await within(leaving, timeout);
    const left = await this.waitUnacknowledged(Math.max(0, timeout - (Date.now() - started)));
    const link = this.link;
    if (unsubscribed === undefined) {
      this.logger.warn('leaving the share group: no UNSUBACK within leaveDrainTimeout; the session is kept', { source: this.id });
      return 'no-unsuback';
    }
    if (!unsubscribed || link === undefined || link.dead) return 'keep-session';
    if (left > 0) {
      this.logger.warn('leaving the share group with unacknowledged messages: the session is kept for them', {
        source: this.id,
        unacknowledged: left,
        clientId: this.config.clientId,
        action: `start a Sluice source with client id "${this.config.clientId ?? ''}" to process them, or the broker discards them when the session expires (${this.config.session.sessionExpiry} s)`,
      });
      return 'keep-session';
    }
    this.logger.info('left the share group and ended the session', { source: this.id, group: this.config.shareGroup, drainMs: Date.now() - started });
    return 'end-session';
  }

  /** Resolves with the number of messages still unacknowledged when none is left or after timeoutMs. */
  private async waitUnacknowledged(timeoutMs: number): Promise<number> {
    const pending = (): number => (this.link === undefined || this.link.dead ? 0 : this.link.window.size);
    if (pending() > 0 && timeoutMs > 0) {
      await within(new Promise<void>((resolve) => (this.onWindowEmpty = resolve)), timeoutMs);
      this.onWindowEmpty = undefined;
    }
    return pending();
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
    const link: Link = { window: new AckWindow((sent) => this.onAcked(link, sent)), waiting: new Fifo<Waiting>(), outstanding: 0, handedOver: [], dead: false };
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
    return (!this.paused || this.leaving !== undefined) && (slot === undefined || link.outstanding < this.config.maxInflight);
  }

  private deliver(link: Link, message: Message, slot: AckSlot | undefined): void {
    const receiver = this.receiver as MessageReceiver;
    if (slot === undefined) {
      this.handOver(receiver, message, noopSettle);
      return;
    }
    link.outstanding++;
    if (!this.atLeastOnce) {
      // Acknowledged on receipt, but together: mqtt.js handles one packet per tick and mqtt-packet uncorks
      // the socket on the next one, so a PUBACK released per message was a socket write per message (writev
      // took 15% of at-most-once's CPU, which then cost more per message than at-least-once, whose
      // acknowledgements go out in bursts as Kafka answers). Settled once per turn of the event loop, the
      // acknowledgements of what arrived in one read leave in one write.
      link.handedOver.push(slot);
      this.releaseTimer ??= setImmediate(this.releaseHandedOver);
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
    // The window is full: nothing more comes until acknowledgements go out, so an action's linger would only
    // hold what the window waits for
    if (link.outstanding === this.config.maxInflight) receiver.stalled?.();
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

  private readonly releaseHandedOver = (): void => {
    this.releaseTimer = undefined;
    const link = this.link;
    if (link === undefined || link.handedOver.length === 0) return;
    // a fresh array first: the release drains waiting messages, which are handed over (and pushed) at once
    const slots = link.handedOver;
    link.handedOver = [];
    link.window.settleAll(slots);
  };

  private onAcked(link: Link, sent: number): void {
    link.outstanding -= sent;
    if (link.waiting.length > 0) this.drain(link);
    if (this.onWindowEmpty !== undefined && link.window.size === 0) this.onWindowEmpty();
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
    link.handedOver = [];
    if (this.releaseTimer !== undefined) clearImmediate(this.releaseTimer);
    this.releaseTimer = undefined;
    this.link = undefined;
  }

  /** @param endSession MQTT 5: DISCONNECT with Session Expiry Interval 0, so the broker forgets the session. */
  private async closeClient(force: boolean, endSession = false): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    if (this.ending !== undefined) {
      await this.ending;
      return;
    }
    // end() during a connection attempt completes before the socket's 'close' arrives, and that late
    // 'close' would schedule a reconnection of the ended client: switch reconnecting off first.
    client.options.reconnectPeriod = 0;
    const v5End = endSession && this.config.protocolVersion === 5 && client.connected;
    if (v5End) await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
    else await client.endAsync(force || !client.connected);
  }
}

/** TCP_NODELAY on the client's socket (net and TLS sockets; a WebSocket stream has no such call). */
export function setNoDelay(client: MqttClient): void {
  const stream = client.stream as unknown as { setNoDelay?: (noDelay: boolean) => unknown } | undefined;
  if (typeof stream?.setNoDelay === 'function') stream.setNoDelay(true);
}

/** Resolves with the promise's value, or undefined once ms passed (the timer does not hold the process). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

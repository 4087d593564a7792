import { timingSafeEqual } from 'node:crypto';
import { type AddressInfo, type Server, createServer } from 'node:net';
import {
  type ConnectorStatus,
  IntegrationError,
  type Logger,
  type Message,
  type MessageReceiver,
  NotConnectedError,
  type Settle,
  type Source,
  ThrottledLog,
  TopicRouter,
  eventTopicsMatching,
  isEventTopic,
} from '@sluice/core';
import type { Aedes, AedesPublishPacket, AuthenticateError, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes' with { 'resolution-mode': 'import' };
import { AckWindow } from './ack-window';
import type { AedesSourceConfig } from './aedes-source-config';
import {
  BROKER_EVENT_TOPICS,
  BrokerEvent,
  type ConnectionInfo,
  type RoutedMessage,
  authnColumns,
  authzColumns,
  connackColumns,
  connectedColumns,
  deliveryColumns,
  disconnectedColumns,
  droppedColumns,
  eventMessage,
  subscriptionColumns,
} from './broker-events';
import { type AedesModule, loadAedes } from './load-aedes';
import { type MessageEmitter, RoutingProbe } from './routing-probe';

/** What the source knows about one connected device. */
interface Device {
  readonly username: string | undefined;
  readonly peerHost: string | undefined;
  /** Orders this device's PUBACKs; a new one per connection (a client object lives for one connection). */
  readonly window: AckWindow;
}

const noopSettle: Settle = () => {};

/**
 * The publisher of the last `bound` messages handed to subscribers, by Aedes's per-publish counter. Past the
 * bound the oldest entry goes (a Map keeps insertion order), so acks of recent deliveries keep their publisher.
 */
export class RecentPublishers {
  private readonly byCounter = new Map<number, string | undefined>();

  constructor(private readonly bound: number) {}

  remember(brokerCounter: number, clientId: string | undefined): void {
    if (this.byCounter.size >= this.bound && !this.byCounter.has(brokerCounter)) {
      const oldest = this.byCounter.keys().next();
      if (oldest.done !== true) this.byCounter.delete(oldest.value);
    }
    this.byCounter.set(brokerCounter, clientId);
  }

  get(brokerCounter: number): string | undefined {
    return this.byCounter.get(brokerCounter);
  }

  get size(): number {
    return this.byCounter.size;
  }
}
const MAX_PENDING_ACKS = 10_000;
const BAD_USERNAME_OR_PASSWORD = 4;

/**
 * An embedded MQTT broker (Aedes 1.x, MQTT 3.1.1): devices connect to Sluice itself, so each message
 * carries the publisher's real client id, username and address. Devices may also subscribe: it is a
 * broker, and messages reach subscribers once Sluice has settled them.
 *
 * at-least-once: the PUBACK (QoS 1) or PUBREC (QoS 2) goes back to the device only after settle().
 * The hook is Aedes's `authorizePublish`, which runs before the broker stores, routes or acknowledges
 * a PUBLISH (`published` runs after the QoS 1 PUBACK was written, so it cannot hold it back). Its
 * callback is called in arrival order per device (AckWindow). settle(error) answers the callback with
 * the error, on which Aedes closes that device's connection without acknowledging; the device resends
 * (dup=true) when it reconnects.
 */
export class AedesSource implements Source {
  readonly id: string;
  /** The client and session events this broker reports (broker-events.ts; docs/mqtt.md "Events of the embedded broker"). */
  readonly eventTopics: readonly string[] = BROKER_EVENT_TOPICS;
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private receiver: MessageReceiver | undefined;
  private router = new TopicRouter<true>();
  private readonly devices = new WeakMap<Client, Device>();
  private paused = false;
  private state: ConnectorStatus = { state: 'disconnected', reason: 'not started' };
  private bound: AddressInfo | undefined;
  private readonly atLeastOnce: boolean;
  /** The event topics some rule selects: an event outside it is never built (its handler returns at once). */
  private selected: ReadonlySet<string> = new Set();
  private readonly connections = new WeakMap<Client, ConnectionInfo>();
  /** The connected client of each client id, for takeovers and for the publisher of a delivered message. */
  private readonly clientsById = new Map<string, Client>();
  /** Events handed to the runtime and not settled yet (bounded by config.maxEventsInFlight). */
  private eventsInFlight = 0;
  private eventsDropped = 0;
  private readonly warnings: ThrottledLog;
  private readonly probe = new RoutingProbe((message) => this.onUnrouted(message as RoutedMessage & { clientId?: string }));
  private stopping = false;
  /**
   * The publisher of each message handed to a subscriber, by Aedes's per-publish counter, while
   * message.acked is selected: the PUBLISH Aedes gives back with the PUBACK has lost it. Bounded: past
   * MAX_PENDING_ACKS the oldest is forgotten (an ack that late reports from_clientid undefined).
   */
  private readonly publishers = new RecentPublishers(MAX_PENDING_ACKS);

  constructor(
    private readonly config: AedesSourceConfig,
    private readonly logger: Logger,
    private readonly aedes: () => AedesModule = loadAedes,
  ) {
    this.id = config.id;
    this.atLeastOnce = config.delivery === 'at-least-once';
    this.warnings = new ThrottledLog(logger);
  }

  /** Events not handed to the rules because maxEventsInFlight were in flight, since start. */
  get droppedEvents(): number {
    return this.eventsDropped;
  }

  readonly metricKinds = { 'events.dropped': 'counter', 'events.inflight': 'gauge' } as const;

  /** Shown in the source's metrics (`connector`) and on /metrics as sluice_source_events_dropped_total and sluice_source_events_inflight. */
  metrics(): Readonly<Record<string, number>> {
    return { 'events.dropped': this.eventsDropped, 'events.inflight': this.eventsInFlight };
  }

  /** Where the broker listens, once started (useful with port 0). */
  get address(): { readonly host: string; readonly port: number } | undefined {
    return this.bound === undefined ? undefined : { host: this.bound.address, port: this.bound.port };
  }

  async start(receiver: MessageReceiver, filters: readonly string[], signal: AbortSignal): Promise<void> {
    if (this.broker !== undefined) throw new IntegrationError('ERR_INTERNAL', `mqtt broker source "${this.id}" was already started`);
    signal.throwIfAborted();
    this.receiver = receiver;
    // start() may come again after stop(): a failed in-place replacement puts this source back (replacesInPlace)
    this.paused = false;
    this.stopping = false;
    this.applyFilters(filters);
    const broker = new (this.aedes().Aedes)({
      id: `sluice-${this.id}`,
      preConnect: (client, packet, callback) => this.preConnect(client, packet, callback),
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, callback) => this.authorizePublish(client, packet, callback),
      authorizeSubscribe: (client, subscription, callback) => this.authorizeSubscribe(client, subscription, callback),
      authorizeForward: (client, packet) => this.authorizeForward(client, packet),
    });
    // Before listen(): Aedes subscribes its own $SYS listeners there, and every listener must go through the probe.
    this.probe.install((broker as unknown as { mq: MessageEmitter }).mq);
    await broker.listen();
    this.broker = broker;
    this.watchClients(broker);
    broker.on('clientError', (client, error) => this.logger.debug('device connection error', { source: this.id, clientId: client.id, reason: error.message }));
    const server = createServer(broker.handle);
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        server.once('error', reject);
        signal.addEventListener('abort', onAbort, { once: true });
        server.listen(this.config.port, this.config.host, () => {
          server.off('error', reject);
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    } catch (error) {
      await this.close();
      const reason = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is in use' : (error as Error).message;
      this.state = { state: 'disconnected', reason };
      throw new NotConnectedError(this.id, `mqtt broker source "${this.id}" cannot listen on ${this.config.host}:${this.config.port}: ${reason}`, { cause: error });
    }
    server.on('error', (error) => this.logger.error('listener error', { source: this.id, reason: error.message }));
    this.bound = server.address() as AddressInfo;
    this.state = { state: 'connected' };
    this.logger.info('embedded MQTT broker listening', { source: this.id, host: this.bound.address, port: this.bound.port });
  }

  async updateFilters(filters: readonly string[]): Promise<void> {
    this.applyFilters(filters);
  }

  /**
   * Topic filters go to the publish router, `$events/…` filters to the set of selected events. The router has
   * no removal; rebuilding it is cheap and rare (rules changed at run time).
   */
  private applyFilters(filters: readonly string[]): void {
    const router = new TopicRouter<true>();
    const selected = new Set<string>();
    for (const filter of new Set(filters)) {
      if (isEventTopic(filter)) for (const topic of eventTopicsMatching(filter, BROKER_EVENT_TOPICS)) selected.add(topic);
      else router.add(filter, true);
    }
    this.router = router;
    this.selected = selected;
    this.probe.active = selected.has(BrokerEvent.dropped);
  }

  /**
   * Two listeners cannot share a port: a replacement on the same port (0 picks a free one) starts only once
   * this one has stopped. Devices reconnect to the new one and send again what was never acknowledged.
   */
  replacesInPlace(previous: Source): boolean {
    return previous instanceof AedesSource && this.config.port !== 0 && previous.config.port === this.config.port;
  }

  pause(): void {
    this.paused = true;
  }

  /** Closes the listener and every device connection; unsettled publishes were never acknowledged. */
  async stop(): Promise<void> {
    this.paused = true;
    this.stopping = true;
    // A PUBACK released by a settle just before stop() is corked until the next tick (mqtt-packet);
    // closing the connections now would discard it and the device would send the message again.
    await new Promise((resolve) => setImmediate(resolve));
    await this.close();
    this.state = { state: 'stopped' };
  }

  status(): ConnectorStatus {
    return this.state;
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const users = this.config.users;
    const accepted = users === undefined || users.some((user) => user.username === username && samePassword(user.password, password));
    if (this.selected.has(BrokerEvent.authn)) {
      const info = this.connections.get(client);
      if (info !== undefined) this.emitEvent(BrokerEvent.authn, client.id, info, () => authnColumns(info, accepted, users === undefined, Date.now()));
    }
    if (!accepted) {
      const error = Object.assign(new Error('bad username or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError;
      done(error, false);
      return;
    }
    // A connection with the id of a connected one replaces it (Aedes closes the old one): EMQX's reasons.
    const previous = this.clientsById.get(client.id);
    const previousInfo = previous === undefined || previous === client ? undefined : this.connections.get(previous);
    if (previousInfo !== undefined) previousInfo.disconnectReason ??= client.clean ? 'discarded' : 'takenover';
    this.devices.set(client, this.newDevice(client, username));
    done(null, true);
  }

  private newDevice(client: Client, username: string | undefined): Device {
    return { username, peerHost: plainIp((client.conn as { remoteAddress?: string }).remoteAddress), window: new AckWindow() };
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
    if (client === null) {
      callback(null); // published by the broker itself
      return;
    }
    const allowed = !packet.topic.startsWith('$SYS');
    if (this.selected.has(BrokerEvent.authz)) this.authzEvent(client, 'publish', packet.topic, allowed);
    if (!allowed) {
      callback(new Error('$SYS topics are reserved')); // what Aedes's default authorizePublish does
      return;
    }
    // A device publishing to an event topic does not make an event: rules see events only from the broker.
    if (isEventTopic(packet.topic) || this.router.match(packet.topic).length === 0) {
      callback(null); // no rule reads it: a plain broker message
      return;
    }
    // Paused (stopping): neither hand it over nor acknowledge it; the device sends it again later.
    if (this.paused) return;
    let device = this.devices.get(client);
    if (device === undefined) {
      device = this.newDevice(client, undefined);
      this.devices.set(client, device);
    }
    const message: Message = {
      sourceId: this.id,
      topic: packet.topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      clientId: client.id,
      username: device.username,
      peerHost: device.peerHost,
      receivedAt: Date.now(),
      properties: undefined,
    };
    const receiver = this.receiver as MessageReceiver;
    if (packet.qos === 0 || !this.atLeastOnce) {
      callback(null);
      this.handOver(receiver, message, noopSettle);
      return;
    }
    const window = device.window;
    const slot = window.open(packet.messageId ?? 0);
    window.arm(slot.messageId, () => callback(null));
    let settled = false;
    this.handOver(receiver, message, (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error === undefined) {
        window.settle(slot);
        return;
      }
      if (window.isDiscarded) return;
      // Acknowledge neither this one nor anything after it: Aedes closes the connection on the error.
      window.discard();
      this.logger.warn('a message could not be stored; closing the device connection so that it sends again', {
        source: this.id,
        clientId: client.id,
        reason: error.message,
      });
      callback(error);
    });
  }

  /**
   * Records what the CONNECT packet says; every event of this connection reads it. Only while some rule selects
   * events: otherwise a connection costs nothing here (a connection made before events were selected, by a rule
   * change at run time, reports none).
   */
  private preConnect(client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void {
    if (this.selected.size === 0) {
      callback(null, true);
      return;
    }
    const socket = client.conn as { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number };
    const peerHost = plainIp(socket.remoteAddress);
    this.connections.set(client, {
      clientId: packet.clientId,
      username: packet.username,
      protoName: packet.protocolId ?? 'MQTT',
      protoVer: packet.protocolVersion ?? 4,
      keepalive: packet.keepalive ?? 0,
      cleanStart: packet.clean ?? true,
      peerHost,
      peername: peerHost === undefined ? undefined : `${peerHost}:${socket.remotePort ?? 0}`,
      sockname: socket.localAddress === undefined ? undefined : `${plainIp(socket.localAddress) ?? ''}:${socket.localPort ?? 0}`,
      connectedAt: undefined,
      disconnectReason: undefined,
      subscriptions: new Map(),
    });
    callback(null, true);
  }

  /** The broker's connection and session events (EMQX's hooks, as far as Aedes shows them). */
  private watchClients(broker: Aedes): void {
    broker.on('connackSent', (packet, client) => {
      if (!this.selected.has(BrokerEvent.connack)) return;
      const info = this.connections.get(client);
      if (info !== undefined) this.emitEvent(BrokerEvent.connack, info.clientId, info, () => connackColumns(info, packet.returnCode ?? 0, Date.now()));
    });
    broker.on('clientReady', (client) => {
      const info = this.connections.get(client);
      if (info === undefined) return;
      const connectedAt = Date.now();
      info.connectedAt = connectedAt;
      this.clientsById.set(client.id, client);
      if (this.selected.has(BrokerEvent.connected)) this.emitEvent(BrokerEvent.connected, client.id, info, () => connectedColumns(info, connectedAt));
    });
    broker.on('keepaliveTimeout', (client) => {
      const info = this.connections.get(client);
      if (info !== undefined) info.disconnectReason ??= 'keepalive_timeout';
    });
    broker.on('clientError', (client) => {
      const info = this.connections.get(client);
      if (info !== undefined) info.disconnectReason ??= 'sock_error';
    });
    broker.on('clientDisconnect', (client) => {
      if (this.clientsById.get(client.id) === client) this.clientsById.delete(client.id);
      const info = this.connections.get(client);
      if (info === undefined || !this.selected.has(BrokerEvent.disconnected)) return;
      this.emitEvent(BrokerEvent.disconnected, client.id, info, () => disconnectedColumns(info, this.disconnectReason(client, info), Date.now()));
    });
    broker.on('subscribe', (subscriptions, client) => {
      const info = this.connections.get(client);
      if (info === undefined) return;
      const wanted = this.selected.has(BrokerEvent.subscribed);
      for (const subscription of subscriptions) {
        if ((subscription.qos as number) === 128) continue; // refused
        info.subscriptions.set(subscription.topic, subscription.qos);
        if (wanted) this.emitEvent(BrokerEvent.subscribed, client.id, info, () => subscriptionColumns(info, true, subscription.topic, subscription.qos, Date.now()));
      }
    });
    broker.on('unsubscribe', (topics, client) => {
      const info = this.connections.get(client);
      if (info === undefined) return;
      // A clean session's subscriptions end with its connection: EMQX reports no session.unsubscribed then.
      const wanted = this.selected.has(BrokerEvent.unsubscribed) && !client.closed;
      for (const topic of topics) {
        const qos = info.subscriptions.get(topic) ?? 0;
        info.subscriptions.delete(topic);
        if (wanted) this.emitEvent(BrokerEvent.unsubscribed, client.id, info, () => subscriptionColumns(info, false, topic, qos, Date.now()));
      }
    });
    broker.on('ack', (packet, client) => {
      // Aedes gives the acknowledged PUBLISH back only for sessions it stores (clean_start false): see docs/mqtt.md.
      if (!this.selected.has(BrokerEvent.acked) || packet === undefined || packet === null || packet.cmd !== 'publish') return;
      const publish = packet as PublishPacket & { clientId?: string; brokerCounter?: number };
      if (publish.topic.startsWith('$SYS')) return;
      const from = publish.clientId ?? (publish.brokerCounter === undefined ? undefined : this.publishers.get(publish.brokerCounter));
      const info = this.connections.get(client);
      if (info !== undefined) this.emitEvent(BrokerEvent.acked, client.id, info, () => deliveryColumns('message.acked', info, routed(publish), this.publisherOf(from), Date.now()));
    });
  }

  /** EMQX's reason names for why a connection ended, from what Aedes showed of it. */
  private disconnectReason(client: Client, info: ConnectionInfo): string {
    if (info.disconnectReason !== undefined) return info.disconnectReason;
    if ((client as unknown as { _disconnected?: boolean })._disconnected === true) return 'normal'; // a DISCONNECT packet came
    return this.stopping ? 'shutdown' : 'tcp_closed';
  }

  private authorizeSubscribe(client: Client, subscription: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void): void {
    if (this.selected.has(BrokerEvent.authz)) this.authzEvent(client, 'subscribe', subscription.topic, true);
    callback(null, subscription);
  }

  private authzEvent(client: Client, action: 'publish' | 'subscribe', topic: string, allowed: boolean): void {
    const info = this.connections.get(client);
    if (info !== undefined) this.emitEvent(BrokerEvent.authz, client.id, info, () => authzColumns(info, action, topic, allowed, Date.now()));
  }

  /** Called for each message the broker hands a subscriber; it forwards every one (the broker has no ACL). */
  private authorizeForward(client: Client, packet: AedesPublishPacket & { clientId?: string }): AedesPublishPacket {
    if (this.selected.has(BrokerEvent.acked) && packet.qos > 0) {
      this.publishers.remember(packet.brokerCounter, packet.clientId);
    }
    if (this.selected.has(BrokerEvent.delivered) && !packet.topic.startsWith('$SYS')) {
      const info = this.connections.get(client);
      if (info !== undefined) this.emitEvent(BrokerEvent.delivered, client.id, info, () => deliveryColumns('message.delivered', info, routed(packet), this.publisherOf(packet.clientId), Date.now()));
    }
    return packet;
  }

  /** A device's publish that reached no online subscriber (RoutingProbe); one queued for an offline session is not dropped. */
  private onUnrouted(message: RoutedMessage & { clientId?: string }): void {
    if (message.clientId === undefined || message.topic.startsWith('$') || !this.selected.has(BrokerEvent.dropped)) return;
    const receivedAt = Date.now();
    const report = (): void => {
      const publisher = this.clientsById.get(message.clientId as string);
      const info = publisher === undefined ? undefined : this.connections.get(publisher);
      this.emitEvent(BrokerEvent.dropped, message.clientId, info, () => droppedColumns(message, { clientId: message.clientId, info }, receivedAt, Date.now()));
    };
    const broker = this.broker;
    if (message.qos === 0 || broker === undefined) {
      report();
      return;
    }
    // QoS 1/2: Aedes queued it for every stored (clean_start false) session whose subscription matches.
    (broker as unknown as { persistence: { subscriptionsByTopic(topic: string): Promise<unknown[]> } }).persistence
      .subscriptionsByTopic(message.topic)
      .then((subscriptions) => {
        if (subscriptions.length === 0) report();
      }, () => undefined);
  }

  private publisherOf(clientId: string | undefined): { clientId: string | undefined; username: string | undefined } {
    const publisher = clientId === undefined ? undefined : this.clientsById.get(clientId);
    return { clientId, username: publisher === undefined ? undefined : this.connections.get(publisher)?.username };
  }

  /**
   * Hands an event to the rules. Events are at-most-once: nothing acknowledges them to a device, so an action
   * that fails loses the event (counted on the action), and at most maxEventsInFlight are in flight: past that,
   * new events are dropped and counted (`events.dropped` in metrics()), so a reconnect storm cannot grow memory
   * without bound.
   */
  private emitEvent(topic: string, clientId: string | undefined, info: ConnectionInfo | undefined, columns: () => Record<string, unknown>): void {
    const receiver = this.receiver;
    if (receiver === undefined || this.paused) return;
    if (this.eventsInFlight >= this.config.maxEventsInFlight) {
      this.eventsDropped++;
      this.warnings.warn('events-full', 'events dropped: too many in flight (the actions are slower than the events come)', () => ({
        source: this.id,
        maxEventsInFlight: this.config.maxEventsInFlight,
        dropped: this.eventsDropped,
      }));
      return;
    }
    this.eventsInFlight++;
    let settled = false;
    // columns are built only now, past the cap: in a reconnect storm the dropped ones cost nothing
    this.handOver(receiver, eventMessage(this.id, topic, clientId, info, columns()), (error?: Error) => {
      if (settled) return;
      settled = true;
      this.eventsInFlight--;
      if (error !== undefined) {
        this.warnings.warn('event-lost', 'an event could not be stored and is lost (events are at-most-once)', () => ({ source: this.id, event: topic, reason: error.message }));
      }
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

  private async close(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    // Stop accepting first; server.close() resolves only once the broker has closed every device.
    const closed = server?.listening === true ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    if (broker !== undefined) await new Promise<void>((resolve) => broker.close(() => resolve()));
    await closed;
  }
}

/** An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; rules expect a.b.c.d (as EMQX gives). */
function plainIp(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

function routed(packet: PublishPacket): RoutedMessage {
  return { topic: packet.topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, dup: packet.dup };
}

function samePassword(expected: string, given: Buffer | undefined): boolean {
  if (given === undefined) return false;
  const wanted = Buffer.from(expected);
  return wanted.length === given.length && timingSafeEqual(wanted, given);
}

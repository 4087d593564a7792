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
  TopicRouter,
} from '@sluice/core';
import type { Aedes, AuthenticateError, Client, PublishPacket } from 'aedes' with { 'resolution-mode': 'import' };
import { AckWindow } from './ack-window';
import type { AedesSourceConfig } from './aedes-source-config';
import { type AedesModule, loadAedes } from './load-aedes';

/** What the source knows about one connected device. */
interface Device {
  readonly username: string | undefined;
  readonly peerHost: string | undefined;
  /** Orders this device's PUBACKs; a new one per connection (a client object lives for one connection). */
  readonly window: AckWindow;
}

const noopSettle: Settle = () => {};
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
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private receiver: MessageReceiver | undefined;
  private router = new TopicRouter<true>();
  private readonly devices = new WeakMap<Client, Device>();
  private paused = false;
  private state: ConnectorStatus = { state: 'disconnected', reason: 'not started' };
  private bound: AddressInfo | undefined;
  private readonly atLeastOnce: boolean;

  constructor(
    private readonly config: AedesSourceConfig,
    private readonly logger: Logger,
    private readonly aedes: () => AedesModule = loadAedes,
  ) {
    this.id = config.id;
    this.atLeastOnce = config.delivery === 'at-least-once';
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
    this.router = new TopicRouter<true>();
    for (const filter of new Set(filters)) this.router.add(filter, true);
    const broker = await this.aedes().Aedes.createBroker({
      id: `sluice-${this.id}`,
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, callback) => this.authorizePublish(client, packet, callback),
    });
    this.broker = broker;
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
    // The router has no removal; rebuilding it is cheap and rare (rules changed at run time).
    const fresh = new TopicRouter<true>();
    for (const filter of new Set(filters)) fresh.add(filter, true);
    this.router = fresh;
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
    if (users !== undefined && !users.some((user) => user.username === username && samePassword(user.password, password))) {
      const error = Object.assign(new Error('bad username or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError;
      done(error, false);
      return;
    }
    this.devices.set(client, this.newDevice(client, username));
    done(null, true);
  }

  private newDevice(client: Client, username: string | undefined): Device {
    const remote = (client.conn as { remoteAddress?: string }).remoteAddress;
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; rules expect a.b.c.d (as EMQX gives).
    const peerHost = remote?.startsWith('::ffff:') ? remote.slice(7) : remote;
    return { username, peerHost, window: new AckWindow() };
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
    if (client === null) {
      callback(null); // published by the broker itself
      return;
    }
    if (packet.topic.startsWith('$SYS')) {
      callback(new Error('$SYS topics are reserved')); // what Aedes's default authorizePublish does
      return;
    }
    if (this.router.match(packet.topic).length === 0) {
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

function samePassword(expected: string, given: Buffer | undefined): boolean {
  if (given === undefined) return false;
  const wanted = Buffer.from(expected);
  return wanted.length === given.length && timingSafeEqual(wanted, given);
}

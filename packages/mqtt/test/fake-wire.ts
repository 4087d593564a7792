import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { type IClientOptions, MqttClient, type Packet } from 'mqtt';
import * as mqttPacket from 'mqtt-packet';

/**
 * The far end of an mqtt.js client's connection, for unit tests of the acknowledgement hook: the
 * test writes packets as the broker would and reads what the client wrote. Not a broker: no routing,
 * no sessions, nothing answered unless the test answers it. Each (re)connection gets a new stream.
 */
export class FakeWire extends EventEmitter {
  /** Every packet the client wrote, on every connection, in order. */
  readonly sent: Packet[] = [];
  /** The packets of each write to the socket, in order (a corked burst arrives as one writev). */
  readonly writes: Packet[][] = [];
  connections = 0;
  private stream: Duplex | undefined;

  constructor(private readonly protocolVersion: 4 | 5 = 5) {
    super();
  }

  /** A factory for MqttSource: a real MqttClient whose network is this wire. */
  readonly clientFactory = (options: IClientOptions): MqttClient =>
    new MqttClient(() => this.open() as never, { ...options, protocolVersion: this.protocolVersion });

  /** Writes a packet to the client, as the broker would. */
  push(packet: Packet): void {
    this.stream?.push(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** Writes packets to the client in one chunk, as one read from a socket brings several. */
  pushTogether(packets: readonly Packet[]): void {
    this.stream?.push(Buffer.concat(packets.map((packet) => mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }))));
  }

  /** Resolves with the next packet the client writes that satisfies `test`. */
  next(test: (packet: Packet) => boolean): Promise<Packet> {
    return new Promise((resolve) => {
      const listener = (packet: Packet): void => {
        if (!test(packet)) return;
        this.off('packet', listener);
        resolve(packet);
      };
      this.on('packet', listener);
    });
  }

  sentOf(cmd: Packet['cmd']): Packet[] {
    return this.sent.filter((packet) => packet.cmd === cmd);
  }

  /**
   * Answers CONNECT with CONNACK, every SUBSCRIBE with a SUBACK granting what was asked and, unless told not to
   * (a broker that never answers), every UNSUBSCRIBE with an UNSUBACK.
   */
  autoAnswer(sessionPresent = false, { unsuback = true }: { readonly unsuback?: boolean } = {}): void {
    this.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connect') this.push({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent });
      if (packet.cmd === 'subscribe') {
        this.push({ cmd: 'suback', messageId: packet.messageId as number, granted: packet.subscriptions.map((s) => s.qos) });
      }
      if (packet.cmd === 'unsubscribe' && unsuback) {
        this.push({ cmd: 'unsuback', messageId: packet.messageId as number, granted: packet.unsubscriptions.map(() => 0) } as Packet);
      }
      if (packet.cmd === 'pingreq') this.push({ cmd: 'pingresp' });
    });
  }

  /** Cuts the connection as a network failure would. */
  cut(): void {
    this.stream?.destroy();
  }

  private open(): Duplex {
    this.connections++;
    const parser = mqttPacket.parser({ protocolVersion: this.protocolVersion });
    // Chunks written in one synchronous run (a corked burst flushed by uncork) count as one write, as a
    // socket would take them in one writev; the group closes on the next tick.
    let write: Packet[] | undefined;
    parser.on('packet', (packet: Packet) => {
      this.sent.push(packet);
      write?.push(packet);
      this.emit('packet', packet);
    });
    const stream = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, callback) => {
        if (write === undefined) {
          const group: Packet[] = [];
          write = group;
          this.writes.push(group);
          process.nextTick(() => {
            if (write === group) write = undefined;
          });
        }
        parser.parse(chunk);
        callback();
      },
      final(callback) {
        // The client ended its side (after DISCONNECT): end ours too, as a broker closing the socket would.
        callback();
        this.push(null);
      },
    });
    this.stream = stream;
    return stream;
  }
}

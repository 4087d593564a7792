import type { Message, MessageProperties } from '../message';
import type { MessageReceiver, Settle, Source } from '../source';

/** What happened to one message pushed into an InMemorySource. */
export interface PushedMessage {
  readonly message: Message;
  /** Resolves when the runtime settled it: `undefined` = acknowledged, an Error = left to the broker. */
  readonly settled: Promise<Error | undefined>;
}

export interface PushOptions {
  readonly qos?: 0 | 1 | 2;
  readonly retain?: boolean;
  readonly dup?: boolean;
  readonly clientId?: string;
  readonly username?: string;
  readonly peerHost?: string;
  readonly properties?: MessageProperties;
}

/**
 * A Source for tests and examples: push() hands a message to the runtime as an MQTT source would and
 * tells when (and how) it was settled. It records the filters it was started with.
 */
export class InMemorySource implements Source {
  filters: readonly string[] = [];
  started = false;
  paused = false;
  private receiver: MessageReceiver | undefined;

  constructor(readonly id = 'memory') {}

  async start(receiver: MessageReceiver, filters: readonly string[]): Promise<void> {
    this.receiver = receiver;
    this.filters = filters;
    this.started = true;
  }

  pause(): void {
    this.paused = true;
  }

  async stop(): Promise<void> {
    this.started = false;
  }

  push(topic: string, payload: string | Buffer, options: PushOptions = {}): PushedMessage {
    if (this.receiver === undefined || this.paused) throw new Error(`source ${this.id} is not taking messages`);
    const message: Message = {
      sourceId: this.id,
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: options.qos ?? 1,
      retain: options.retain ?? false,
      dup: options.dup ?? false,
      clientId: options.clientId,
      username: options.username,
      peerHost: options.peerHost,
      receivedAt: Date.now(),
      properties: options.properties,
    };
    let resolveSettled!: (value: Error | undefined) => void;
    const settled = new Promise<Error | undefined>((resolve) => (resolveSettled = resolve));
    let calls = 0;
    const settle: Settle = (error) => {
      calls++;
      if (calls > 1) throw new Error(`message on ${topic} was settled ${calls} times`);
      resolveSettled(error);
    };
    this.receiver.receive(message, settle);
    return { message, settled };
  }
}

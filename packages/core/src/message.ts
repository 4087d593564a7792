import type { RuleInput } from './rule-engine';

/** MQTT 5 PUBLISH properties, as received. Absent for MQTT 3.1.1. */
export interface MessageProperties {
  /** User properties; a key sent more than once maps to an array of its values, in arrival order. */
  readonly userProperties?: Readonly<Record<string, string | readonly string[]>>;
  readonly contentType?: string;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  readonly messageExpiryInterval?: number;
  readonly payloadFormatIndicator?: boolean;
}

/**
 * One MQTT message as a source received it. Immutable: the runtime hands the same object to every
 * rule and action that sees it.
 */
export interface Message {
  /** Id of the source that received the message. */
  readonly sourceId: string;
  readonly topic: string;
  /** The payload bytes exactly as published. */
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** True when the broker redelivers a message it sent before (the MQTT DUP flag). */
  readonly dup: boolean;
  /**
   * The publisher's client id, where known: an embedded broker knows it; a subscriber learns it only
   * from a user property or a topic segment the source is configured to read.
   */
  readonly clientId: string | undefined;
  readonly username: string | undefined;
  /** The publisher's IP address, where known (embedded broker only). */
  readonly peerHost: string | undefined;
  /** Milliseconds since the epoch when the source received the message. */
  readonly receivedAt: number;
  readonly properties: MessageProperties | undefined;
  /**
   * Set only on an event (a client connected, a session subscribed, ...; docs/sql.md "Events"), which a
   * source hands over like a message: `topic` is then the current event topic (`$events/client/connected`,
   * see EVENT_KINDS), `payload` is empty, and rules read the columns this returns (EMQX's columns of that
   * event, `event` and `timestamp` included) instead of a publish's. `node` is the runtime's node name.
   * The runtime calls it at most once per event, and only when an enabled rule matches the event topic.
   */
  readonly eventColumns?: (node: string) => RuleInput;
}

import { randomBytes } from 'node:crypto';
import type { Message, MessageProperties } from './message';
import type { RuleInput } from './rule-engine';

// EMQX gives every message a 32-hex-digit id. A random prefix per process and a counter make ids unique
// without calling the CSPRNG per message.
const idPrefix = randomBytes(8).toString('hex').toUpperCase();
let idCounter = 0;
/** A new message id as EMQX shows them (32 upper-case hex digits); also used for the ids of message events. */
export const newMessageId = (): string => idPrefix + (idCounter++ >>> 0).toString(16).toUpperCase().padStart(16, '0');

const EMPTY_PROPS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The columns a rule sees for one MQTT message, named as EMQX names them (`message.publish` event):
 * topic, payload, qos, clientid, username, peerhost, timestamp, publish_received_at, id, flags,
 * pub_props, node, event. Built once per message and shared by every rule it matches.
 */
export function messageColumns(message: Message, node: string): RuleInput {
  return {
    id: newMessageId(),
    event: 'message.publish',
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    clientid: message.clientId,
    username: message.username,
    peerhost: message.peerHost,
    flags: { dup: message.dup, retain: message.retain },
    pub_props: message.properties === undefined ? EMPTY_PROPS : publishProperties(message.properties),
    publish_received_at: message.receivedAt,
    timestamp: message.receivedAt,
    node,
  };
}

/** MQTT 5 properties under EMQX's `pub_props` names ("User-Property", "Content-Type", ...). */
function publishProperties(p: MessageProperties): Readonly<Record<string, unknown>> {
  const props: Record<string, unknown> = {};
  if (p.userProperties !== undefined) {
    // names are the publisher's (`toString`, `__proto__`, ...): a map without prototype keeps each as its own key
    const single = Object.create(null) as Record<string, string>;
    const pairs: Array<{ key: string; value: string }> = [];
    for (const [key, value] of Object.entries(p.userProperties)) {
      const values = typeof value === 'string' ? [value] : value;
      for (const v of values) pairs.push({ key, value: v });
      // EMQX collapses repeated keys in the map form; the last value wins.
      single[key] = values[values.length - 1] ?? '';
    }
    props['User-Property'] = single;
    props['User-Property-Pairs'] = pairs;
  }
  if (p.contentType !== undefined) props['Content-Type'] = p.contentType;
  if (p.responseTopic !== undefined) props['Response-Topic'] = p.responseTopic;
  if (p.correlationData !== undefined) props['Correlation-Data'] = p.correlationData.toString('utf8');
  if (p.messageExpiryInterval !== undefined) props['Message-Expiry-Interval'] = p.messageExpiryInterval;
  if (p.payloadFormatIndicator !== undefined) props['Payload-Format-Indicator'] = p.payloadFormatIndicator ? 1 : 0;
  return props;
}

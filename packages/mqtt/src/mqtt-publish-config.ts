import { parseConfig, SINGLE_PLACEHOLDER } from '@sluice/core';
import { z } from 'zod';
import { checkTlsUrl, MqttUrl, Tls } from './mqtt-source-config';


/**
 * An MQTT publish connector (EMQX's "republish", to any broker): one mqtt.js connection shared by the
 * actions that name it. The connection settings are the MQTT source's, minus what only a subscriber
 * needs (session, maxInflight, identity, shareGroup).
 */
export const MqttPublishConnectorConfig = z
  .strictObject({
    /** Unique connector id; actions name it in `connector`. */
    id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only'),
    url: MqttUrl,
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /**
     * Fixed client id. Random (`sluice-pub-<id>-<hex>`) by default: the connection keeps no session, and
     * two Sluice processes with the same config must not take each other's connection over.
     */
    clientId: z.string().min(1).max(65535).optional(),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    tls: Tls.optional(),
    keepalive: z.number().int().min(0).max(65535).default(30),
    connectTimeout: z.number().int().min(100).default(30_000),
    reconnectPeriod: z.number().int().min(100).default(1_000),
    /**
     * Milliseconds a QoS 1/2 publish may wait for its PUBACK/PUBCOMP before its send fails as retriable
     * (the MQTT message it came from is then left to the source's broker, which redelivers it). Until
     * then mqtt.js resends it after each reconnection; at the timeout it is taken out of mqtt.js and never
     * sent again, so a publish the broker answers by closing the connection (too large, for one) stops
     * the reconnecting. The broker may have had it all the same (the acknowledgement was late or lost),
     * so the redelivery can mean one duplicate: at least once, as everywhere.
     */
    publishTimeout: z.number().int().min(100).default(30_000),
  })
  .superRefine(checkTlsUrl);

export type MqttPublishConnectorOptions = z.input<typeof MqttPublishConnectorConfig>;
export type MqttPublishConnectorConfig = z.output<typeof MqttPublishConnectorConfig>;

export const parseMqttPublishConnectorConfig = (input: MqttPublishConnectorOptions): MqttPublishConnectorConfig =>
  parseConfig('mqtt', MqttPublishConnectorConfig, input);

const placeholder = (example: string) => z.string().regex(SINGLE_PLACEHOLDER, `must be a single placeholder such as "${example}"`);

/** The settings of one republish action (EMQX's republish `args`). */
export const MqttPublishActionSettings = z
  .strictObject({
    /** The connector the action names; the runtime has already routed on it. */
    connector: z.string().optional(),
    /**
     * Topic to publish to, a template: `dead/${clientid}/${topic}`. A placeholder without a value, or a
     * rendering with `+` or `#`, fails that output (not retriable).
     */
    topic: z.string().min(1).refine((topic) => !/[+#]/.test(topic.replace(/\$\{[^${}]*\}/g, '')), {
      message: 'an MQTT topic to publish to cannot contain the wildcards + or #',
    }),
    /** Payload template; `${.}` is the whole rule output as JSON. Sent as UTF-8. */
    payload: z.string().default('${.}'),
    /** 0, 1, 2, or a single placeholder (`${qos}`) whose value is one of them; missing renders 0, as in EMQX. */
    qos: z.union([z.literal(0), z.literal(1), z.literal(2), placeholder('${qos}')]).default(0),
    /** true, false, or a single placeholder (`${flags.retain}`); missing renders false, as in EMQX. */
    retain: z.union([z.boolean(), placeholder('${flags.retain}')]).default(false),
    /**
     * MQTT 5 only: one placeholder yielding a map of user properties (values: text or lists of text), or
     * its JSON text, e.g. `${pub_props.User-Property}`. No user properties when absent or empty.
     */
    userProperties: placeholder('${pub_props.User-Property}').optional(),
  });

export type MqttPublishActionOptions = z.input<typeof MqttPublishActionSettings>;
export type MqttPublishActionSettings = z.output<typeof MqttPublishActionSettings>;

export function parseMqttPublishActionSettings(input: unknown, actionId: string): MqttPublishActionSettings {
  return parseConfig(`mqtt action "${actionId}"`, MqttPublishActionSettings, input);
}

import { parseConfig, SINGLE_PLACEHOLDER } from '@sluice/core';
import { z } from 'zod';
import { checkTlsUrl, MqttUrl, Tls } from './mqtt-source-config';


/**
 * An MQTT publish connector (EMQX's "republish"). Its connection settings are the MQTT source's, minus
 * what only a subscriber needs (session, maxInflight, identity, shareGroup).
 */
export const MqttPublishConnectorConfig = z
  .strictObject({
    id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only').describe('Unique connector id; actions name it in `connector`.'),
    url: MqttUrl,
    username: z.string().min(1).optional().describe('MQTT username.'),
    password: z.string().optional().describe('MQTT password; use `${env:NAME}` or `${file:/path}`.'),
    clientId: z.string().min(1).max(65535).optional().describe('Fixed client id. Random by default (`sluice-pub-<id>-<hex>`): the connection keeps no session, and two Sluice processes with one config must not take each other\'s connection over.'),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5).describe('4 = MQTT 3.1.1, 5 = MQTT 5 (needed for `userProperties`; PUBACK reason codes tell a refusal apart).'),
    tls: Tls.optional(),
    keepalive: z.number().int().min(0).max(65535).default(30).describe('Seconds between PINGREQs when idle (0 turns keepalive off, which hides dead connections).'),
    connectTimeout: z.number().int().min(100).default(30_000).describe('Milliseconds to wait for CONNACK.'),
    reconnectPeriod: z.number().int().min(100).default(1_000).describe('Milliseconds between reconnection attempts. While disconnected, sends fail as retriable at once (the message stays with the broker it came from).'),
    /*
     * Why a timeout at all: until it, mqtt.js resends the publish after each reconnection; at it the publish
     * is taken out of mqtt.js and never sent again, so a publish the broker answers by closing the
     * connection (too large, for one) stops the reconnecting.
     */
    publishTimeout: z.number().int().min(100).default(30_000).describe('Milliseconds a QoS 1/2 publish may wait for its PUBACK/PUBCOMP before its send fails as retriable; the publish is then dropped from mqtt.js (not resent after a reconnect), and the source broker\'s redelivery of the original message can mean a duplicate.'),
  })
  .describe('Publishes to this or any other broker through one mqtt.js connection, shared by every action that names the connector.')
  .superRefine(checkTlsUrl);

export type MqttPublishConnectorOptions = z.input<typeof MqttPublishConnectorConfig>;
export type MqttPublishConnectorConfig = z.output<typeof MqttPublishConnectorConfig>;

export const parseMqttPublishConnectorConfig = (input: MqttPublishConnectorOptions): MqttPublishConnectorConfig =>
  parseConfig('mqtt', MqttPublishConnectorConfig, input);

const placeholder = (example: string) => z.string().regex(SINGLE_PLACEHOLDER, `must be a single placeholder such as "${example}"`);

/** The settings of one republish action (EMQX's republish `args`). */
export const MqttPublishActionSettings = z
  .strictObject({
    // The runtime has already routed on it; accepted so that the whole action entry passes this strict schema.
    connector: z.string().optional().describe('Id of the connector the action writes through.'),
    topic: z.string().min(1).refine((topic) => !/[+#]/.test(topic.replace(/\$\{[^${}]*\}/g, '')), {
      message: 'an MQTT topic to publish to cannot contain the wildcards + or #',
    })
      .describe('MQTT topic to publish to, a template: `dead/${clientid}/${topic}`. A placeholder without a value, or a rendering with `+` or `#`, fails that output (not retriable). A fixed topic that the rule\'s own FROM matches, on the broker the rule reads, is refused at load time (a loop); keep templated ones apart yourself (docs/mqtt.md).')
      .meta({ examples: ['dead/${clientid}/${topic}', 'alerts/${payload.site}'] }),
    payload: z.string().default('${.}').describe('MQTT payload template, sent as UTF-8; `${.}` is the whole rule output as JSON. EMQX\'s republish defaults to `${payload}`, which here needs `payload` in the SELECT.'),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2), placeholder('${qos}')]).default(0).describe('QoS of the publish: 0, 1, 2, or one placeholder whose value is one of them (`${qos}` with `qos` selected); a placeholder without a value gives 0, as in EMQX. The send completes when the broker has it: written (0), PUBACK (1), PUBCOMP (2).'),
    retain: z.union([z.boolean(), placeholder('${flags.retain}')]).default(false).describe('Retain flag: true, false, or one placeholder (`${flags.retain}` with `flags` selected); a placeholder without a value gives false, as in EMQX.'),
    userProperties: placeholder('${pub_props.User-Property}').optional().describe('MQTT 5 user properties of the publish: one placeholder yielding a map of names to text (or lists of text), a [{key, value}] list, or their JSON text: `${pub_props.User-Property-Pairs}` (names given twice stay twice) or `${pub_props.User-Property}` (one value per name), with `pub_props` selected. Needs `protocolVersion: 5` on the connector; any other value fails the output (not retriable). No user properties when absent or empty.'),
  });

export type MqttPublishActionOptions = z.input<typeof MqttPublishActionSettings>;
export type MqttPublishActionSettings = z.output<typeof MqttPublishActionSettings>;

export function parseMqttPublishActionSettings(input: unknown, actionId: string): MqttPublishActionSettings {
  return parseConfig(`mqtt action "${actionId}"`, MqttPublishActionSettings, input);
}

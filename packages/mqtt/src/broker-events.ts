import { type Message, newMessageId } from '@sluice/core';

/**
 * The client and session events the embedded broker (Aedes, MQTT 3.1.1) reports, by their current event
 * topic, and the columns of each, named and typed as EMQX's (RULE-SQL.md §5; docs/mqtt.md "Events of the
 * embedded broker" says where a value is approximated and why).
 *
 * Not reported: `$events/message/delivery_dropped` (Aedes drops no delivery it could report: it keeps no
 * per-client queue limit or message expiry, and a QoS 0 message for an offline session is never routed to
 * it), `$events/client/ping` (EMQX documents no columns for it), the alarm, transformation and
 * validation events (no such features here).
 */
export const BrokerEvent = {
  connected: '$events/client/connected',
  disconnected: '$events/client/disconnected',
  connack: '$events/client/connack',
  authn: '$events/auth/check_authn_complete',
  authz: '$events/auth/check_authz_complete',
  subscribed: '$events/session/subscribed',
  unsubscribed: '$events/session/unsubscribed',
  delivered: '$events/message/delivered',
  acked: '$events/message/acked',
  dropped: '$events/message/dropped',
} as const;
export type BrokerEventTopic = (typeof BrokerEvent)[keyof typeof BrokerEvent];

export const BROKER_EVENT_TOPICS: readonly string[] = Object.freeze(Object.values(BrokerEvent));

/** What the broker learnt about one connection, from its CONNECT packet and socket. */
export interface ConnectionInfo {
  readonly clientId: string;
  readonly username: string | undefined;
  /** 'MQTT' (3.1.1) or 'MQIsdp' (3.1). */
  readonly protoName: string;
  readonly protoVer: number;
  readonly keepalive: number;
  readonly cleanStart: boolean;
  readonly peerHost: string | undefined;
  /** 'ip:port' of the device. */
  readonly peername: string | undefined;
  /** 'ip:port' of the listener the device reached. */
  readonly sockname: string | undefined;
  connectedAt: number | undefined;
  /** Why the connection is ending, once known (EMQX's reason names); undefined until then. */
  disconnectReason: string | undefined;
  /** QoS of each subscription, so that session.unsubscribed can report it (Aedes forgets it first). */
  readonly subscriptions: Map<string, number>;
}

/** MQTT 3.1.1 has no properties: every `*_props` column is this empty map, as EMQX gives for MQTT 3. */
const NO_PROPS: Readonly<Record<string, unknown>> = Object.freeze({});
const NO_ATTRS: Readonly<Record<string, unknown>> = Object.freeze({});
const EMPTY_PAYLOAD = Buffer.alloc(0);

/** CONNACK return codes of MQTT 3.1.1 under EMQX's reason names (Aedes also sends 6 when the keepalive is over its limit). */
const CONNACK_REASONS: readonly string[] = [
  'success',
  'unsupported_protocol_version',
  'client_identifier_not_valid',
  'server_unavailable',
  'bad_username_or_password',
  'not_authorized',
];

export function connackReason(returnCode: number): string {
  return CONNACK_REASONS[returnCode] ?? 'unspecified_error';
}

type Columns = Record<string, unknown>;

/** The event as a Message (core's contract for events: topic = event topic, columns built on demand). */
export function eventMessage(sourceId: string, topic: string, clientId: string | undefined, info: ConnectionInfo | undefined, columns: Columns): Message {
  const at = columns['timestamp'] as number;
  return {
    sourceId,
    topic,
    payload: EMPTY_PAYLOAD,
    qos: 0,
    retain: false,
    dup: false,
    clientId,
    username: info?.username,
    peerHost: info?.peerHost,
    receivedAt: at,
    properties: undefined,
    eventColumns: (node) => {
      columns['node'] = node;
      return columns;
    },
  };
}

export function connectedColumns(info: ConnectionInfo, now: number): Columns {
  return {
    event: 'client.connected',
    clientid: info.clientId,
    username: info.username,
    mountpoint: undefined,
    peername: info.peername,
    sockname: info.sockname,
    proto_name: info.protoName,
    proto_ver: info.protoVer,
    keepalive: info.keepalive,
    clean_start: info.cleanStart,
    // MQTT 3.1.1 has no session expiry; Aedes keeps a persistent session until it is cleaned.
    expiry_interval: 0,
    is_bridge: false,
    conn_props: NO_PROPS,
    connected_at: info.connectedAt ?? now,
    client_attrs: NO_ATTRS,
    timestamp: now,
  };
}

export function disconnectedColumns(info: ConnectionInfo, reason: string, now: number): Columns {
  return {
    event: 'client.disconnected',
    reason,
    clientid: info.clientId,
    username: info.username,
    peername: info.peername,
    sockname: info.sockname,
    proto_name: info.protoName,
    proto_ver: info.protoVer,
    disconn_props: NO_PROPS,
    disconnected_at: now,
    connected_at: info.connectedAt ?? now,
    client_attrs: NO_ATTRS,
    timestamp: now,
  };
}

export function connackColumns(info: ConnectionInfo, returnCode: number, now: number): Columns {
  return {
    event: 'client.connack',
    reason_code: connackReason(returnCode),
    clientid: info.clientId,
    clean_start: info.cleanStart,
    username: info.username,
    peername: info.peername,
    sockname: info.sockname,
    proto_name: info.protoName,
    proto_ver: info.protoVer,
    keepalive: info.keepalive,
    expiry_interval: 0,
    conn_props: NO_PROPS,
    timestamp: now,
  };
}

export function authnColumns(info: ConnectionInfo, success: boolean, anonymous: boolean, now: number): Columns {
  return {
    event: 'client.check_authn_complete',
    clientid: info.clientId,
    username: info.username,
    peername: info.peername,
    reason_code: success ? 'success' : 'bad_username_or_password',
    is_anonymous: anonymous,
    is_superuser: false,
    client_attrs: NO_ATTRS,
    timestamp: now,
  };
}

export function authzColumns(info: ConnectionInfo, action: 'publish' | 'subscribe', topic: string, allowed: boolean, now: number): Columns {
  return {
    event: 'client.check_authz_complete',
    clientid: info.clientId,
    username: info.username,
    peerhost: info.peerHost,
    peername: info.peername,
    topic,
    action,
    // The embedded broker has no ACL: its only rule is the built-in refusal of $SYS publishes.
    authz_source: 'default',
    result: allowed ? 'allow' : 'deny',
    client_attrs: NO_ATTRS,
    timestamp: now,
  };
}

export function subscriptionColumns(info: ConnectionInfo, subscribed: boolean, topic: string, qos: number, now: number): Columns {
  return {
    event: subscribed ? 'session.subscribed' : 'session.unsubscribed',
    clientid: info.clientId,
    username: info.username,
    peerhost: info.peerHost,
    peername: info.peername,
    [subscribed ? 'sub_props' : 'unsub_props']: NO_PROPS,
    topic,
    qos,
    client_attrs: NO_ATTRS,
    timestamp: now,
  };
}

/** A published message as the broker routes it (Aedes's packet fields). */
export interface RoutedMessage {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos: number;
  readonly retain: boolean;
  readonly dup: boolean;
}

/** message.delivered / message.acked: the message, its publisher (`from_…`) and the receiving client. */
export function deliveryColumns(
  event: 'message.delivered' | 'message.acked',
  receiver: ConnectionInfo,
  packet: RoutedMessage,
  from: { readonly clientId: string | undefined; readonly username: string | undefined },
  now: number,
): Columns {
  const columns: Columns = {
    event,
    id: newMessageId(),
    from_clientid: from.clientId,
    from_username: from.username,
    clientid: receiver.clientId,
    username: receiver.username,
    payload: payloadBuffer(packet.payload),
    peerhost: receiver.peerHost,
    peername: receiver.peername,
    topic: packet.topic,
    qos: packet.qos,
    flags: { dup: packet.dup, retain: packet.retain },
    pub_props: NO_PROPS,
    // Aedes keeps no receive time on a routed message: the time it is handed to the receiver stands in.
    publish_received_at: now,
    timestamp: now,
  };
  if (event === 'message.acked') columns['puback_props'] = NO_PROPS;
  return columns;
}

/** message.dropped: a publish that reached no subscriber (`no_subscribers`). */
export function droppedColumns(
  packet: RoutedMessage,
  publisher: { readonly clientId: string | undefined; readonly info: ConnectionInfo | undefined },
  receivedAt: number,
  now: number,
): Columns {
  return {
    event: 'message.dropped',
    id: newMessageId(),
    reason: 'no_subscribers',
    clientid: publisher.clientId,
    username: publisher.info?.username,
    payload: payloadBuffer(packet.payload),
    peerhost: publisher.info?.peerHost,
    peername: publisher.info?.peername,
    topic: packet.topic,
    qos: packet.qos,
    flags: { dup: packet.dup, retain: packet.retain },
    pub_props: NO_PROPS,
    publish_received_at: receivedAt,
    timestamp: now,
  };
}

function payloadBuffer(payload: Buffer | string): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}

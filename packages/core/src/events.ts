import { matchTopic } from './topic-router';

/**
 * EMQX's client and session events (RULE-SQL.md §5.1): a rule selects one with `FROM "$events/…"`. Each
 * has an event name (the `event` column), a current event topic and, for most, the legacy topic EMQX
 * still accepts (`$events/client_connected` for `$events/client/connected`). Events are matched by their
 * event topic, never by a `topic` column they carry.
 */
export interface EventKind {
  /** The `event` column, e.g. 'client.connected'. */
  readonly name: string;
  /** The current event topic, e.g. '$events/client/connected'. Sources deliver events under this topic. */
  readonly topic: string;
  /** The older single-level topic EMQX still accepts in FROM, if any. */
  readonly legacy: string | undefined;
}

const kind = (name: string, topic: string, legacy?: string): EventKind => Object.freeze({ name, topic: `$events/${topic}`, legacy: legacy === undefined ? undefined : `$events/${legacy}` });

/** Every event topic EMQX defines (sources may produce some of them). */
export const EVENT_KINDS: readonly EventKind[] = Object.freeze([
  kind('client.connected', 'client/connected', 'client_connected'),
  kind('client.disconnected', 'client/disconnected', 'client_disconnected'),
  kind('client.connack', 'client/connack', 'client_connack'),
  kind('client.ping', 'client/ping'),
  kind('client.check_authn_complete', 'auth/check_authn_complete', 'client_check_authn_complete'),
  kind('client.check_authz_complete', 'auth/check_authz_complete', 'client_check_authz_complete'),
  kind('session.subscribed', 'session/subscribed', 'session_subscribed'),
  kind('session.unsubscribed', 'session/unsubscribed', 'session_unsubscribed'),
  kind('message.delivered', 'message/delivered', 'message_delivered'),
  kind('message.acked', 'message/acked', 'message_acked'),
  kind('message.dropped', 'message/dropped', 'message_dropped'),
  kind('delivery.dropped', 'message/delivery_dropped', 'delivery_dropped'),
  kind('alarm.activated', 'sys/alarm_activated'),
  kind('alarm.deactivated', 'sys/alarm_deactivated'),
  kind('message.transformation_failed', 'message_transformation/failed', 'message_transformation_failed'),
  kind('schema.validation_failed', 'schema_validation/failed', 'schema_validation_failed'),
]);

const byName = new Map(EVENT_KINDS.map((k) => [k.name, k]));
const byLegacy = new Map(EVENT_KINDS.filter((k) => k.legacy !== undefined).map((k) => [k.legacy as string, k]));

/** True for a FROM item that names events (`$events/…`) rather than MQTT topics. */
export function isEventTopic(filter: string): boolean {
  return filter.startsWith('$events/');
}

/** A FROM item with a legacy event topic replaced by the current one; anything else unchanged. */
export function canonicalEventTopic(filter: string): string {
  return byLegacy.get(filter)?.topic ?? filter;
}

/**
 * The event topic of an `event` column value ('client.connected' → '$events/client/connected'); undefined
 * for 'message.publish' and names that are no event.
 */
export function eventTopicOf(eventName: string): string | undefined {
  return byName.get(eventName)?.topic;
}

/** The current event topics (of `among`) a FROM event filter selects; wildcards allowed (`$events/session/+`). */
export function eventTopicsMatching(filter: string, among: readonly string[] = EVENT_KINDS.map((k) => k.topic)): string[] {
  const canonical = canonicalEventTopic(filter);
  return among.filter((topic) => matchTopic(topic, canonical));
}

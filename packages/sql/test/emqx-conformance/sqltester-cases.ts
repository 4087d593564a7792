import type { ConformanceCase } from './types';

/**
 * emqx_rule_engine_api_rule_test_SUITE (EMQX 5.x): the rule-test API runs a rule on a context map.
 * An event reaches a rule as its columns with `event` naming it (the event rules of issue 15); columns
 * the API fills itself (node, timestamp) are left out of the comparison.
 */
const S = 'emqx_rule_engine_api_rule_test_SUITE';

function ctx(from: string, sql: string, input: Record<string, unknown>, match: Record<string, unknown>): ConformanceCase {
  return { group: 'sqltester', from: `${S}:${from}`, sql, input, match: [match] };
}

const S2 = 'emqx_rule_engine_api_2_SUITE';
const ALL_FROM_T = 'SELECT\n  *\nFROM\n  "t/#"';
const PUB = { clientid: 'c_emqx', payload: '{"msg": "hello"}', qos: 1, topic: 't/a', username: 'u_emqx' };
const DELIVERY = { clientid: 'c_emqx_2', from_clientid: 'c_emqx_1', from_username: 'u_emqx_1', payload: '{"msg": "hello"}', qos: 1, topic: 't/a', username: 'u_emqx_2' };

/** t_rule_test_smoke: the rule tester answers 200 (the rule gave an output) or 412 (no match). */
function smoke(sql: string, input: Record<string, unknown>, matches: boolean): ConformanceCase {
  return { group: 'sqltester', from: `${S2}:t_rule_test_smoke`, sql, input, ...(matches ? { match: [{}] } : { nomatch: true }) };
}

export const SQLTESTER_CASES: readonly ConformanceCase[] = [
  // Inputs the dashboard sends: a message matches "t/#" by its topic; an event never does, whatever its topic column.
  smoke(ALL_FROM_T, { event: 'message.publish', ...PUB }, true),
  smoke(ALL_FROM_T, { event: 'message.publish', ...PUB, topic: 'a' }, false),
  smoke('SELECT\n  *\nFROM\n  "$events/message_published"', { event: 'message.publish', ...PUB }, false),
  smoke(ALL_FROM_T, { event: 'message.delivered', ...DELIVERY }, false),
  smoke(ALL_FROM_T, { event: 'message.acked', ...DELIVERY }, false),
  smoke(ALL_FROM_T, { event: 'message.dropped', ...PUB, reason: 'no_subscribers' }, false),
  smoke(ALL_FROM_T, { event: 'client.connected', clientid: 'c_emqx', peername: '127.0.0.1:52918', username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'client.disconnected', clientid: 'c_emqx', reason: 'normal', username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'client.connack', clientid: 'c_emqx', reason_code: 'success', username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'client.check_authz_complete', action: 'publish', clientid: 'c_emqx', result: 'allow', topic: 't/1', username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'client.check_authn_complete', clientid: 'c_emqx', reason_code: 'success', is_superuser: true, is_anonymous: false, username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'client.check_authn_complete', clientid: 'c_emqx', reason_code: 'sucess', is_superuser: true, is_anonymous: false, username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'session.subscribed', clientid: 'c_emqx', qos: 1, topic: 't/a', username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'session.unsubscribed', clientid: 'c_emqx', qos: 1, topic: 't/a', username: 'u_emqx' }, false),
  smoke(ALL_FROM_T, { event: 'delivery.dropped', ...DELIVERY, reason: 'queue_full' }, false),
  smoke('SELECT\n  *\nFROM\n  "t/#", "$bridges/mqtt:source" ', { event: 'message.publish', ...PUB }, true),
  smoke('SELECT\n  *\nFROM\n  "t/#", "$sources/mqtt:source" ', { event: 'message.publish', ...PUB }, true),
  smoke('SELECT\n  *\nFROM\n  "t/#", "$events/session_unsubscribed" ', { event: 'session.unsubscribed', clientid: 'c_emqx', qos: 1, topic: 't/a', username: 'u_emqx' }, true),
  smoke(
    'SELECT\n  *\nFROM\n  "$events/message_dropped", "$events/session_unsubscribed" ',
    { event: 'session.unsubscribed', clientid: 'c_emqx', qos: 1, topic: 't/a', username: 'u_emqx' },
    true,
  ),
  smoke(
    'SELECT\n  *\nFROM\n  "$events/message_dropped", "$events/client_connected" ',
    { event: 'session.unsubscribed', clientid: 'c_emqx', qos: 1, topic: 't/a', username: 'u_emqx' },
    false,
  ),

  ctx(
    't_ctx_pub',
    'SELECT payload.msg as msg, clientid, username, payload, topic, qos FROM "t/#"',
    { clientid: 'c_emqx', payload: '{"msg": "hello"}', qos: 1, topic: 't/a', username: 'u_emqx' },
    { msg: 'hello', clientid: 'c_emqx', username: 'u_emqx', payload: '{"msg": "hello"}', topic: 't/a', qos: 1 },
  ),
  ctx(
    't_ctx_sub',
    'SELECT clientid, username, topic, qos FROM "$events/session_subscribed"',
    { event: 'session.subscribed', clientid: 'c_emqx', qos: 1, topic: 't/a', username: 'u_emqx' },
    { clientid: 'c_emqx', username: 'u_emqx', topic: 't/a', qos: 1 },
  ),
  ctx(
    't_ctx_unsub',
    'SELECT clientid, username, topic, qos FROM "$events/session_unsubscribed"',
    { event: 'session.unsubscribed', clientid: 'c_emqx', qos: 1, topic: 't/a', username: 'u_emqx' },
    { clientid: 'c_emqx', username: 'u_emqx', topic: 't/a', qos: 1 },
  ),
  ctx(
    't_ctx_delivered',
    'SELECT from_clientid, from_username, topic, qos FROM "$events/message_delivered"',
    { event: 'message.delivered', clientid: 'c_emqx_2', from_clientid: 'c_emqx_1', from_username: 'u_emqx_1', payload: '{"msg": "hello"}', qos: 1, topic: 't/a', username: 'u_emqx_2' },
    { from_clientid: 'c_emqx_1', from_username: 'u_emqx_1', topic: 't/a', qos: 1 },
  ),
  ctx(
    't_ctx_acked',
    'SELECT from_clientid, from_username, topic, qos FROM "$events/message_acked"',
    { event: 'message.acked', clientid: 'c_emqx_2', from_clientid: 'c_emqx_1', from_username: 'u_emqx_1', payload: '{"msg": "hello"}', qos: 1, topic: 't/a', username: 'u_emqx_2' },
    { from_clientid: 'c_emqx_1', from_username: 'u_emqx_1', topic: 't/a', qos: 1 },
  ),
  ctx(
    't_ctx_droped',
    'SELECT reason, topic, qos FROM "$events/message_dropped"',
    { event: 'message.dropped', clientid: 'c_emqx', payload: '{"msg": "hello"}', qos: 1, reason: 'no_subscribers', topic: 't/a', username: 'u_emqx' },
    { reason: 'no_subscribers', topic: 't/a', qos: 1 },
  ),
  ctx(
    't_ctx_connected',
    'SELECT clientid, username, keepalive, is_bridge FROM "$events/client_connected"',
    { event: 'client.connected', clean_start: true, clientid: 'c_emqx', is_bridge: false, peername: '127.0.0.1:52918', username: 'u_emqx' },
    { clientid: 'c_emqx', username: 'u_emqx', is_bridge: false },
  ),
  ctx(
    't_ctx_disconnected',
    'SELECT clientid, username, reason FROM "$events/client_disconnected"',
    { event: 'client.disconnected', clientid: 'c_emqx', reason: 'normal', username: 'u_emqx' },
    { clientid: 'c_emqx', username: 'u_emqx', reason: 'normal' },
  ),
  ctx(
    't_ctx_connack',
    'SELECT clientid, username, reason_code FROM "$events/client_connack"',
    { event: 'client.connack', clean_start: true, clientid: 'c_emqx', reason_code: 'success', username: 'u_emqx' },
    { clientid: 'c_emqx', username: 'u_emqx', reason_code: 'success' },
  ),
  ctx(
    't_ctx_check_authz_complete',
    'SELECT clientid, username, topic, action FROM "$events/client_check_authz_complete"',
    { event: 'client.check_authz_complete', action: 'publish', clientid: 'c_emqx', result: 'allow', topic: 't/1', username: 'u_emqx' },
    { clientid: 'c_emqx', username: 'u_emqx', topic: 't/1', action: 'publish' },
  ),
  ctx(
    't_ctx_check_authn_complete',
    'SELECT clientid, is_superuser, is_anonymous FROM "$events/client_check_authn_complete"',
    { event: 'client.check_authn_complete', clientid: 'c_emqx', reason_code: 'success', is_superuser: true, is_anonymous: false },
    { clientid: 'c_emqx', is_superuser: true, is_anonymous: false },
  ),
  ctx(
    't_ctx_delivery_dropped',
    'SELECT from_clientid, from_username, reason, topic, qos FROM "$events/delivery_dropped"',
    { event: 'delivery.dropped', clientid: 'c_emqx_2', from_clientid: 'c_emqx_1', from_username: 'u_emqx_1', payload: '{"msg": "hello"}', qos: 1, reason: 'queue_full', topic: 't/a', username: 'u_emqx_2' },
    { from_clientid: 'c_emqx_1', from_username: 'u_emqx_1', reason: 'queue_full', topic: 't/a', qos: 1 },
  ),
  {
    group: 'sqltester',
    from: `${S}:t_mongo_date_function_should_return_string_in_test_env`,
    expr: "regex_match(str(mongo_date()), '^ISODate\\([0-9]{4}-[0-9]{2}-[0-9]{2}T.*\\)$')",
    value: true,
  },
];

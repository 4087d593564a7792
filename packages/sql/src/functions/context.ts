import { JsonLimitError, decodeJson } from '../json';
import { exactEquals, matchTopicText } from '../operators';
import { isMap, type SqlMap, type SqlValue } from '../values';
import { badArg, fnError, integer, list, text, type FunctionContext, type FunctionDef } from './args';
import { nestedGet } from './maps';

/**
 * Functions that read the message (RULE-SQL.md §8.1, §4.11). Inside WHERE / INCASE EMQX passes the
 * context in another shape, so they see no message there and return undefined (flags() returns {}).
 */
function column(name: string, key: string = name): FunctionDef {
  return [name, 0, 0, (_args, ctx) => (ctx.inCondition ? undefined : col(ctx, key))];
}

function col(ctx: FunctionContext, key: string): SqlValue {
  return ctx.input[key] as SqlValue;
}

function topicLevel(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const n = integer('topic', 1, args[0]);
  if (ctx.inCondition) return undefined;
  const topic = col(ctx, 'topic');
  if (topic === undefined) return undefined;
  const levels = text('topic', 0, topic).split('/');
  // lists:nth/2: 1-based, anything out of range is an error.
  if (n < 1 || n > levels.length) throw fnError('topic', `topic ${JSON.stringify(topic)} has no level ${n}`);
  return levels[n - 1];
}

function payloadPath(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const path = text('payload', 1, args[0]);
  if (ctx.inCondition) return undefined;
  let payload = col(ctx, 'payload');
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    try {
      payload = decodeJson(typeof payload === 'string' ? payload : payload.toString('utf8'));
    } catch (error) {
      throw fnError('payload', `the payload ${error instanceof JsonLimitError ? `is ${error.message}` : 'is not valid JSON'}`);
    }
  }
  return nestedGet(payload, path.split('.'));
}

/** contains_topic / contains_topic_match: Filters is a list of {topic, qos} maps. */
function containsTopic(name: string, match: boolean) {
  return (args: readonly SqlValue[]): SqlValue => {
    const filters = list(name, 1, args[0]);
    const topic = text(name, 2, args[1]);
    const withQos = args.length === 3;
    for (const entry of filters) {
      if (!isMap(entry)) continue;
      const filter = entry['topic'];
      if (typeof filter !== 'string') continue;
      const hit = match ? matchTopicText(topic, filter) : filter === topic;
      if (!hit) continue;
      if (!withQos) return true;
      return exactEquals(entry['qos'], args[2]);
    }
    return false;
  };
}

function coalesce(name: string, skipEmpty: boolean) {
  const usable = (v: SqlValue): boolean => v !== undefined && !(skipEmpty && v === '');
  return (args: readonly SqlValue[]): SqlValue => {
    if (args.length === 1) {
      const values = Array.isArray(args[0]) ? args[0] : badArg(name, 1, 'an array (or give two arguments)', args[0]);
      for (const v of values) if (usable(v)) return v;
      return undefined;
    }
    return usable(args[0]) ? args[0] : args[1];
  };
}

export const CONTEXT_FUNCTIONS: readonly FunctionDef[] = [
  column('msgid', 'id'),
  column('qos'),
  column('clientid'),
  column('username'),
  column('peerhost'),
  column('clientip', 'peerhost'),
  [
    'topic',
    0,
    1,
    (args, ctx) => (args.length === 1 ? topicLevel(args, ctx) : ctx.inCondition ? undefined : col(ctx, 'topic')),
  ],
  [
    'payload',
    0,
    1,
    (args, ctx) => (args.length === 1 ? payloadPath(args, ctx) : ctx.inCondition ? undefined : col(ctx, 'payload')),
  ],
  [
    'flags',
    0,
    0,
    (_a, ctx) => {
      const flags = ctx.inCondition ? undefined : col(ctx, 'flags');
      return flags === undefined ? ({} as SqlMap) : flags;
    },
  ],
  [
    'flag',
    1,
    1,
    (args, ctx) => {
      const name = text('flag', 1, args[0]);
      if (ctx.inCondition) return undefined;
      return nestedGet(col(ctx, 'flags'), [name]);
    },
  ],
  ['contains_topic', 2, 3, containsTopic('contains_topic', false)],
  ['contains_topic_match', 2, 3, containsTopic('contains_topic_match', true)],
  ['null', 0, 0, () => undefined],
  ['coalesce', 1, 2, coalesce('coalesce', false)],
  ['coalesce_ne', 1, 2, coalesce('coalesce_ne', true)],
];

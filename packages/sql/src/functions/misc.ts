import { randomUUID } from 'node:crypto';
import type { SqlValue } from '../values';
import { text, type FunctionContext, type FunctionDef } from './args';
import { JQ_FUNCTIONS } from './jq';
import { stateKey, stateOf } from './state';

/** UUIDs, environment and state (RULE-SQL.md §8.10), and jq (RULE-SQL.md §8.4, in jq.ts). */

const state = stateOf;

/** getenv(Name): OS variable EMQXVAR_<Name>, '' when unset; cached after the first read as in EMQX. */
function getenv(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const name = text('getenv', 1, args[0]);
  const s = state(ctx);
  let value = s.envCache.get(name);
  if (value === undefined) {
    value = s.readEnv(`EMQXVAR_${name}`) ?? '';
    s.envCache.set(name, value);
  }
  return value;
}

export const MISC_FUNCTIONS: readonly FunctionDef[] = [
  ['uuid_v4', 0, 0, () => randomUUID()],
  ['uuid_v4_no_hyphen', 0, 0, () => randomUUID().replace(/-/g, '')],
  ['getenv', 1, 1, getenv],
  // proc_dict_put/del return the previous value (erlang:put/erase), undefined when there was none.
  ['proc_dict_get', 1, 1, (args, ctx) => state(ctx).procDict.get(stateKey(args[0]))],
  [
    'proc_dict_put',
    2,
    2,
    (args, ctx) => {
      const dict = state(ctx).procDict;
      const key = stateKey(args[0]);
      const previous = dict.get(key);
      dict.set(key, args[1]);
      return previous;
    },
  ],
  [
    'proc_dict_del',
    1,
    1,
    (args, ctx) => {
      const dict = state(ctx).procDict;
      const key = stateKey(args[0]);
      const previous = dict.get(key);
      dict.delete(key);
      return previous;
    },
  ],
  [
    'kv_store_get',
    1,
    2,
    (args, ctx) => {
      const store = state(ctx).kvStore;
      const key = stateKey(args[0]);
      return store.has(key) ? store.get(key) : args[1];
    },
  ],
  // ets:insert/delete return true.
  [
    'kv_store_put',
    2,
    2,
    (args, ctx) => {
      state(ctx).kvStore.set(stateKey(args[0]), args[1]);
      return true;
    },
  ],
  [
    'kv_store_del',
    1,
    1,
    (args, ctx) => {
      state(ctx).kvStore.delete(stateKey(args[0]));
      return true;
    },
  ],
  ...JQ_FUNCTIONS,
];

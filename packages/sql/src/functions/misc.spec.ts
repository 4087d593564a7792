import { describe, expect, it } from '@jest/globals';
import { RuleEvaluationError } from '@sluice/core';
import type { SqlValue } from '../values';
import { createFunctionState, functionNames, lookupFunction, type FunctionContext } from './index';

const call = (c: FunctionContext, name: string, ...args: SqlValue[]): SqlValue => lookupFunction(name)!(args, c);
const fresh = (env: Record<string, string> = {}): FunctionContext => ({
  input: {},
  inCondition: false,
  state: createFunctionState({ readEnv: (name) => env[name] }),
});

describe('uuid', () => {
  it('uuid_v4 is a random version-4 UUID', () => {
    const c = fresh();
    const a = call(c, 'uuid_v4') as string;
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(call(c, 'uuid_v4')).not.toBe(a);
  });

  it('uuid_v4_no_hyphen has 32 hex digits', () => {
    expect(call(fresh(), 'uuid_v4_no_hyphen')).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  });
});

describe('getenv', () => {
  it('reads EMQXVAR_<Name> through the injected reader', () => {
    const c = fresh({ EMQXVAR_REGION: 'eu-1' });
    expect(call(c, 'getenv', 'REGION')).toBe('eu-1');
    expect(call(c, 'getenv', 'MISSING')).toBe('');
  });

  it('caches the first read, as EMQX does', () => {
    const env: Record<string, string> = { EMQXVAR_X: 'one' };
    const c = fresh(env);
    expect(call(c, 'getenv', 'X')).toBe('one');
    env['EMQXVAR_X'] = 'two';
    expect(call(c, 'getenv', 'X')).toBe('one');
  });

  it('raises on a non-string name', () => {
    expect(() => call(fresh(), 'getenv', 1)).toThrow(RuleEvaluationError);
  });
});

describe('kv_store_* and proc_dict_*', () => {
  it('kv_store keeps values per state', () => {
    const a = fresh();
    const b = fresh();
    expect(call(a, 'kv_store_get', 'k')).toBeUndefined();
    expect(call(a, 'kv_store_get', 'k', 'dflt')).toBe('dflt');
    expect(call(a, 'kv_store_put', 'k', { v: 1 })).toBe(true);
    expect(call(a, 'kv_store_get', 'k')).toEqual({ v: 1 });
    expect(call(b, 'kv_store_get', 'k')).toBeUndefined();
    expect(call(a, 'kv_store_del', 'k')).toBe(true);
    expect(call(a, 'kv_store_get', 'k', 0)).toBe(0);
  });

  it('kv_store keys are terms: 1, 1.5 and "1" are different keys', () => {
    const c = fresh();
    call(c, 'kv_store_put', 1, 'int');
    call(c, 'kv_store_put', '1', 'str');
    call(c, 'kv_store_put', [1], 'list');
    expect(call(c, 'kv_store_get', 1)).toBe('int');
    expect(call(c, 'kv_store_get', '1')).toBe('str');
    expect(call(c, 'kv_store_get', [1])).toBe('list');
    expect(call(c, 'kv_store_get', 1.5)).toBeUndefined();
  });

  it('kv_store stores undefined as a value', () => {
    const c = fresh();
    call(c, 'kv_store_put', 'k', undefined);
    expect(call(c, 'kv_store_get', 'k', 'dflt')).toBeUndefined();
  });

  it('proc_dict_put and proc_dict_del return the previous value', () => {
    const c = fresh();
    expect(call(c, 'proc_dict_get', 'k')).toBeUndefined();
    expect(call(c, 'proc_dict_put', 'k', 1)).toBeUndefined();
    expect(call(c, 'proc_dict_put', 'k', 2)).toBe(1);
    expect(call(c, 'proc_dict_get', 'k')).toBe(2);
    expect(call(c, 'proc_dict_del', 'k')).toBe(2);
    expect(call(c, 'proc_dict_get', 'k')).toBeUndefined();
    expect(call(c, 'proc_dict_del', 'k')).toBeUndefined();
  });

  it('without a state in the context, a process-wide default is shared', () => {
    const c: FunctionContext = { input: {}, inCondition: false };
    call(c, 'kv_store_put', 'shared-key', 1);
    expect(call({ input: {}, inCondition: true }, 'kv_store_get', 'shared-key')).toBe(1);
    call(c, 'kv_store_del', 'shared-key');
  });

  it.each<[string, SqlValue[]]>([
    ['kv_store_get', []],
    ['kv_store_put', ['k']],
    ['proc_dict_get', []],
    ['proc_dict_put', ['k', 1, 2]],
  ])('%s(%p) raises on the argument count', (name, args) => {
    expect(() => call(fresh(), name, ...args)).toThrow(RuleEvaluationError);
  });
});

describe('registry', () => {
  it('has every function RULE-SQL.md §8.1-8.10 lists', () => {
    const listed = `msgid qos topic clientid username peerhost clientip payload flags flag contains_topic
      contains_topic_match null coalesce coalesce_ne abs ceil floor round sqrt exp log log10 log2 sin cos tan
      asin acos atan sinh cosh tanh asinh acosh atanh power fmod random div mod eq is_null is_not_null
      is_null_var is_not_null_var is_str is_bool is_int is_float is_num is_map is_array is_empty str str_utf8
      str_utf16_le int float float2str bool map bin2hexstr hexstr2bin sqlserver_bin2hexstr lower upper trim
      ltrim rtrim reverse strlen substr rm_prefix concat split tokens pad replace regex_match regex_replace
      regex_extract ascii find join_to_string join_to_sql_values_string map_to_redis_hset_args sprintf
      sprintf_s unescape jq map_new map_get map_put mget mput map_keys map_values map_to_entries map_size nth
      length sublist first last contains md5 sha sha256 hash gzip gunzip zip unzip zip_compress zip_uncompress
      base64_encode base64_decode json_encode json_decode term_encode term_decode bitnot bitand bitor bitxor
      bitsl bitsr bitsize bytesize subbits now_timestamp now_rfc3339 unix_ts_to_rfc3339 rfc3339_to_unix_ts
      format_date date_to_unix_ts timezone_to_offset_seconds timezone_to_second mongo_date uuid_v4
      uuid_v4_no_hyphen getenv proc_dict_get proc_dict_put proc_dict_del kv_store_get kv_store_put
      kv_store_del schema_decode schema_encode schema_check sparkplug_decode sparkplug_encode`.split(/\s+/);
    expect(listed.filter((name) => lookupFunction(name) === undefined)).toEqual([]);
    expect(functionNames().filter((name) => !listed.includes(name))).toEqual([]);
  });

  it('is case-sensitive and knows no other names', () => {
    expect(lookupFunction('ABS')).toBeUndefined();
    expect(lookupFunction('no_such_function')).toBeUndefined();
    expect(lookupFunction('toString')).toBeUndefined();
  });
});

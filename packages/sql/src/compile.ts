import type { CompiledRule, RuleInput, RuleOutput } from '@sluice/core';
import type { Expr, ExprField, Field, ForeachStatement, PathSegment, SelectStatement, Statement } from './ast';
import {
  type Getter,
  type KeySet,
  type Predicate,
  type Scope,
  asEvaluationError,
  compileCondition,
  compileExpr,
  compileRefIn,
} from './compile-expr';
import { Env, columnValue, tryDecode } from './env';
import { defaultFunctionState, type FunctionState } from './functions/state';
import type { ParseLimits } from './parse-limits';
import { checkForeachLength, compilingLimits, fanoutSize, fanoutSizeOfMap, fanoutTooBig, tooManyOutputs } from './limits';
import { matchTopicText } from './operators';
import { type KeyedField, compileKeyedFields, isLiteralKey } from './output-shape';
import { perSite } from './per-site';
import { type RuleMetadata, compilingMetadata, ruleMetadata, withRuleMetadata } from './rule-metadata';
import { canonicalEventTopic, eventTopicOf, isEventTopic } from '@sluice/core';
import { type PutStep, putPath, setKey } from './paths';
import type { SqlMap, SqlValue } from './values';

export interface CompileOptions {
  /** State of the stateful built-ins (kv_store_*, proc_dict_*, getenv); default: one per process. */
  readonly functionState?: FunctionState;
  /** Size and nesting limits of the rule text; default: DEFAULT_PARSE_LIMITS (parse-limits.ts). */
  readonly parseLimits?: ParseLimits;
  /** The rule's id, shown as `metadata.rule_id` (rule-metadata.ts); without it `metadata` is read from the input. */
  readonly ruleId?: string;
}

/**
 * Turns a parsed rule into closures, once. evaluate() then runs them per message: no syntax tree walk,
 * no parsing, one Env and the output maps allocated per call.
 */
export function compileStatement(statement: Statement, options: CompileOptions = {}): CompiledRule {
  const state = options.functionState ?? defaultFunctionState;
  const matches = compileFrom(statement.from);
  const run = withRuleMetadata(ruleMetadata(options.ruleId), () => (statement.type === 'select' ? compileSelect(statement) : compileForeach(statement)));
  // One compiled evaluate per rule (per-site.ts): its calls to this rule's matcher and field list then
  // have a single target each and inline, where one shared evaluate would see every rule's.
  const evaluate = perSite<(...deps: unknown[]) => (input: RuleInput) => RuleOutput[]>(
    ['matches', 'run', 'Env', 'state', 'asEvaluationError', 'eventTopicOf'],
    `return function evaluate(input) {
  const event = input.event;
  const topic = event === 'message.publish' || event === undefined ? input.topic : eventTopicOf(event);
  if (typeof topic !== 'string' || !matches(topic)) return [];
  const env = new Env(input, state);
  try {
    return run(env);
  } catch (error) {
    throw asEvaluationError(error);
  }
};`,
  )(matches, run, Env, state, asEvaluationError, eventTopicOf);
  return { topics: Object.freeze([...statement.from]), evaluate };
}

/**
 * FROM: filters without wildcards compare as strings; the others go through the MQTT matcher (§5.1, §6).
 * Events are matched by their event topic (evaluate derives it from the `event` column, never from `topic`),
 * under its current name: a legacy name (`$events/client_connected`) is made current here.
 */
function compileFrom(parsed: readonly string[]): (topic: string) => boolean {
  const filters = parsed.map((f) => flatString(isEventTopic(f) ? canonicalEventTopic(f) : f));
  const exact = new Set(filters.filter((f) => !f.includes('+') && !f.includes('#')));
  const wild = filters.filter((f) => !exact.has(f));
  if (wild.length === 0) {
    if (exact.size === 1) {
      const only = filters[0] as string;
      return (topic) => topic === only;
    }
    return (topic) => exact.has(topic);
  }
  const matchers = wild.map(compileTopicFilter);
  if (exact.size === 0 && matchers.length === 1) return matchers[0] as (topic: string) => boolean;
  return (topic) => exact.has(topic) || matchers.some((match) => match(topic));
}

/**
 * A flat copy of a string. The parser's strings are slices of the rule text; comparing a topic against
 * a slice goes through V8's slow path every time (~9% of the seed rule's evaluation in a CPU profile).
 * V8 stores property keys flat (internalized), so a key read back is one.
 */
function flatString(s: string): string {
  return Object.keys({ [s]: true })[0] ?? s;
}

/**
 * One wildcard filter. `a/b/#` (the usual form: no other wildcard, a literal first level) is a prefix
 * test, as a hand-written check would be: the topic is `a/b` itself or starts with `a/b/`. The `$`
 * rule cannot apply since the filter does not start with a wildcard. Other filters use the matcher.
 */
export function compileTopicFilter(filter: string): (topic: string) => boolean {
  const prefix = flatString(filter.slice(0, -2));
  if (filter.endsWith('/#') && prefix !== '' && !prefix.includes('+') && !prefix.includes('#')) {
    const withSlash = flatString(`${prefix}/`);
    return (topic) => topic === prefix || topic.startsWith(withSlash);
  }
  return (topic) => matchTopicText(topic, filter);
}

type Run = (env: Env) => SqlMap[];

function compileSelect(statement: SelectStatement): Run {
  const fields = compileFields(statement.fields, { localKeys: new Set(), itemName: undefined });
  const where = statement.where === undefined
    ? undefined
    : compileCondition(statement.where, { outputKeys: fields.keys, localKeys: new Set(), itemName: undefined }, true);
  const runFields = fields.run;
  if (where === undefined) {
    return (env) => {
      runFields(env);
      return [env.output];
    };
  }
  return (env) => {
    runFields(env);
    env.inCondition = true;
    return where(env) ? [env.output] : [];
  };
}

function compileForeach(statement: ForeachStatement): Run {
  const items = compileFields(statement.items, { localKeys: new Set(), itemName: undefined }, true);
  const collection = items.last;
  const last = statement.items[statement.items.length - 1] as Field;
  const itemName = last.type === 'field' && last.alias?.length === 1 ? (last.alias[0] as { key: string }).key : 'item';
  const localKeys = items.keys;
  // Object.assign is the fast copy; it would set a `__proto__` alias as the prototype (assignOwn).
  const copyLocals: (target: SqlMap, source: SqlMap) => void = items.mayWriteProto ? assignOwn : Object.assign;
  const whereScope: Scope = { outputKeys: new Set(), localKeys, itemName: undefined };
  const where = statement.where === undefined ? undefined : compileCondition(statement.where, whereScope, true);
  const itemScope = { localKeys, itemName };
  const incase = statement.incase === undefined
    ? undefined
    : compileCondition(statement.incase, { ...itemScope, outputKeys: new Set() }, true);
  const doFields = statement.do === undefined ? undefined : compileFields(statement.do, itemScope).run;
  const limits = compilingLimits();
  const metadata = compilingMetadata();

  return (env) => {
    items.run(env);
    const list = collection.value;
    collection.value = undefined;
    env.locals = env.output;
    env.output = {};
    if (where !== undefined) {
      env.inCondition = true;
      const pass = where(env);
      env.inCondition = false;
      if (!pass) return [];
    }
    const outputs: SqlMap[] = [];
    if (!Array.isArray(list)) return outputs; // a non-list collection: zero items, a successful empty result
    checkForeachLength(list.length, limits); // the collection itself: at most maxListLength items
    // What the outputs carry together (maxFanoutSize), from the top level of each value only. Without
    // DO, every output holds the same columns and aliases: weighed once, here, not per output.
    const shared = doFields === undefined ? fanoutSizeOfMap(env.input) + fanoutSizeOfMap(env.locals) : 0;
    let carried = 0;
    for (const element of list) {
      env.item = element;
      if (incase !== undefined) {
        env.inCondition = true;
        const keep = incase(env);
        env.inCondition = false;
        if (!keep) continue;
      }
      if (outputs.length === limits.maxOutputs) throw tooManyOutputs(limits);
      if (doFields === undefined) {
        carried += shared + fanoutSize(element);
        if (carried > limits.maxFanoutSize) throw fanoutTooBig(outputs.length + 1, carried, limits);
        // No DO: the columns, the FOREACH aliases and the element under its name (§1.5).
        const output: SqlMap = {};
        mergeColumns(output, env, metadata);
        copyLocals(output, env.locals);
        setKey(output, itemName, element);
        outputs.push(output);
      } else {
        doFields(env); // puts a fresh map in env.output
        carried += fanoutSizeOfMap(env.output);
        if (carried > limits.maxFanoutSize) throw fanoutTooBig(outputs.length + 1, carried, limits);
        outputs.push(env.output);
      }
    }
    return outputs;
  };
}

interface CompiledFields {
  readonly run: (env: Env) => void;
  /** Top-level keys the fields may write ('all' after `*`). */
  readonly keys: ReadonlySet<string> | 'all';
  /** The value of the last field, kept by run() for FOREACH (the collection). */
  readonly last: { value: SqlValue };
  /** Whether the map built may hold an own `__proto__` key (a target of that name, or `*`). */
  readonly mayWriteProto: boolean;
}

/**
 * Object.assign for an output map: copies every own key, `__proto__` included, as an own key.
 * (Object.assign sets keys, and setting `__proto__` replaces the target's prototype: a FOREACH alias
 * named "__proto__" swapped the prototype of every output.)
 */
function assignOwn(target: SqlMap, source: SqlMap): void {
  for (const key in source) {
    if (hasOwn.call(source, key)) setKey(target, key, source[key]);
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `*` merges the columns (and, in DO, the FOREACH aliases and item) into the map being built (§4.4); the
 * columns include the rule's `metadata` (rule-metadata.ts).
 */
function mergeColumns(output: SqlMap, env: Env, metadata: RuleMetadata): void {
  const input = env.input;
  for (const key in input) {
    if (Object.prototype.hasOwnProperty.call(input, key)) setKey(output, key, columnValue(input, key));
  }
  if (metadata !== undefined) output['metadata'] = metadata;
}

function compileFields(
  fields: readonly Field[],
  base: Pick<Scope, 'localKeys' | 'itemName'>,
  isForeachList = false,
): CompiledFields {
  let keys: Set<string> | 'all' = new Set();
  // The field that first wrote each key: a field's scope is the keys of the fields before it, a view of
  // this map (a copy of the key set per field made compiling a long field list quadratic).
  const firstWriter = new Map<string, number>();
  const writtenBefore = (position: number): KeySet => ({ has: (key) => (firstWriter.get(key) ?? position) < position });
  const runners: ((env: Env) => void)[] = [];
  const last = { value: undefined as SqlValue };
  // Fields that each write one plain top-level key; when every field does (and no FOREACH list needs its
  // last value), the list runs as one generated function instead of the runners.
  const keyed: KeyedField[] = [];
  let mayWriteProto = false;
  fields.forEach((field, i) => {
    const isLast = i === fields.length - 1;
    if (field.type === 'all') {
      const inForeachBody = base.itemName !== undefined;
      const itemName = base.itemName;
      const metadata = compilingMetadata();
      runners.push((env) => {
        mergeColumns(env.output, env, metadata);
        if (inForeachBody) {
          assignOwn(env.output, env.locals);
          setKey(env.output, itemName as string, env.item);
        }
        if (isLast) last.value = undefined;
      });
      keys = 'all';
      mayWriteProto = true;
      return;
    }
    const scope: Scope = { ...base, outputKeys: keys === 'all' ? 'all' : writtenBefore(i) };
    const starBefore = keys === 'all';
    let getter = compileExpr(field.expr, scope);
    if (isForeachList && isLast && isBarePayload(field.expr)) getter = decodingPayload(getter);
    const target = targetOf(field, i + 1, starBefore);
    if (target.key === '__proto__') mayWriteProto = true;
    // An un-aliased path (`payload.a.b`) writes a partial copy of its root; later fields must still read
    // the root from the columns, or `SELECT payload.a, payload.b` would lose b. So it does not shadow.
    const shadows = field.alias !== undefined || (field.expr.type !== 'path' && field.expr.type !== 'slice');
    if (keys !== 'all' && shadows) {
      keys.add(target.key);
      if (!firstWriter.has(target.key)) firstWriter.set(target.key, i);
    }
    if (target.single && isLiteralKey(target.key)) keyed.push({ key: target.key, get: getter });
    const write = target.write;
    runners.push(
      isLast
        ? (env) => {
            const value = getter(env);
            last.value = value;
            write(env, value);
          }
        : (env) => write(env, getter(env)),
    );
  });
  if (!isForeachList && keyed.length === fields.length && keyed.length > 0 && keyed.length <= MAX_GENERATED_FIELDS) {
    return { run: compileKeyedFields(keyed), keys, last, mayWriteProto };
  }
  const inOrder = runnersInOrder(runners);
  const run = (env: Env): void => {
    env.output = {};
    inOrder(env);
  };
  return { run, keys, last, mayWriteProto };
}

/**
 * Longest field list run as one generated function. Past this, V8 compiles the function (one parameter
 * per field) slowly and runs it no faster than the runner loop: 30,000 fields took 0.4 s to compile and
 * 9 ms per message, against a few ms for the loop.
 */
const MAX_GENERATED_FIELDS = 256;

function runnersInOrder(runners: readonly ((env: Env) => void)[]): (env: Env) => void {
  if (runners.length === 1) return runners[0] as (env: Env) => void;
  if (runners.length === 2) {
    const [a, b] = runners as [(env: Env) => void, (env: Env) => void];
    return (env) => {
      a(env);
      b(env);
    };
  }
  return (env) => {
    for (let i = 0; i < runners.length; i++) (runners[i] as (env: Env) => void)(env);
  };
}

const isBarePayload = (expr: Expr): boolean => expr.type === 'var' && expr.name === 'payload';

/** `FOREACH payload` reads a JSON-array payload as its list (EMQX 5.9+); a non-JSON payload gives no items. */
function decodingPayload(getter: Getter): Getter {
  return (env) => {
    const value = getter(env);
    return typeof value === 'string' || Buffer.isBuffer(value) ? tryDecode(value) : value;
  };
}

interface Target {
  /** The top-level output key written. */
  readonly key: string;
  /** True when the target is that key alone (no nested path below it). */
  readonly single: boolean;
  readonly write: (env: Env, value: SqlValue) => void;
}

/**
 * Where a field's value goes (§4.4): its AS target, or the key derived from the expression: a name, the
 * same nested path, a slice's ref, a string literal's text, else a generated `_v_<kind>_<position>` key.
 */
function targetOf(field: ExprField, position: number, starBefore: boolean): Target {
  if (field.alias !== undefined) return compileTarget(field.alias, isPayloadRooted(field.alias));
  const expr = field.expr;
  switch (expr.type) {
    case 'var':
      return compileTarget([{ type: 'key', key: expr.name }], false);
    case 'path':
      // An implicit payload.x decodes an output payload string and keeps its siblings, as AS payload.x
      // does (EMQX t_sqlparse_array_index_3: `SELECT payload, payload.x[2].y` keeps all of payload);
      // after `*` any root does (§4.4).
      return compileTarget(expr.segments, starBefore || isPayloadRooted(expr.segments));
    case 'slice': {
      const segments: readonly PathSegment[] = expr.ref.type === 'var' ? [{ type: 'key', key: expr.ref.name }] : expr.ref.segments;
      return compileTarget(segments, starBefore || isPayloadRooted(segments));
    }
    case 'const':
      if (expr.kind === 'string') return compileTarget([{ type: 'key', key: expr.value as string }], false);
      return compileTarget([{ type: 'key', key: `_v_const_${position}` }], false);
    case 'call':
      return compileTarget([{ type: 'key', key: `_v_fun_${expr.name}_${position}` }], false);
    default:
      return compileTarget([{ type: 'key', key: `_v_${expr.type}_${position}` }], false);
  }
}

const isPayloadRooted = (segments: readonly PathSegment[]): boolean => segments[0]?.type === 'key' && segments[0].key === 'payload';

function compileTarget(segments: readonly PathSegment[], decodeFirstString: boolean): Target {
  const key = (segments[0] as { key: string }).key;
  if (segments.length === 1) {
    if (key === '__proto__') return { key, single: true, write: (env, value) => setKey(env.output, key, value) };
    return {
      key,
      single: true,
      write: (env, value) => {
        env.output[key] = value;
      },
    };
  }
  const dynamic = segments.some((s) => s.type === 'index' && typeof s.index === 'object');
  if (!dynamic) {
    const steps: PutStep[] = segments.map((s) => (s.type === 'key' ? { key: s.key } : { index: s.index as number | 'head' | 'tail' }));
    return { key, single: false, write: (env, value) => putPath(env.output, steps, value, decodeFirstString) };
  }
  // An index ref in a target is resolved against the output map being built (§4.2).
  const stepMakers = segments.map((s): ((env: Env) => PutStep) => {
    if (s.type === 'key') {
      const step = { key: s.key };
      return () => step;
    }
    if (typeof s.index !== 'object') {
      const step = { index: s.index };
      return () => step;
    }
    const index = compileRefIn(s.index, (env) => env.output);
    return (env) => ({ index: index(env) });
  });
  return {
    key,
    single: false,
    write: (env, value) => putPath(env.output, stepMakers.map((make) => make(env)), value, decodeFirstString),
  };
}

export type { Predicate };

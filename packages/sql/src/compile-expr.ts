import { IntegrationError, RuleEvaluationError } from '@sluice/core';
import type { CaseExpr, CallExpr, CompareExpr, Condition, Expr, PathSegment, Ref, SliceExpr } from './ast';
import { type Env, columnReader } from './env';
import { arityError, lookupFunctionEntry, type SqlFunction } from './functions';
import { add, compare, divide, exactEquals, intDiv, multiply, negate, rem, subtract, topicMatch } from './operators';
import { compileRange, compilingLimits } from './limits';
import { getIndex, getKey, keyGetter } from './paths';
import { perSite } from './per-site';
import { compilingMetadata, metadataReader } from './rule-metadata';
import { isNumber, makeFloat, type SqlMap, type SqlValue } from './values';

/** A compiled expression: reads the Env of one evaluation, never the syntax tree. */
export type Getter = (env: Env) => SqlValue;
/** A compiled condition: true only when EMQX's match_conditions would be satisfied. */
export type Predicate = (env: Env) => boolean;

/**
 * Where names are looked up, decided at compile time (RULE-SQL.md §4.1): the map being built first
 * (`env.output`, when an earlier field may have written the name), then the FOREACH item, then the
 * FOREACH aliases (`env.locals`), then the columns.
 */
export interface Scope {
  /** Top-level keys earlier fields may have written to env.output; 'all' after `*`. */
  readonly outputKeys: KeySet | 'all';
  /** Keys of env.locals (FOREACH aliases); 'all' when the FOREACH list holds `*`. */
  readonly localKeys: KeySet | 'all';
  /** The name the current FOREACH element is bound to, if any. */
  readonly itemName: string | undefined;
}

export const COLUMNS_ONLY: Scope = { outputKeys: new Set(), localKeys: new Set(), itemName: undefined };

const hasOwn = Object.prototype.hasOwnProperty;
/** What a Scope asks of a set of keys (a Set, or a view of one). */
export interface KeySet {
  has(key: string): boolean;
}

const has = (keys: KeySet | 'all', name: string): boolean => keys === 'all' || keys.has(name);

export function fail(message: string): never {
  throw new RuleEvaluationError(message);
}

/** A name, resolved through the scope's chain; undefined when found nowhere (never raises). */
export function compileName(name: string, scope: Scope): Getter {
  const inOutput = has(scope.outputKeys, name);
  const isItem = scope.itemName === name;
  const inLocals = has(scope.localKeys, name);
  // `metadata` is the rule's own constant (rule-metadata.ts), so it cannot share the per-name getter cache.
  const column = name === 'metadata' ? metadataReader(compilingMetadata(), columnReader(name)) : columnReader(name);
  if (!inOutput && !isItem && !inLocals) return name === 'metadata' ? (env) => column(env.input) : columnGetter(name);
  if (!isItem && !inLocals) {
    return (env) => (hasOwn.call(env.output, name) ? env.output[name] : column(env.input));
  }
  return (env) => {
    if (inOutput && hasOwn.call(env.output, name)) return env.output[name];
    if (isItem) return env.item;
    if (inLocals && hasOwn.call(env.locals, name)) return env.locals[name];
    return column(env.input);
  };
}

const columnGetters = new Map<string, Getter>();

/**
 * A column read as a Getter, one compiled function per name (shared by every rule): `env.input.clientid`
 * as a named load, monomorphic for inputs of one shape, where a shared closure's `input[name]` sees every
 * name (see per-site.ts). Names that need columnReader's checks (`payload`, inherited names) keep it.
 */
function columnGetter(name: string): Getter {
  let getter = columnGetters.get(name);
  if (getter === undefined) {
    if (name === 'payload' || name in Object.prototype) {
      const column = columnReader(name);
      getter = (env) => column(env.input);
    } else {
      getter = perSite<Getter>(['env'], `return env.input[${JSON.stringify(name)}];`);
    }
    columnGetters.set(name, getter);
  }
  return getter;
}

type Step = { readonly key: string; readonly index?: undefined } | { readonly key?: undefined; readonly index: Getter | number | 'head' | 'tail' };

/**
 * A path `a.b[1].c`. The first key is a name; `payload` read from the columns is the decoded payload
 * (raises when it is not JSON, §4.3). Index refs (`a[b]`) resolve against the root of the walk: the
 * decoded payload for payload paths, the scope otherwise (§4.2).
 */
export function compilePath(segments: readonly PathSegment[], scope: Scope): Getter {
  const [first, ...rest] = segments as [{ type: 'key'; key: string }, ...PathSegment[]];
  const name = first.key;
  const payloadFromColumns =
    name === 'payload' && !has(scope.outputKeys, 'payload') && scope.itemName !== 'payload' && !has(scope.localKeys, 'payload');
  const indexScope = payloadFromColumns ? 'payload' : scope;
  const steps: Step[] = rest.map((segment) => compileStep(segment, indexScope));
  const walk = compileWalk(steps);

  if (payloadFromColumns) {
    return perSite<(w: typeof walk) => Getter>(['walk'], 'return (env) => walk(env.decodedPayload(), env);')(walk);
  }
  const root = compileName(name, scope);
  if (name !== 'payload') return perSite<(w: typeof walk, r: Getter) => Getter>(['walk', 'root'], 'return (env) => walk(root(env), env);')(walk, root);
  // `payload` may have been rewritten by an earlier field; a raw payload string still decodes strictly.
  return (env) => {
    const value = root(env);
    return walk(value === env.input['payload'] && value !== undefined ? env.decodedPayload() : value, env);
  };
}

function compileStep(segment: PathSegment, indexScope: Scope | 'payload'): Step {
  if (segment.type === 'key') return { key: segment.key };
  const index = segment.index;
  if (typeof index === 'number' || index === 'head' || index === 'tail') return { index };
  return { index: indexScope === 'payload' ? compileRefIn(index, (env) => env.decodedPayload()) : compileRef(index, indexScope) };
}

function compileWalk(steps: readonly Step[]): (value: SqlValue, env: Env) => SqlValue {
  if (steps.every((s) => s.key !== undefined)) {
    // Key-only paths (`payload.a.b`, the common case) as one compiled function per site (per-site.ts):
    // each step a getKey call with a constant key, which inlines.
    const keys = steps.map((s) => s.key as string);
    const body = keys
      .map((key, i) => `  if (value === undefined) return undefined;\n  value = get${i}(value, ${JSON.stringify(key)});`)
      .join('\n');
    const make = perSite<(...get: (typeof getKey)[]) => (value: SqlValue) => SqlValue>(
      keys.map((_, i) => `get${i}`),
      `return (value) => {\n${body}\n  return value;\n};`,
    );
    return make(...keys.map(keyGetter));
  }
  return (value, env) => {
    for (const step of steps) {
      if (value === undefined) return undefined;
      if (step.key !== undefined) value = getKey(value, step.key);
      else if (typeof step.index === 'number') value = getIndex(value, step.index);
      else if (typeof step.index === 'function') value = getIndex(value, step.index(env));
      else value = undefined; // [0] and [-0] read as undefined
    }
    return value;
  };
}

export function compileRef(ref: Ref, scope: Scope): Getter {
  return ref.type === 'var' ? compileName(ref.name, scope) : compilePath(ref.segments, scope);
}

/** A ref whose first key is looked up in a given root (an index of a payload path, a write target). */
export function compileRefIn(ref: Ref, root: Getter): Getter {
  const segments: readonly PathSegment[] = ref.type === 'var' ? [{ type: 'key', key: ref.name }] : ref.segments;
  // Index refs nested inside resolve against the same root. Each segment is compiled once: compiling
  // it in the scope first and then again here made `a[a[a[...]]]` quadratic, `payload[payload[...]]`
  // exponential.
  const steps = segments.map((segment): Step => {
    if (segment.type === 'key') return { key: segment.key };
    const index = segment.index;
    return typeof index === 'object' ? { index: compileRefIn(index, root) } : { index };
  });
  const walk = compileWalk(steps);
  return (env) => walk(root(env), env);
}

export interface ExprOptions {
  readonly scope: Scope;
}

export function compileExpr(expr: Expr, scope: Scope): Getter {
  switch (expr.type) {
    case 'const': {
      const value: SqlValue = expr.kind === 'float' ? makeFloat(expr.value as number) : expr.value;
      return () => value;
    }
    case 'var':
      return compileName(expr.name, scope);
    case 'path':
      return compilePath(expr.segments, scope);
    case 'unary': {
      const operand = compileExpr(expr.operand, scope);
      if (expr.op === '-') return (env) => negate(operand(env));
      return (env) => {
        const value = operand(env);
        return isNumber(value) ? value : fail(`unary + needs a number, got ${describe(value)}`);
      };
    }
    case 'binary': {
      const left = compileExpr(expr.left, scope);
      const right = compileExpr(expr.right, scope);
      if (expr.op === '+') {
        // The engine's maxStringSize, read once here: string `+` checks its result against it.
        const maxStringSize = compilingLimits().maxStringSize;
        return (env) => add(left(env), right(env), maxStringSize);
      }
      const op = ARITHMETIC[expr.op] as (a: SqlValue, b: SqlValue) => SqlValue;
      return (env) => op(left(env), right(env));
    }
    case 'compare':
      return compileComparison(expr, scope);
    case 'call':
      return compileCall(expr, scope);
    case 'list': {
      const items = expr.items.map((item) => compileExpr(item, scope));
      return (env) => items.map((item) => item(env));
    }
    case 'range':
      // Bounded by the engine's maxListLength (limits.ts): an over-long literal is refused here.
      return compileRange(expr.from, expr.to);
    case 'slice':
      return compileSlice(expr, scope);
    case 'case':
      return compileCase(expr, scope);
  }
}

const ARITHMETIC: Readonly<Record<string, (a: SqlValue, b: SqlValue) => SqlValue>> = {
  '+': add,
  '-': subtract,
  '*': multiply,
  '/': divide,
  div: intDiv,
  mod: rem,
};

function compileComparison(expr: CompareExpr, scope: Scope): (env: Env) => boolean {
  const left = compileExpr(expr.left, scope);
  const right = compileExpr(expr.right, scope);
  const op = expr.op;
  switch (op) {
    case '=~':
      return (env) => topicMatch(left(env), right(env));
    case '~=':
      // Lexed and parsed by EMQX, but its runtime has no implementation: evaluating it raises.
      return () => fail('the operator ~= is not implemented (EMQX raises as well)');
    default:
      return perSite<(c: typeof compare, o: typeof op, l: Getter, r: Getter) => (env: Env) => boolean>(
        ['compare', 'op', 'left', 'right'],
        'return (env) => compare(op, left(env), right(env));',
      )(compare, op, left, right);
  }
}

/** Module prefixes EMQX accepts for `Module.func(...)`. */
const FUNCTION_MODULES = /^(emqx_rule_funcs|EmqxRuleFuncs)/;
const NO_ARGS: readonly SqlValue[] = Object.freeze([]);

function compileCall(expr: CallExpr, scope: Scope): Getter {
  const args = expr.args.map((arg) => compileExpr(arg, scope));
  const label = expr.module === undefined ? expr.name : `${expr.module}.${expr.name}`;
  if (expr.module !== undefined && !FUNCTION_MODULES.test(expr.module)) {
    return () => fail(`unknown function ${label}: module ${expr.module} is not a function module`);
  }
  // div and mod are operator tokens that may also be called as functions.
  if (expr.name === 'div' || expr.name === 'mod') {
    const op = expr.name === 'div' ? intDiv : rem;
    if (args.length !== 2) return () => fail(`${expr.name} takes 2 arguments, got ${args.length}`);
    const [a, b] = args as [Getter, Getter];
    return (env) => op(a(env), b(env));
  }
  const entry = lookupFunctionEntry(expr.name);
  if (entry === undefined) return () => fail(`unknown function ${label}`);
  // The argument count is fixed per call site: a wrong one still fails each evaluation (as EMQX does at
  // run time), but a right one costs nothing per message.
  if (arityError(expr.name, args.length) !== undefined) {
    return () => {
      throw arityError(expr.name, args.length) as Error;
    };
  }
  // A built-in may prepare itself for this site's literal arguments (a regex compiled once, per rule).
  const fn = entry.specialize?.(expr.args) ?? entry.fn;
  // One compiled copy per call site (see per-site.ts): the built-in and its argument getters inline.
  switch (args.length) {
    case 0:
      return perSite<(f: SqlFunction, none: readonly SqlValue[]) => Getter>(['fn', 'none'], 'return (env) => fn(none, env);')(fn, NO_ARGS);
    case 1:
      return perSite<(f: SqlFunction, ...a: Getter[]) => Getter>(['fn', 'a'], 'return (env) => fn([a(env)], env);')(fn, ...args);
    case 2:
      return perSite<(f: SqlFunction, ...a: Getter[]) => Getter>(['fn', 'a', 'b'], 'return (env) => fn([a(env), b(env)], env);')(fn, ...args);
    case 3:
      return perSite<(f: SqlFunction, ...a: Getter[]) => Getter>(['fn', 'a', 'b', 'c'], 'return (env) => fn([a(env), b(env), c(env)], env);')(fn, ...args);
    default:
      return (env) => fn(args.map((arg) => arg(env)), env);
  }
}

function compileSlice(expr: SliceExpr, scope: Scope): Getter {
  const ref = compileRef(expr.ref, scope);
  const { from, to } = expr;
  return (env) => {
    const list = ref(env);
    if (!Array.isArray(list)) return fail(`range_get: cannot slice ${describe(list)}, it is not a list`);
    const start = from < 0 ? list.length + from + 1 : from;
    const end = to < 0 ? list.length + to + 1 : to;
    if (from === 0 || to === 0) return fail('range_get: index 0 is out of range (indexes are 1-based)');
    return list.slice(Math.max(start, 1) - 1, Math.max(end, 0));
  };
}

function compileCase(expr: CaseExpr, scope: Scope): Getter {
  const otherwise = expr.else === undefined ? undefined : compileExpr(expr.else, scope);
  const thens = expr.whens.map((branch) => compileExpr(branch.then, scope));
  if (expr.subject === undefined) {
    // Searched form: a branch is taken when its condition is true; a call returning anything else moves on.
    const whens = expr.whens.map((branch) => compileCondition(branch.when, scope, false));
    // Unrolled into one function per site (per-site.ts): `if (w0(env)) return t0(env); ...`.
    const params = whens.flatMap((_, i) => [`w${i}`, `t${i}`]);
    const tests = whens.map((_, i) => `  if (w${i}(env)) return t${i}(env);`).join('\n');
    const make = perSite<(...fns: ((env: Env) => SqlValue)[]) => Getter>(
      [...params, 'otherwise'],
      `return (env) => {\n${tests}\n  return otherwise(env);\n};`,
    );
    return make(...whens.flatMap((when, i) => [when, thens[i] as Getter]), otherwise ?? (() => undefined));
  }
  // Simple form: exact term matching, no coercion (1 does not match 1.0 or '1').
  const subject = compileExpr(expr.subject, scope);
  const values = expr.whens.map((branch) => compileConditionAsValue(branch.when, scope));
  return (env) => {
    const value = subject(env);
    for (let i = 0; i < values.length; i++) {
      if (exactEquals(value, (values[i] as Getter)(env))) return (thens[i] as Getter)(env);
    }
    return otherwise === undefined ? undefined : otherwise(env);
  };
}

/** A condition evaluated by EMQX's expression evaluator, which has no and/or/not/in (they raise). */
function compileConditionAsValue(cond: Condition, scope: Scope): Getter {
  switch (cond.type) {
    case 'and':
    case 'or':
    case 'not':
    case 'in': {
      const what = cond.type === 'in' ? (cond.negated ? 'NOT IN' : 'IN') : cond.type.toUpperCase();
      return () => fail(`${what} cannot be evaluated as a value here (EMQX raises; push NOT inward or compare directly)`);
    }
    default:
      return compileExpr(cond, scope);
  }
}

/**
 * A condition (RULE-SQL.md §4.5). `strictCalls`: in WHERE / INCASE a function call must return a boolean
 * (anything else fails the rule); in CASE ... WHEN a non-true result just moves on.
 */
export function compileCondition(cond: Condition, scope: Scope, strictCalls: boolean): Predicate {
  switch (cond.type) {
    case 'and': {
      const left = compileCondition(cond.left, scope, strictCalls);
      const right = compileCondition(cond.right, scope, strictCalls);
      return perSite<(l: Predicate, r: Predicate) => Predicate>(['left', 'right'], 'return (env) => left(env) && right(env);')(left, right);
    }
    case 'or': {
      const left = compileCondition(cond.left, scope, strictCalls);
      const right = compileCondition(cond.right, scope, strictCalls);
      return perSite<(l: Predicate, r: Predicate) => Predicate>(['left', 'right'], 'return (env) => left(env) || right(env);')(left, right);
    }
    case 'not': {
      // NOT evaluates its operand as an expression: boolean ⇒ negated, any other value ⇒ false.
      const operand = compileConditionAsValue(cond.operand, scope);
      return (env) => operand(env) === false;
    }
    case 'in': {
      if (cond.negated) {
        return () => fail('NOT IN cannot be evaluated (EMQX raises): write x != a AND x != b');
      }
      const left = compileExpr(cond.left, scope);
      const items = cond.items.map((item) => compileExpr(item, scope));
      return (env) => {
        const value = left(env);
        for (const item of items) if (exactEquals(value, item(env))) return true;
        return false;
      };
    }
    case 'compare':
      return compileComparison(cond, scope);
    case 'const':
      if (cond.value === true || cond.value === false) {
        const value = cond.value;
        return () => value;
      }
      return () => fail(`${JSON.stringify(cond.value)} is not a condition: compare it with a value`);
    case 'call': {
      const call = compileCall(cond, scope);
      if (!strictCalls) return (env) => call(env) === true;
      return (env) => {
        const value = call(env);
        if (value === true || value === false) return value;
        return fail(`${cond.name}(...) returned ${describe(value)}, but a condition needs a boolean`);
      };
    }
    default:
      return () => fail(`a bare ${cond.type === 'var' || cond.type === 'path' ? 'field' : 'expression'} is not a condition: compare it, e.g. x = true`);
  }
}

export function describe(value: SqlValue): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (Array.isArray(value)) return 'a list';
  if (Buffer.isBuffer(value)) return 'binary data';
  if (value === null) return 'null';
  if (typeof value === 'object' && !isNumber(value)) return 'a map';
  return String(value);
}

/** Rethrows errors as RuleEvaluationError: anything else escaping a built-in is still a rule failure. */
export function asEvaluationError(error: unknown): IntegrationError {
  if (IntegrationError.is(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RuleEvaluationError(`evaluation failed: ${message}`, { cause: error });
}

export type { SqlMap };

'use strict';
// Child process of the rule-SQL fuzz (see sql-fuzz.js). Receives { seed, scale, ids, rssCapMb } over
// IPC, and for each case: builds it, announces it ('start', so the parent can time it out and name it
// if this process dies), compiles the rule with the BUILT @sluice/sql, evaluates it on each payload
// through core's message columns, checks the outcome and reports it ('done'). Exits when done, or right
// after a case that pushed the peak RSS over the cap (the peak cannot be reset, so later cases would
// be blamed for it).
const path = require('node:path');
const { makeCase } = require('./sql-fuzz-cases');

// SLUICE_FUZZ_ROOT: test the build of another checkout (e.g. a baseline commit) with this harness.
const root = process.env.SLUICE_FUZZ_ROOT ?? path.resolve(__dirname, '..', '..');
const sql = require(path.join(root, 'packages/sql/dist/index.js'));
const functionsModule = require(path.join(root, 'packages/sql/dist/functions/index.js'));
const { messageColumns } = require(path.join(root, 'packages/core/dist/index.js'));
// The oracle's own JSON writer (exact bigints), from this checkout: the engine under test (a baseline
// commit, the misbehaving fake) may not have one.
const { stringifyJson } = require(path.resolve(__dirname, '..', '..', 'packages/core/dist/index.js'));

const SqlFloat = sql.SqlFloat;
const MAX_ERROR_MESSAGE = 4096;
const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype, Number.prototype, Boolean.prototype, RegExp.prototype];
const prototypeShape = () => PROTOTYPES.map((p) => Reflect.ownKeys(p).length).join(',');
const cleanShape = prototypeShape();
// MQTT 5 user properties named like Object.prototype members (JSON.parse makes __proto__ an own key).
const USER_PROPERTIES = JSON.parse('{"toString":"x","constructor":"y","__proto__":"z","k":["1","2"]}');

function message(c, bytes) {
  return {
    sourceId: 'fuzz',
    topic: c.topic,
    payload: bytes,
    qos: 1,
    retain: false,
    dup: false,
    clientId: 'fuzz-client',
    username: undefined,
    peerHost: '127.0.0.1',
    receivedAt: 1700000000000,
    properties: { userProperties: USER_PROPERTIES, contentType: 'application/json' },
  };
}

function describeError(error) {
  if (error === null || (typeof error !== 'object' && typeof error !== 'function')) return `a thrown ${typeof error}: ${String(error)}`;
  let text;
  try {
    text = `${error.constructor?.name ?? '?'}${error.code ? ` [${error.code}]` : ''}: ${String(error.message).slice(0, 300)}`;
  } catch {
    text = 'an error whose message cannot be read';
  }
  return text;
}

/** Why an error thrown by compileRule is not a proper RuleSyntaxError, or undefined when it is one. */
function badSyntaxError(error) {
  if (!(error instanceof sql.RuleSyntaxError) || error.code !== 'ERR_RULE_SYNTAX') return `compile threw ${describeError(error)}`;
  if (!(error.line >= 1 && error.column >= 1)) return `RuleSyntaxError without a position (line ${error.line}, column ${error.column})`;
  return undefined;
}

function badEvaluationError(error) {
  if (!(error instanceof sql.RuleEvaluationError) || error.code !== 'ERR_RULE_EVALUATION') return `evaluate threw ${describeError(error)}`;
  return undefined;
}

/**
 * What is wrong with evaluate()'s result, or undefined: it must be an array of maps whose prototype
 * (at every level) is Object.prototype or null, and that String() and JSON.stringify render.
 */
function badOutputs(outputs) {
  if (!Array.isArray(outputs)) return `evaluate returned ${typeof outputs}, not an array`;
  // Iterative (an output may be nested thousands deep), over at most 100,000 values per evaluation.
  let budget = 100000;
  const walk = (root, rootWhere) => {
    const stack = [[root, rootWhere]];
    while (stack.length > 0 && budget-- > 0) {
      const [value, where] = stack.pop();
      if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof SqlFloat) continue;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return `${where} is an array with a foreign prototype`;
        for (let i = 0; i < value.length && i < budget; i++) stack.push([value[i], `${where}[${i}]`]);
        continue;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return `${where} has prototype ${describeProto(proto)}`;
      for (const key of Reflect.ownKeys(value)) {
        const d = Object.getOwnPropertyDescriptor(value, key);
        if (d.get || d.set) return `${where}.${String(key)} is an accessor`;
        stack.push([d.value, `${where}.${String(key)}`]);
      }
    }
    return undefined;
  };
  for (let i = 0; i < outputs.length; i++) {
    const out = outputs[i];
    if (out === null || typeof out !== 'object' || Array.isArray(out)) return `output ${i} is not a map`;
    const bad = walk(out, `output[${i}]`);
    if (bad) return bad;
    // String() of a map is what a log line or a careless template does with it. A null-prototype map
    // cannot be converted by design, and a map with an own key named toString/valueOf (an alias the rule
    // chose) has replaced the converter with data; anything else that throws is a swapped prototype.
    const ownConverter = ['toString', 'valueOf'].some((k) => Object.prototype.hasOwnProperty.call(out, k)) || Symbol.toPrimitive in out;
    if (Object.getPrototypeOf(out) === Object.prototype && !ownConverter) {
      try {
        String(out);
      } catch (error) {
        return `String(output[${i}]) throws ${describeError(error)}`;
      }
    }
    // Integers beyond 2^53 are bigints, which JSON.stringify refuses: outputs are written the way every
    // renderer writes them (stringifyJson, exact digits), and that must not throw.
    try {
      stringifyJson(out);
    } catch (error) {
      return `stringifyJson(output[${i}]) throws ${describeError(error)}`;
    }
  }
  return undefined;
}

function describeProto(proto) {
  try {
    return Array.isArray(proto) ? 'an array' : typeof proto === 'object' ? `an object with keys [${Object.keys(proto).slice(0, 5).join(', ')}]` : typeof proto;
  } catch {
    return 'an unreadable object';
  }
}

/** Runs one case: { outcome: 'result' | 'syntax' | 'evaluation', failure?: { kind, detail }, note? }. */
function runCase(c) {
  const engine = new sql.SqlRuleEngine({ readEnv: () => undefined });
  let rule;
  try {
    rule = engine.compileRule(c.rule);
  } catch (error) {
    const bad = badSyntaxError(error);
    if (bad) return { outcome: 'failure', failure: { kind: 'wrong-error', detail: bad } };
    return { outcome: 'syntax', note: longMessage(error) };
  }
  let outcome = 'result';
  let note;
  for (let i = 0; i < c.payloads.length; i++) {
    const input = messageColumns(message(c, c.payloads[i].bytes), 'fuzz@127.0.0.1');
    let outputs;
    try {
      outputs = rule.evaluate(input);
    } catch (error) {
      const bad = badEvaluationError(error);
      if (bad) return { outcome: 'failure', failure: { kind: 'wrong-error', detail: `payload ${i}: ${bad}` } };
      outcome = 'evaluation';
      note ??= longMessage(error);
      continue;
    }
    // A hang from here on is in rendering the outputs (as a connector's ${.} would), not in the engine.
    if (Array.isArray(outputs) && outputs.length > 1000) process.send({ type: 'phase', phase: `checking and serialising ${outputs.length} outputs of payload ${i}` });
    const bad = badOutputs(outputs);
    if (bad) return { outcome: 'failure', failure: { kind: 'bad-output', detail: `payload ${i}: ${bad}` } };
    if (c.expect !== undefined && i === 0) {
      const got = stringifyJson(outputs[0] && pick(outputs[0], Object.keys(c.expect)));
      if (got !== JSON.stringify(c.expect)) return { outcome: 'failure', failure: { kind: 'wrong-result', detail: `expected ${JSON.stringify(c.expect)}, got ${got}` } };
    }
  }
  return { outcome, note };
}

const pick = (object, keys) => Object.fromEntries(keys.map((k) => [k, object[k]]));

/** Errors are logged: one that echoes kilobytes of rule or payload floods the log (not a failure, a note). */
function longMessage(error) {
  const length = String(error.message).length;
  return length > MAX_ERROR_MESSAGE ? `error message of ${length} characters` : undefined;
}

process.on('message', ({ seed, scale, ids, rssCapMb }) => {
  for (const id of ids) {
    const c = makeCase(seed, id, scale, functionsModule);
    process.send({ type: 'start', id });
    const t0 = process.hrtime.bigint();
    let result;
    try {
      result = runCase(c);
    } catch (error) {
      // Thrown by the checks themselves (e.g. a getter planted in an output): still this case's fault.
      result = { outcome: 'failure', failure: { kind: 'bad-output', detail: `checking the output threw ${describeError(error)}` } };
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (result.outcome !== 'failure' && prototypeShape() !== cleanShape) {
      result = { outcome: 'failure', failure: { kind: 'pollution', detail: 'a built-in prototype gained or lost properties' } };
    }
    const peakMb = process.resourceUsage().maxRSS / 1024;
    if (result.outcome !== 'failure' && peakMb > rssCapMb) {
      result = { outcome: 'failure', failure: { kind: 'memory', detail: `peak RSS ${Math.round(peakMb)} MB > ${rssCapMb} MB` } };
    }
    process.send({ type: 'done', id, ms, ...result });
    if (peakMb > rssCapMb || result.failure?.kind === 'pollution') break;
  }
  process.send({ type: 'finished' }, () => process.exit(0));
});

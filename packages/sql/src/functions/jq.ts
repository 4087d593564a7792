import type { Expr } from '../ast';
import { decodeJson, encodeJson } from '../json';
import { type EvaluationLimits, LiteralSyntaxError, compilingLimits, limitError } from '../limits';
import { JqRunner } from '../jq/jq-runner';
import type { SqlValue } from '../values';
import { badArg, fnError, text, type FunctionDef, type SqlFunction, type Specializer } from './args';
import { limitsOf } from './state';

/**
 * jq(Program, JSON [, TimeoutMs]) (RULE-SQL.md §8.4): runs a jq program (jq 1.8, compiled to
 * WebAssembly) on a JSON text or on a value (encoded to JSON first) and returns the list of its outputs,
 * each decoded as json_decode would. EMQX's semantics, with Sluice's budget: without TimeoutMs the call
 * gets the engine's `jqTimeout` (100 ms by default, EMQX: 10 s), with it at most `jqMaxTimeout`. A
 * program that fails to compile, fails at run time, runs out of time or out of memory fails the rule for
 * that message (RuleEvaluationError, counted failed.exception).
 */

/** One runner per memory cap (engines usually share the default): each owns one worker thread. */
const runners = new Map<number, JqRunner>();

function runnerFor(limits: EvaluationLimits): JqRunner {
  let runner = runners.get(limits.jqMaxMemory);
  if (runner === undefined) {
    runner = new JqRunner(limits.jqMaxMemory);
    runners.set(limits.jqMaxMemory, runner);
  }
  return runner;
}

/**
 * The JSON text jq reads: a string or binary is taken as JSON text as it is, anything else is encoded.
 * A text must be one complete JSON value: jq reads inputs as a stream, and would wait for the rest of
 * a partial one (JSON.parse checks it natively, in time linear in the text).
 */
function inputText(v: SqlValue, limits: EvaluationLimits): string {
  if (typeof v !== 'string' && !Buffer.isBuffer(v)) return encodeJson(v, limits.maxStringSize, 'function jq()');
  const json = typeof v === 'string' ? v : v.toString('utf8');
  try {
    JSON.parse(json);
  } catch {
    throw fnError('jq', 'argument 2 is not one JSON value (a string or binary is read as JSON text; pass a map or list to have it encoded)');
  }
  return json;
}

/** The budget of one call: the engine's default, or TimeoutMs cut to jqMaxTimeout. */
function budget(v: SqlValue, limits: EvaluationLimits): number {
  if (v === undefined) return limits.jqTimeout;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return Math.min(v, limits.jqMaxTimeout);
  if (typeof v === 'bigint' && v >= 0n) return limits.jqMaxTimeout;
  return badArg('jq', 3, 'a timeout in milliseconds (an integer of 0 or more)', v);
}

/**
 * Whether a program depends on the inputs before or after its own (`input` and `inputs` read the next
 * ones, `input_line_number` counts the lines read so far): such a program must not be kept running
 * between messages, or one message would change another's result. It gets one jq per call. A field named
 * `.inputs` matches too, and only costs that program its compile-once.
 */
const READS_INPUTS = /\b(?:inputs?|input_line_number)\b/;

function runJq(program: string, args: readonly SqlValue[], limits: EvaluationLimits): SqlValue[] {
  const timeoutMs = budget(args[2], limits);
  const oneShot = READS_INPUTS.test(program);
  const outcome = runnerFor(limits).run(program, inputText(args[1], limits), { timeoutMs, maxOutput: limits.maxStringSize, oneShot });
  switch (outcome.kind) {
    case 'ok': {
      if (outcome.lines.length > limits.maxListLength) {
        throw limitError('jq', 'number of outputs', outcome.lines.length, limits.maxListLength, 'maxListLength');
      }
      return outcome.lines.map(decodeOutput);
    }
    case 'error':
      // jq 1.8 reports `input` finding no further input as a bare "break"; a call has exactly one input
      throw fnError('jq', oneShot && outcome.message === 'jq: error: break' ? 'jq: error: No more inputs (each call gets one input)' : outcome.message);
    case 'restarting':
      throw fnError(
        'jq',
        'jq is restarting after a stopped program (a program that ran out of time or memory); ' +
          'calls fail at once until it is ready, which takes a few hundred milliseconds',
      );
    case 'timeout':
      throw fnError(
        'jq',
        `the program did not finish within ${timeoutMs} ms and was stopped (${args[2] === undefined ? 'jqTimeout' : 'TimeoutMs, at most jqMaxTimeout'}; ` +
          "raise it in the rule engine's limits if the program is expected to take longer)",
      );
    case 'too-big':
      throw limitError('jq', 'output size', outcome.size, limits.maxStringSize, 'maxStringSize');
    case 'aborted':
      throw fnError(
        'jq',
        `jq stopped abnormally, most likely out of memory (jqMaxMemory is ${limits.jqMaxMemory} bytes; raise it in the rule engine's limits ` +
          `if the program is expected to need more): ${outcome.message}`,
      );
  }
}

/** One line of jq's compact output as a value, kinds kept as json_decode keeps them (2.0 stays a float). */
function decodeOutput(line: string): SqlValue {
  try {
    return decodeJson(line);
  } catch (error) {
    throw fnError('jq', `an output could not be read back (${error instanceof Error ? error.message : String(error)})`);
  }
}

const jq: SqlFunction = (args, ctx) => runJq(text('jq', 1, args[0]), args, limitsOf(ctx));

/**
 * A literal program is compiled once: it gets a jq of its own that stays compiled between messages
 * (JqRunner.dedicate). It is also checked when the rule compiles: jq is given the program alone and no
 * input at all, so it compiles the program and ends without running any of it (the program's text cannot
 * change that, as it could if it were spliced into a wrapper). A program jq refuses makes the rule a
 * RuleSyntaxError at that literal, as a bad regex literal does; so does a check that does not finish
 * within jqMaxTimeout. If jq itself cannot start, the rule compiles and each evaluation reports it.
 */
const specializeJq: Specializer = (syntax: readonly Expr[]) => {
  const literal = syntax[0];
  if (literal?.type !== 'const' || typeof literal.value !== 'string') return undefined;
  const program = literal.value;
  const limits = compilingLimits();
  let outcome;
  try {
    outcome = runnerFor(limits).run(program, '', { timeoutMs: limits.jqMaxTimeout, maxOutput: 0, check: true });
  } catch {
    outcome = undefined; // jq could not start: every evaluation will say so
  }
  switch (outcome?.kind) {
    case 'error':
      throw new LiteralSyntaxError(`function jq(): the program does not compile: ${outcome.message}`, program);
    case 'timeout':
      throw new LiteralSyntaxError(
        `function jq(): the program could not be compiled within ${limits.jqMaxTimeout} ms (jqMaxTimeout): make it smaller, or raise jqMaxTimeout`,
        program,
      );
    case 'aborted':
    case 'too-big':
      throw new LiteralSyntaxError(
        `function jq(): compiling the program stopped jq, most likely out of memory (jqMaxMemory is ${limits.jqMaxMemory} bytes)`,
        program,
      );
  }
  // jq stays compiled for this program in a worker of its own (JqRunner.dedicate)
  if (!READS_INPUTS.test(program)) runnerFor(limits).dedicate(program);
  return (args, ctx) => runJq(program, args, limitsOf(ctx));
};

export const JQ_FUNCTIONS: readonly FunctionDef[] = [['jq', 2, 3, jq, specializeJq]];

import { beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError, RuleEvaluationError, RuleSyntaxError, connectorModule, createIntegration, sourceModule } from '@sluice/core';
import { InMemoryConnector, InMemorySource } from '@sluice/core/testing';
import { resolveLimits, type EvaluationLimitsOptions } from '../limits';
import { compileRule } from '../rule';
import { sqlModule } from '../sql-module';
import { SqlRuleEngine } from '../sql-rule-engine';
import { SqlFloat, type SqlValue } from '../values';
import { createFunctionState, lookupFunction, type FunctionContext } from './index';

const context = (limits: EvaluationLimitsOptions = {}): FunctionContext => ({
  input: {},
  inCondition: false,
  state: createFunctionState({ limits }),
});
const jq = (args: SqlValue[], ctx: FunctionContext = context()): SqlValue => lookupFunction('jq')!(args, ctx);
const decoded = (json: string): SqlValue => lookupFunction('json_decode')!([json], context());

/** The error work throws (undefined when it returns). */
function errorOf(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** EMQX's t_jq runaway program: doubles -2 forever, never reaching 42. */
const RUNAWAY_WHILE =
  'def while(cond; update):' +
  '  def _while:' +
  '    if cond then  (update | _while) else . end;' +
  '  _while;' +
  'while(. < 42; . * 2)';

/**
 * Runs `work` until it stops failing with "jq is restarting" (after a stopped program, jq starts again in
 * the background and calls fail at once meanwhile); returns what it returns or throws.
 */
async function afterRestart<T>(work: () => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return work();
    } catch (error) {
      if (attempt > 1000 || !/jq is restarting/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe('jq', () => {
  // a test that stops a program leaves jq restarting in the background: the next test waits for it
  beforeEach(async () => {
    await afterRestart(() => jq(['null', 'null']));
  });

  describe("EMQX's cases (emqx_rule_funcs_SUITE t_jq)", () => {
    it('runs on a decoded value and returns the list of outputs', () => {
      expect(jq(['.', decoded('{"b": 2}')])).toEqual([decoded('{"b":2}')]);
      expect(jq(['.+1', decoded('5')])).toEqual([6]);
    });

    it('takes a JSON text as it is', () => {
      expect(jq(['.', '{"b": 2}'])).toEqual([{ b: 2 }]);
      expect(jq(['.', Buffer.from('{"b": 2}')])).toEqual([{ b: 2 }]);
    });

    it('accepts an explicit timeout', () => {
      expect(jq(['.', '{"b": 2}', 10000])).toEqual([{ b: 2 }]);
    });

    it('stops a runaway program at an explicit timeout', () => {
      const error = errorOf(() => jq([RUNAWAY_WHILE, '-2', 10]));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toMatch(/^function jq\(\): the program did not finish within 10 ms and was stopped \(TimeoutMs/);
    });

    it('stops a runaway program at the default budget (jqTimeout)', () => {
      const error = errorOf(() => jq([RUNAWAY_WHILE, '-2']));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toMatch(/did not finish within 100 ms and was stopped \(jqTimeout;/);
    });
  });

  describe('outputs', () => {
    it('gives one item per jq output, none for empty', () => {
      expect(jq(['.[] | .x', '[{"x":1},{"x":"a\\nb"},{"x":null}]'])).toEqual([1, 'a\nb', null]);
      expect(jq(['empty', '{}'])).toEqual([]);
      expect(jq(['[.[] | select(.x > 1)]', '[{"x":1},{"x":2},{"x":3}]'])).toEqual([[{ x: 2 }, { x: 3 }]]);
    });

    it('keeps number kinds as json_decode does (2.0 stays a float)', () => {
      expect(jq(['.a', '{"a": 2.0}'])).toEqual([new SqlFloat(2)]);
      expect(jq(['.a', '{"a": 2}'])).toEqual([2]);
    });

    it('encodes a value that is not text to JSON first (lists, maps, numbers, booleans)', () => {
      expect(jq(['length', [1, 2, 3]])).toEqual([3]);
      expect(jq(['.a.b', { a: { b: true } }])).toEqual([true]);
    });
  });

  describe('errors', () => {
    it('names a program that does not compile', () => {
      const error = errorOf(() => jq(['.[', '{}']));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toMatch(/^function jq\(\): jq: error: syntax error, .*jq: 1 compile error$/);
    });

    it("names jq's run-time error", () => {
      const error = errorOf(() => jq(['.a.b', '{"a": 5}']));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toBe('function jq(): jq: error: Cannot index number with string ("b")');
      expect(() => jq(['error("custom")', 'null'])).toThrow(/custom/);
    });

    it('is not failed by what the program writes to stderr (debug, stderr)', () => {
      expect(jq(['debug | .a', '{"a": 1}'])).toEqual([1]);
      expect(jq(['"a note" | stderr | length', 'null'])).toEqual([6]);
      expect(jq(['"jq: error" | debug | 1', 'null'])).toEqual([1]);
    });

    it('fails on an error that follows debug or stderr output, however much (no partial results)', () => {
      const error = errorOf(() => jq(['.[] | debug | .a', '[{"a":1},{"a":2},{"a":3},{"a":4},{"a":5},7]']));
      expect((error as Error).message).toBe('function jq(): jq: error: Cannot index number with string ("a")');
      // stderr prints without a newline: the error message follows it on the same line
      expect(() => jq(['.[]|if .a>1 then ("hi"|stderr|empty) else .a end', '[{"a":1},{"a":2},7]'])).toThrow(/Cannot index number/);
      expect(() => jq(['(range(5)|debug|empty), error("x")', 'null'])).toThrow(/^function jq\(\): jq: error: x$/);
      expect(() => jq(['(range(2000)|debug|empty), error("late")', 'null', 1000])).toThrow(/jq: error: late$/);
      const rule = compileRule('SELECT jq(\'.[] | debug | .a\', payload) AS r FROM "t"');
      expect(() => rule.evaluate({ topic: 't', payload: '[{"a":1},{"a":2},{"a":3},{"a":4},{"a":5},7]' })).toThrow(/Cannot index number/);
      expect(rule.evaluate({ topic: 't', payload: '[{"a":1}]' })).toEqual([{ r: [1] }]);
    });

    it('keeps working after a program writes large texts to stderr (only a 64 KiB tail of it is kept)', () => {
      expect(jq(['("x"*2e7) as $s | range(60) | $s | stderr | empty', 'null', 1000])).toEqual([]);
      expect(jq(['.', '5'])).toEqual([5]);
    });

    it('fails on halt_error with a non-zero status, with its text (halt and halt_error(0) succeed)', () => {
      expect(() => jq(['"boom\\n"|halt_error', 'null'])).toThrow(/^function jq\(\): jq: error: halt_error with exit status 5: boom$/);
      expect(() => jq(['{"a":1}|halt_error(1)', 'null'])).toThrow(/halt_error with exit status 1: \{"a":1\}$/);
      expect(jq(['"fine"|halt_error(0)', 'null'])).toEqual([]);
      const rule = compileRule('SELECT jq(\'if .stop then "stop"|halt_error else .v end\', payload) AS r FROM "t"');
      expect(rule.evaluate({ topic: 't', payload: '{"v": 1}' })).toEqual([{ r: [1] }]);
      expect(() => rule.evaluate({ topic: 't', payload: '{"stop": true}' })).toThrow(/halt_error with exit status 5: stop$/);
      expect(rule.evaluate({ topic: 't', payload: '{"v": 2}' })).toEqual([{ r: [2] }]);
    });

    it('fails on input that is not JSON', () => {
      expect(() => jq(['.', '{not json'])).toThrow(RuleEvaluationError);
    });

    it('checks the argument types', () => {
      expect(() => jq([1, '{}'])).toThrow(/argument 1 must be a string/);
      expect(() => jq(['.', '{}', -1])).toThrow(/argument 3 must be a timeout in milliseconds/);
      expect(() => jq(['.', '{}', 'soon'])).toThrow(/argument 3 must be a timeout in milliseconds/);
    });

    it('cuts an explicit timeout to jqMaxTimeout', () => {
      const error = errorOf(() => jq([RUNAWAY_WHILE, '-2', 100000], context({ jqMaxTimeout: 50 })));
      expect((error as Error).message).toMatch(/within 50 ms .*\(TimeoutMs, at most jqMaxTimeout;/);
    });

    it('refuses an output over maxStringSize and more outputs than maxListLength', () => {
      expect(() => jq(['[range(1000)]', 'null'], context({ maxStringSize: 100 }))).toThrow(/output size would be \d+, over the limit of 100 \(maxStringSize/);
      expect(() => jq(['range(10)', 'null'], context({ maxListLength: 5 }))).toThrow(/number of outputs would be 10, over the limit of 5 \(maxListLength/);
    });
  });

  describe('bounded time and memory', () => {
    it('stops repeat(1) and keeps working afterwards', async () => {
      const rule = compileRule('SELECT jq(\'repeat(1)\', payload) AS r FROM "t"');
      expect(() => rule.evaluate({ topic: 't', payload: '1' })).toThrow(/did not finish within 100 ms/);
      await expect(afterRestart(() => rule.evaluate({ topic: 't', payload: '1' }))).rejects.toThrow(/did not finish within 100 ms/);
      const after = compileRule('SELECT jq(\'.a\', payload) AS r FROM "t"');
      expect(after.evaluate({ topic: 't', payload: '{"a": 7}' })).toEqual([{ r: [7] }]);
    });

    it('restarts jq in the background after a stopped program: calls fail at once until it is ready', async () => {
      // programs no rule here has: they share one jq
      expect(() => jq(['[repeat(1)] | length', '1', 10])).toThrow(/did not finish within 10 ms/);
      expect(() => jq(['. + 0', '1'])).toThrow(/^function jq\(\): jq is restarting after a stopped program/);
      expect(await afterRestart(() => jq(['. + 0', '1']))).toEqual([1]);
    });

    it('stops a program that needs more than jqMaxMemory, and keeps working afterwards', async () => {
      const ctx = context({ jqMaxMemory: 32 * 1024 * 1024, jqTimeout: 30_000 });
      const error = errorOf(() => jq(['[range(1e9)]', 'null'], ctx));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toMatch(/^function jq\(\): jq stopped abnormally, most likely out of memory \(jqMaxMemory is 33554432 bytes;/);
      expect(await afterRestart(() => jq(['[range(3)]', 'null'], ctx))).toEqual([[0, 1, 2]]);
    });
  });

  describe('in rules', () => {
    it('FOREACH over jq gives one output per jq result', () => {
      const rule = compileRule('FOREACH jq(\'.sensors[]\', payload) AS s DO s.name AS name FROM "t"');
      expect(rule.evaluate({ topic: 't', payload: '{"sensors": [{"name": "a"}, {"name": "b"}]}' })).toEqual([{ name: 'a' }, { name: 'b' }]);
    });

    it("FOREACH jq('[.field_1, .field_2]', payload) gives one output: jq returns one array (RULE-SQL.md §11.6)", () => {
      const rule = compileRule('FOREACH jq(\'[.field_1, .field_2]\', payload) DO item AS value FROM "t"');
      expect(rule.evaluate({ topic: 't', payload: '{"field_1": 1, "field_2": 2}' })).toEqual([{ value: [1, 2] }]);
    });

    it("FOREACH jq('.', payload) AS it wraps the payload in a list of one", () => {
      const rule = compileRule('FOREACH jq(\'.\', payload) AS it DO it.field_1 AS f1, it.field_2 AS f2 FROM "t"');
      expect(rule.evaluate({ topic: 't', payload: '{"field_1": "x", "field_2": 3}' })).toEqual([{ f1: 'x', f2: 3 }]);
    });

    it('takes a program from the message too (checked per call)', () => {
      const rule = compileRule('SELECT jq(payload.p, payload.d) AS r FROM "t"');
      expect(rule.evaluate({ topic: 't', payload: '{"p": ".x * 2", "d": {"x": 21}}' })).toEqual([{ r: [42] }]);
      expect(() => rule.evaluate({ topic: 't', payload: '{"p": ".[", "d": {}}' })).toThrow(/syntax error/);
    });

    it('refuses a literal program that does not compile when the rule compiles, at the literal', () => {
      const error = errorOf(() => compileRule('SELECT\n  jq(\'.a | nosuchfunction\', payload) AS r FROM "t"'));
      expect(error).toBeInstanceOf(RuleSyntaxError);
      expect((error as RuleSyntaxError).message).toMatch(/^function jq\(\): the program does not compile: jq: error: nosuchfunction\/0 is not defined at <top-level>, line 1[,:]/);
      expect((error as RuleSyntaxError).line).toBe(2);
      expect((error as RuleSyntaxError).column).toBe(7);
    });

    it('checks a literal program alone, so its text cannot close a wrapper and make the check run it', () => {
      const error = errorOf(() => compileRule('SELECT jq(\'1) else (repeat(1)) end | if false then (1\', payload) AS r FROM "t"'));
      expect(error).toBeInstanceOf(RuleSyntaxError);
      expect((error as Error).message).toMatch(/^function jq\(\): the program does not compile: jq: error: syntax error/);
      // a literal that would never end on null input still compiles: the check runs none of it
      expect(() => compileRule('SELECT jq(\'until(.a; .)\', payload) AS r FROM "t"')).not.toThrow();
    });

    it('refuses a literal program whose check does not finish within jqMaxTimeout', () => {
      const engine = new SqlRuleEngine({ limits: { jqMaxTimeout: 1 } });
      // a thousand paths take jq tens of milliseconds to compile
      const program = `[${Array.from({ length: 1000 }, (_, i) => `.a${i}`).join(', ')}]`;
      const error = errorOf(() => engine.compileRule(`SELECT jq('${program}', payload) AS r FROM "t"`));
      expect(error).toBeInstanceOf(RuleSyntaxError);
      expect((error as Error).message).toMatch(/^function jq\(\): the program could not be compiled within 1 ms \(jqMaxTimeout\): make it smaller, or raise jqMaxTimeout \(line 1, column 12\)$/);
    });

    it("uses the engine's own limits", () => {
      const engine = new SqlRuleEngine({ limits: { jqTimeout: 20 } });
      const rule = engine.compileRule(`SELECT jq('${RUNAWAY_WHILE}', payload) AS r FROM "t"`);
      expect(() => rule.evaluate({ topic: 't', payload: '-2' })).toThrow(/within 20 ms .*\(jqTimeout;/);
    });
  });

  describe('compiled once: one jq per literal program, fed message after message', () => {
    it('keeps each message apart: outputs, errors and multi-line JSON do not leak into the next', () => {
      const rule = compileRule('SELECT jq(\'.a.b\', payload) AS r FROM "t"');
      const run = (payload: string): unknown => {
        try {
          return rule.evaluate({ topic: 't', payload });
        } catch (error) {
          return (error as Error).message;
        }
      };
      expect(run('{"a": {"b": 1}}')).toEqual([{ r: [1] }]);
      expect(run('{"a": 5}')).toBe('function jq(): jq: error: Cannot index number with string ("b")');
      expect(run('{\n  "a": {\n    "b": [1,\n 2]\n  }\n}')).toEqual([{ r: [[1, 2]] }]);
      expect(run('{"a": {')).toMatch(/argument 2 is not one JSON value/);
      expect(run('{"a": {"b": "last"}}')).toEqual([{ r: ['last'] }]);
    });

    it('serves rules with different programs in turn', () => {
      const first = compileRule('SELECT jq(\'.x + 1\', payload) AS r FROM "t"');
      const second = compileRule('SELECT jq(\'.x * 10\', payload) AS r FROM "t"');
      const data = compileRule('SELECT jq(payload.p, payload.d) AS r FROM "t"');
      for (let x = 0; x < 5; x++) {
        expect(first.evaluate({ topic: 't', payload: `{"x": ${x}}` })).toEqual([{ r: [x + 1] }]);
        expect(second.evaluate({ topic: 't', payload: `{"x": ${x}}` })).toEqual([{ r: [x * 10] }]);
        expect(data.evaluate({ topic: 't', payload: `{"p": ".x - ${x}", "d": {"x": 10}}` })).toEqual([{ r: [10 - x] }]);
      }
    });

    it('never lets input or inputs read the next message', () => {
      const rule = compileRule('SELECT jq(\'[., inputs]\', payload) AS r FROM "t"');
      expect(rule.evaluate({ topic: 't', payload: '1' })).toEqual([{ r: [[1]] }]);
      expect(rule.evaluate({ topic: 't', payload: '2' })).toEqual([{ r: [[2]] }]);
      const data = compileRule('SELECT jq(payload.p, payload.d) AS r FROM "t"');
      expect(() => data.evaluate({ topic: 't', payload: '{"p": "input", "d": 1}' })).toThrow(/^function jq\(\): jq: error: No more inputs/);
      expect(() => jq(['[., input]', '1'])).toThrow(/^function jq\(\): jq: error: No more inputs \(each call gets one input\)$/);
      expect(data.evaluate({ topic: 't', payload: '{"p": ".", "d": 3}' })).toEqual([{ r: [3] }]);
    });

    it('gives input_line_number the same value for every message (not a count over earlier ones)', () => {
      const rule = compileRule('SELECT jq(\'input_line_number\', payload) AS r FROM "t"');
      const first = rule.evaluate({ topic: 't', payload: '1' });
      expect(rule.evaluate({ topic: 't', payload: '2' })).toEqual(first);
      expect(rule.evaluate({ topic: 't', payload: '3' })).toEqual(first);
      expect(first).toEqual([{ r: [1] }]);
    });

    it('starts jq again after a program that halts', () => {
      const rule = compileRule('SELECT jq(\'if .stop then halt else .v end\', payload) AS r FROM "t"');
      expect(rule.evaluate({ topic: 't', payload: '{"v": 1}' })).toEqual([{ r: [1] }]);
      expect(rule.evaluate({ topic: 't', payload: '{"stop": true}' })).toEqual([{ r: [] }]);
      expect(rule.evaluate({ topic: 't', payload: '{"v": 2}' })).toEqual([{ r: [2] }]);
    });
  });

  describe('in an integration', () => {
    it('counts a failing or stopped jq as failed.exception and delivers the other messages', async () => {
      const source = new InMemorySource('plant');
      const connector = new InMemoryConnector('store');
      const app = await createIntegration({
        modules: [sourceModule(source), sqlModule({ limits: { jqTimeout: 50 } }), connectorModule(connector)],
        rules: [
          {
            id: 'values',
            sql: 'FOREACH jq(\'if .spin then repeat(1) else .values[] end\', payload) AS v DO v AS value FROM "t"',
            actions: [{ connector: 'store', template: '${value}' }],
          },
        ],
      });
      await app.start();
      try {
        for (const payload of ['{"values": [1, 2]}', '{"values": 5}', '{"spin": true}']) {
          await source.push('t', payload).settled;
        }
        // the stopped program's jq starts again in the background: wait for it, then the next message passes
        await afterRestart(() => jq(['if .spin then repeat(1) else .values[] end', '{"values": []}']));
        await source.push('t', '{"values": [3]}').settled;
        expect(connector.records.map((r) => r.rendered)).toEqual(['1', '2', '3']);
        expect(app.metrics.rule('values')).toMatchObject({ matched: 4, passed: 2, failed: 2, 'failed.exception': 2 });
      } finally {
        await app.stop();
      }
    });
  });

  describe('limits', () => {
    it('defaults to 100 ms, at most 1 s explicitly, 64 MiB', () => {
      expect(resolveLimits({})).toMatchObject({ jqTimeout: 100, jqMaxTimeout: 1000, jqMaxMemory: 64 * 1024 * 1024 });
    });

    it('refuses a memory cap below the module’s 16 MiB or above 256 MiB, and a timeout of 0 or over a minute', () => {
      expect(() => resolveLimits({ jqMaxMemory: 1024 })).toThrow(ConfigError);
      expect(() => resolveLimits({ jqMaxMemory: 512 * 1024 * 1024 })).toThrow(ConfigError);
      expect(() => resolveLimits({ jqTimeout: 0 })).toThrow(ConfigError);
      expect(() => resolveLimits({ jqMaxTimeout: 60_001 })).toThrow(ConfigError);
      expect(resolveLimits({ jqMaxMemory: 16 * 1024 * 1024 }).jqMaxMemory).toBe(16 * 1024 * 1024);
    });
  });
});

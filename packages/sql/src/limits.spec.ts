import { describe, expect, it } from '@jest/globals';
import { ConfigError, RuleEvaluationError, RuleSyntaxError } from '@sluice/core';
import { runInNewContext } from 'node:vm';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { createFunctionState, lookupFunction, type FunctionContext } from './functions';
import { DEFAULT_LIMITS, resolveLimits, type EvaluationLimitsOptions } from './limits';
import { compileRule } from './rule';
import { SqlRuleEngine } from './sql-rule-engine';
import type { SqlValue } from './values';

const defaults: FunctionContext = { input: {}, inCondition: false, state: createFunctionState() };
const limited = (limits: EvaluationLimitsOptions): FunctionContext => ({
  input: {},
  inCondition: false,
  state: createFunctionState({ limits }),
});
const call = (name: string, args: SqlValue[], ctx: FunctionContext = defaults): SqlValue => lookupFunction(name)!(args, ctx);

/** The error a call throws (undefined when it returns). */
function errorOf(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Interrupts work that would take minutes on a quadratic implementation (a hang guard, not a timing assert). */
function watchdog<T>(work: () => T): T {
  return runInNewContext('work()', { work }, { timeout: 10_000 }) as T;
}

const MiB = 1024 * 1024;

describe('evaluation limits', () => {
  describe('defaults and configuration', () => {
    it('has documented defaults', () => {
      expect(DEFAULT_LIMITS).toEqual({
        maxStringSize: 4 * MiB,
        maxListLength: 100_000,
        maxInflateSize: 4 * MiB,
        maxOutputs: 10_000,
        maxFanoutSize: 64 * MiB,
        jqTimeout: 100,
        jqMaxTimeout: 1_000,
        jqMaxMemory: 64 * MiB,
      });
      expect(resolveLimits({ maxListLength: 10 })).toEqual({ ...DEFAULT_LIMITS, maxListLength: 10 });
    });

    it.each<[string, unknown]>([
      ['maxStringSize', 0],
      ['maxStringSize', 1.5],
      ['maxListLength', -1],
      ['maxInflateSize', '1MB'],
      ['maxInflateSize', 2 ** 40],
      ['maxOutputs', 0],
      ['maxFanoutSize', 2 ** 40],
      ['maxItems', 10],
    ])('refuses %s = %j with a ConfigError naming the key', (key, value) => {
      const error = errorOf(() => new SqlRuleEngine({ limits: { [key]: value } as EvaluationLimitsOptions }));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(`limits.${key}`);
    });
  });

  describe('decompression bombs', () => {
    const bomb = Buffer.alloc(8 * MiB, 'a'); // 8 MiB of text, a few KB compressed
    it.each<[string, Buffer]>([
      ['gunzip', gzipSync(bomb)],
      ['unzip', deflateRawSync(bomb)],
      ['zip_uncompress', deflateSync(bomb)],
    ])('%s stops at maxInflateSize with a RuleEvaluationError', (name, data) => {
      const error = errorOf(() => call(name, [data]));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toMatch(new RegExp(`^function ${name}\\(\\): .*maxInflateSize`));
      expect(call(name, [data], limited({ maxInflateSize: 16 * MiB }))).toHaveLength(8 * MiB);
    });

    it('split(gunzip(payload), ",") of a bomb fails the message, not the process', () => {
      const rule = compileRule(`SELECT split(gunzip(payload), ',') AS parts FROM "t"`);
      const payload = gzipSync(Buffer.from(','.repeat(3 * MiB).replace(/,/g, 'a,')));
      expect(() => rule.evaluate({ topic: 't', payload })).toThrow(RuleEvaluationError);
      expect(rule.evaluate({ topic: 't', payload: gzipSync(Buffer.from('a,b')) })).toEqual([{ parts: ['a', 'b'] }]);
    });
  });

  describe('lists', () => {
    it('split refuses more than maxListLength parts without building them all', () => {
      const s = 'a,'.repeat(200_000);
      expect(errorOf(() => call('split', [s, ',']))).toBeInstanceOf(RuleEvaluationError);
      expect(errorOf(() => call('split', [s, ',', 'notrim']))).toBeInstanceOf(RuleEvaluationError);
      expect(call('split', [s, ','], limited({ maxListLength: 200_000 }))).toHaveLength(200_000);
    });

    it('split in the default mode counts only the parts it keeps', () => {
      expect(call('split', [`${','.repeat(50)}a,b`, ','], limited({ maxListLength: 2 }))).toEqual(['a', 'b']);
      expect(call('split', [',a,,b,', ',']), ).toEqual(['a', 'b']);
      expect(call('split', [',a,,b,', ',', 'notrim'])).toEqual(['', 'a', '', 'b', '']);
    });

    it('tokens refuses more than maxListLength tokens', () => {
      expect(errorOf(() => call('tokens', ['a b c d', ' '], limited({ maxListLength: 3 })))).toBeInstanceOf(RuleEvaluationError);
      expect(call('tokens', ['a b c', ' '], limited({ maxListLength: 3 }))).toEqual(['a', 'b', 'c']);
    });

    it('a range literal over maxListLength is a RuleSyntaxError at its position', () => {
      const error = errorOf(() => compileRule('SELECT\n  [1..200000000] AS x FROM "boom/#"'));
      expect(error).toBeInstanceOf(RuleSyntaxError);
      expect((error as RuleSyntaxError).message).toMatch(/range \[1\.\.200000000\] has 200000000 items.*maxListLength/);
      expect([(error as RuleSyntaxError).line, (error as RuleSyntaxError).column]).toEqual([2, 3]);
    });

    it('a range literal follows the engine limit, and one within it still evaluates', () => {
      const engine = new SqlRuleEngine({ limits: { maxListLength: 5 } });
      expect(() => engine.compileRule('SELECT [1..6] AS x FROM "t"')).toThrow(RuleSyntaxError);
      expect(engine.compileRule('SELECT [-1..3] AS x FROM "t"').evaluate({ topic: 't' })).toEqual([{ x: [-1, 0, 1, 2, 3] }]);
      expect(compileRule('SELECT [3..1] AS x FROM "t"').evaluate({ topic: 't' })).toEqual([{ x: [] }]);
    });
  });

  describe('FOREACH outputs of one message', () => {
    const list = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, i) => i));
    const evaluate = (limits: EvaluationLimitsOptions, sql: string, payload: string): unknown =>
      new SqlRuleEngine({ limits }).compileRule(sql).evaluate({ topic: 't', clientid: 'c', payload });

    // case 2594 of the CI fuzz: 100,000 small output maps alone filled a 256 MB heap.
    it('more than maxOutputs outputs fail the message, whatever each output holds', () => {
      const error = errorOf(() => evaluate({ maxOutputs: 100 }, 'FOREACH payload AS p DO p AS x FROM "t"', list(101)));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toMatch(/more than 100 outputs \(maxOutputs; raise it/);
      expect(evaluate({ maxOutputs: 100 }, 'FOREACH payload AS p DO p AS x FROM "t"', list(100))).toHaveLength(100);
      // Items INCASE drops are not outputs.
      expect(evaluate({ maxOutputs: 100 }, 'FOREACH payload AS p DO p AS x INCASE p < 10 FROM "t"', list(1000))).toHaveLength(10);
    });

    // Seed 99 case 2784 / CI case 1812: without DO (or with DO *) each output holds the payload and the
    // collection itself, so n items made n outputs of n items each: quadratic to serialise, or out of memory.
    it('outputs that each carry the payload and the collection are bounded by maxFanoutSize', () => {
      const payload = list(300); // 1,190 characters
      for (const sql of ['FOREACH payload FROM "t"', 'FOREACH payload AS p DO * FROM "t"']) {
        const error = errorOf(() => evaluate({ maxFanoutSize: 100_000 }, sql, payload));
        expect(error).toBeInstanceOf(RuleEvaluationError);
        expect((error as Error).message).toMatch(/over the limit of 100000 \(maxFanoutSize; raise it/);
      }
      // The same items, each output selecting its item only, stay far below it.
      expect(evaluate({ maxFanoutSize: 100_000 }, 'FOREACH payload AS p DO p AS x FROM "t"', payload)).toHaveLength(300);
      expect(evaluate({ maxFanoutSize: 100_000 }, 'FOREACH payload FROM "t"', list(30))).toHaveLength(30);
    });

    it('a DO field that copies a big value into every output counts in maxFanoutSize', () => {
      const payload = JSON.stringify({ big: 'x'.repeat(10_000), items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
      const sql = 'FOREACH payload.items AS i DO payload.big AS b, i FROM "t"';
      expect(errorOf(() => evaluate({ maxFanoutSize: 50_000 }, sql, payload))).toBeInstanceOf(RuleEvaluationError);
      expect(evaluate({ maxFanoutSize: 200_000 }, sql, payload)).toHaveLength(10);
    });
  });

  describe('strings and binaries', () => {
    const small = limited({ maxStringSize: 64 });
    const tooBig: [string, SqlValue[]][] = [
      ['pad', ['x', 65]],
      ['pad', ['x', 40, 'leading', 'ab']],
      ['pad', ['x', 1_000_000_000]],
      ['concat', ['x'.repeat(40), 'y'.repeat(40)]],
      ['concat', [['x'.repeat(40), 'y'.repeat(40)]]],
      ['replace', ['aaaa', 'a', 'x'.repeat(20)]],
      ['replace', ['abc', 'b', 'x'.repeat(70), 'leading']],
      ['regex_replace', ['aaaa', 'a', 'x'.repeat(20)]],
      ['join_to_string', [['x'.repeat(40), 'y'.repeat(40)]]],
      ['join_to_string', ['-', ['x'.repeat(40), 'y'.repeat(40)]]],
      ['join_to_sql_values_string', [['x'.repeat(40), 'y'.repeat(40)]]],
      ['sprintf', ['~65s', 'x']],
      ['sprintf', ['~999999999s', 'x']],
      ['sprintf', ['~*c', 1_000_000_000, 65]],
      ['sprintf_s', ['~s~s', ['x'.repeat(40), 'y'.repeat(40)]]],
      ['bin2hexstr', [Buffer.alloc(40)]],
      ['sqlserver_bin2hexstr', [Buffer.alloc(40)]],
      ['str_utf16_le', ['x'.repeat(40)]],
      ['base64_encode', [Buffer.alloc(60)]],
      ['json_encode', [['x'.repeat(40), 'y'.repeat(40)]]],
      ['gzip', [Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 7919) % 256))]],
    ];

    it.each(tooBig)('%s(%#) over maxStringSize is a RuleEvaluationError naming the limit', (name, args) => {
      const error = errorOf(() => call(name, args, small));
      expect(error).toBeInstanceOf(RuleEvaluationError);
      expect((error as Error).message).toMatch(new RegExp(`^function ${name}\\(\\): .*maxStringSize`));
    });

    it('pad(payload.s, payload.n) from a 23-byte payload fails that message only', () => {
      const rule = compileRule('SELECT pad(payload.s, payload.n) AS x FROM "t"');
      expect(() => rule.evaluate({ topic: 't', payload: '{"s":"x","n":268435456}' })).toThrow(RuleEvaluationError);
      expect(rule.evaluate({ topic: 't', payload: '{"s":"x","n":3}' })).toEqual([{ x: 'x  ' }]);
    });

    it('nested concat cannot double its way past the limit', () => {
      const engine = new SqlRuleEngine({ limits: { maxStringSize: 1000 } });
      const rule = engine.compileRule(
        'SELECT concat(payload, payload) AS a, concat(a, a) AS b, concat(b, b) AS c, concat(c, c) AS d FROM "t"',
      );
      expect(() => rule.evaluate({ topic: 't', payload: 'x'.repeat(100) })).toThrow(RuleEvaluationError);
      expect(rule.evaluate({ topic: 't', payload: 'x'.repeat(10) })[0]?.['d']).toHaveLength(160);
    });
  });

  describe('bits', () => {
    it('subbits of a whole large payload is linear (1 MiB), and refused past the integer limit', () => {
      const payload = Buffer.alloc(MiB, 0x5a);
      const bits = MiB * 8;
      for (const args of [[payload, 1, bits], [payload, 1, bits, 'integer', 'unsigned', 'little'], [payload, 2, bits - 1]]) {
        expect(errorOf(() => watchdog(() => call('subbits', args)))).toBeInstanceOf(RuleEvaluationError);
      }
    });

    it('reads wide integers as before, big- and little-endian, aligned or not', () => {
      const buf = Buffer.from('0102030405060708090a', 'hex');
      const slow = (from: number, count: number): bigint => {
        let v = 0n;
        for (let i = from; i < from + count; i++) v = (v << 1n) | BigInt((buf[i >> 3]! >> (7 - (i % 8))) & 1);
        return v;
      };
      // exact integers beyond 2^53 (bigints), as Erlang's bignums
      expect(call('subbits', [buf, 1, 80])).toBe(slow(0, 80));
      expect(call('subbits', [buf, 3, 75])).toBe(slow(2, 75));
      expect(call('subbits', [buf, 1, 72, 'integer', 'unsigned', 'little'])).toBe(BigInt('0x090807060504030201'));
      // 70 bits little-endian: 8 whole bytes, then 6 bits as the most significant chunk.
      const little = (slow(64, 6) << 64n) | BigInt(`0x${Buffer.from(buf.subarray(0, 8)).reverse().toString('hex')}`);
      expect(call('subbits', [buf, 1, 70, 'integer', 'unsigned', 'little'])).toBe(little);
      expect(call('subbits', [buf, 1, 72, 'integer', 'signed'])).toBe(slow(0, 72));
    });

    it('refuses a left shift past the range of numbers instead of building a huge integer', () => {
      expect(errorOf(() => watchdog(() => call('bitsl', [1, 1_000_000_000])))).toBeInstanceOf(RuleEvaluationError);
      expect(errorOf(() => call('bitsr', [1, -1_000_000_000]))).toBeInstanceOf(RuleEvaluationError);
      expect(call('bitsl', [0, 1_000_000_000])).toBe(0);
      expect(call('bitsr', [5, 1_000_000_000])).toBe(0);
      expect(call('bitsl', [3, 4])).toBe(48);
    });
  });
});

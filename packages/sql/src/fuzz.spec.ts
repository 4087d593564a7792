import { describe, expect, it } from '@jest/globals';
import { IntegrationError, RuleEvaluationError, RuleSyntaxError } from '@sluice/core';
import { compileRule } from './rule';

/** mulberry32: a small seeded PRNG, so every run tries the same rules and a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = [
  'SELECT', 'FROM', 'WHERE', 'FOREACH', 'DO', 'INCASE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'AS', 'AND', 'OR',
  'NOT', 'IN', 'div', 'mod', 'true', 'false', '*', ',', '.', '(', ')', '[', ']', '+', '-', '/', '=', '!=', '<>', '<',
  '<=', '>', '>=', '=~', '~=', '[1..3]', '[-2..-1]', '1', '0', '-1', '2.5', '2.0', "'s'", "'t/#'", '"t/1"', '"a b"',
  'payload', 'payload.a', 'payload.a[1]', 'a', 'b', 'item', 'clientid', 'topic', 'qos', 'abs', 'lower', 'nth', 'x.y',
  '--', '\n', '_', '#', '$', "'", '"', '1e5', '12e3', '1.5f', 'emqx_rule_funcs.abs', 'other.f',
];

const SEEDS = [
  'SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM "temp_hum/emqx"',
  'SELECT * FROM "t/#" WHERE qos = 1 AND payload.x > 2',
  'FOREACH payload.sensors AS s DO s.name AS n, clientid INCASE s.v > 1 FROM "t/+" WHERE topic =~ \'t/#\'',
  "SELECT CASE WHEN payload.t > 30 THEN 'hot' ELSE 'cold' END AS c, CASE qos WHEN 1 THEN 'one' END AS q FROM t",
  'SELECT a[1..2], [1, 2 + 3, abs(-1)] AS l, div(7, 2) d, 7 mod 2 AS m, x AS o.p[1] FROM "a", \'b\' WHERE a IN (1, 2) OR NOT b = 1',
  "SELECT lower(upper(clientid)) AS c, payload.'k'.\"q r\" AS k FROM t WHERE (a = 1 OR b < 2) AND c != 'x'",
];

const INPUT = { topic: 't/1', clientid: 'c', qos: 1, payload: '{"a":[1,2],"sensors":[{"name":"n","v":2}],"t":31,"x":3}' };

function tokenize(rule: string): string[] {
  return rule.match(/'[^']*'|"[^"]*"|\[[-+]?\d+\.\.[-+]?\d+\]|[A-Za-z_][\w.$@~]*|\d+(?:\.\d+)?|[<>!=~]=?|<>|\S/g) ?? [];
}

function randomRule(random: () => number): string {
  const length = 1 + Math.floor(random() * 14);
  const tokens: string[] = [random() < 0.7 ? 'SELECT' : 'FOREACH'];
  for (let i = 0; i < length; i++) tokens.push(VOCABULARY[Math.floor(random() * VOCABULARY.length)] as string);
  if (random() < 0.6) tokens.push('FROM', '"t/1"');
  return tokens.join(random() < 0.8 ? ' ' : '');
}

function mutatedRule(random: () => number): string {
  const tokens = tokenize(SEEDS[Math.floor(random() * SEEDS.length)] as string);
  const mutations = 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) {
    const at = Math.floor(random() * tokens.length);
    const pick = random();
    if (pick < 0.3) tokens.splice(at, 1);
    else if (pick < 0.6) tokens.splice(at, 0, VOCABULARY[Math.floor(random() * VOCABULARY.length)] as string);
    else if (pick < 0.8) tokens[at] = VOCABULARY[Math.floor(random() * VOCABULARY.length)] as string;
    else {
      const other = Math.floor(random() * tokens.length);
      [tokens[at], tokens[other]] = [tokens[other] as string, tokens[at] as string];
    }
  }
  let text = tokens.join(' ');
  if (random() < 0.2) {
    const cut = Math.floor(random() * text.length);
    text = text.slice(0, cut) + text.slice(cut + 1);
  }
  return text;
}

function check(rule: string): 'compiled' | 'syntax' {
  let compiled;
  try {
    compiled = compileRule(rule);
  } catch (error) {
    if (!(error instanceof RuleSyntaxError)) throw new Error(`${JSON.stringify(rule)} threw ${String(error)}`);
    expect(error.line).toBeGreaterThanOrEqual(1);
    expect(error.column).toBeGreaterThanOrEqual(1);
    return 'syntax';
  }
  // A rule that compiles either evaluates or fails with RuleEvaluationError: nothing else escapes.
  try {
    const outputs = compiled.evaluate(INPUT);
    expect(Array.isArray(outputs)).toBe(true);
  } catch (error) {
    if (!(error instanceof RuleEvaluationError) && !(IntegrationError.is(error) && error.code === 'ERR_RULE_EVALUATION')) {
      throw new Error(`${JSON.stringify(rule)} evaluation threw ${String(error)}`);
    }
  }
  return 'compiled';
}

describe('fuzzing compileRule', () => {
  it.each([
    ['random token sequences', randomRule, 0x5eed],
    ['mutated valid rules', mutatedRule, 0xbeef],
  ] as const)('%s either compile or throw RuleSyntaxError', (_name, generate, seed) => {
    const random = prng(seed);
    const counts = { compiled: 0, syntax: 0 };
    for (let i = 0; i < 2000; i++) counts[check(generate(random))]++;
    // Both outcomes occur, so the generator exercises the parser and the compiler alike.
    expect(counts.compiled).toBeGreaterThan(20);
    expect(counts.syntax).toBeGreaterThan(20);
  }, 60_000);
});

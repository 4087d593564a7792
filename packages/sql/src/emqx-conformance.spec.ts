import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from '@jest/globals';
import type { RuleOutput } from '@sluice/core';
import { CONFORMANCE_CASES, type ConformanceCase, type Pending } from '../test/emqx-conformance';
import { compileRule } from './index';

/**
 * EMQX's own rule-engine test cases (packages/sql/test/emqx-conformance), run through compileRule.
 * A case marked pending belongs to a feature of issue 15 that another change adds (exact integers, for
 * now): it must still fail, so that it is moved into the passing set when its feature lands.
 */
type Outcome = { readonly outputs: RuleOutput[] } | { readonly error: unknown };

function run(c: ConformanceCase): Outcome {
  const sql = c.sql ?? `SELECT ${c.expr} AS r FROM "#"`;
  try {
    // A rule id, as EMQX's rule tester gives one (metadata.rule_id).
    return { outputs: compileRule(sql, { ruleId: 'conformance' }).evaluate({ topic: 't/a', ...c.input }) };
  } catch (error) {
    return { error };
  }
}

/**
 * Erlang has one binary type for text and bytes (`<<10>>` is `<<"\\n">>`); Sluice holds bytes as a
 * string or a Buffer, and both stand for the same binary. So values are compared as Erlang sees them:
 * bytes that are UTF-8 as their text.
 */
function asBinary(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return isUtf8(v) ? v.toString('utf8') : v;
  if (Array.isArray(v)) return v.map(asBinary);
  return v;
}

function check(c: ConformanceCase, outcome: Outcome): void {
  if (c.error) {
    expect('error' in outcome).toBe(true);
    return;
  }
  if ('error' in outcome) throw outcome.error;
  const { outputs } = outcome;
  if (c.nomatch) expect(outputs).toEqual([]);
  else if (c.expr !== undefined) {
    expect(outputs).toHaveLength(1);
    expect(asBinary(outputs[0]?.['r'])).toStrictEqual(asBinary(c.value));
  } else if (c.match !== undefined) expect(outputs).toMatchObject(c.match as Record<string, unknown>[]);
  // toStrictEqual tells a key holding undefined from a missing key: EMQX keeps every selected key.
  else expect(outputs).toStrictEqual(c.outputs);
}

/**
 * Whether a pending case still fails for its documented reason: a wrong result, or, for a case that
 * expects an error, the error of the missing feature (jq today raises "jq is not supported"; a case
 * expecting jq's own timeout error must not count as passing because of that).
 */
const MISSING_FEATURE: Readonly<Record<Pending, RegExp | undefined>> = {
  jq: /jq is not supported/,
  events: undefined,
  schema: /not supported|unknown function/,
};

function stillPending(c: ConformanceCase & { pending: Pending }): boolean {
  const outcome = run(c);
  const missing = MISSING_FEATURE[c.pending];
  if (c.error && 'error' in outcome) return missing !== undefined && missing.test(String((outcome.error as Error).message));
  try {
    check(c, outcome);
    return false;
  } catch {
    return true;
  }
}

const label = (c: ConformanceCase): string => `${c.from}: ${c.expr ?? c.sql}${c.differs ? ' (differs)' : ''}`;
const passing = CONFORMANCE_CASES.filter((c) => c.pending === undefined);
const pending = CONFORMANCE_CASES.filter((c): c is ConformanceCase & { pending: Pending } => c.pending !== undefined);

describe('EMQX conformance corpus', () => {
  for (const group of [...new Set(passing.map((c) => c.group))]) {
    describe(group, () => {
      it.each(passing.filter((c) => c.group === group).map((c) => [label(c), c] as const))('%s', (_, c) => {
        check(c, run(c));
      });
    });
  }

  // Since the exact integers landed no case is pending; a case marked pending again gets this check back.
  if (pending.length > 0) {
    describe('pending: cases of features still to land (they must fail until then)', () => {
      it.each(pending.map((c) => [`${c.pending}: ${label(c)}`, c] as const))('%s', (_, c) => {
        if (!stillPending(c)) {
          throw new Error(`this case passes now: remove its "pending: ${c.pending}" in packages/sql/test/emqx-conformance`);
        }
      });
    });
  }

  it('says why for every difference from EMQX it asserts', () => {
    for (const c of CONFORMANCE_CASES.filter((x) => x.differs !== undefined)) expect(c.differs?.length).toBeGreaterThan(40);
  });
});

import { SqlFloat } from '../../src/values';

/**
 * One case of the EMQX conformance corpus: a fact from EMQX's own rule-engine test suites, restated as
 * Sluice rule SQL (the facts carry over; EMQX's Erlang does not). `from` names the EMQX suite and test
 * case it was taken from, so a reader can check the transcription.
 *
 * - An expression case evaluates `SELECT <expr> AS r FROM "#"` and compares `r` with `value`
 *   (jest toStrictEqual: an integer is a number, an integral float an SqlFloat, bytes a Buffer).
 * - A rule case evaluates the whole `sql` and compares the outputs with `outputs` (exactly, including
 *   keys whose value is undefined) or `match` (jest toMatchObject, for EMQX's `?assertMatch` patterns).
 * - `error: true`: evaluation (or compilation) must fail; `nomatch: true`: the rule gives no output.
 * - `pending`: a feature another part of issue 15 adds. Such a case is not in the passing suite: the
 *   spec checks that it still fails, so it is moved into the passing set the day its feature lands.
 * - `differs`: EMQX gives something else for a reason that is an Erlang artefact (listed in
 *   docs/sql.md); the case asserts Sluice's documented behaviour instead, and says why.
 */
export interface ConformanceCase {
  readonly group: Group;
  readonly from: string;
  readonly expr?: string;
  readonly sql?: string;
  readonly input?: Readonly<Record<string, unknown>>;
  readonly value?: unknown;
  readonly outputs?: readonly unknown[];
  readonly match?: unknown;
  readonly error?: true;
  readonly nomatch?: true;
  readonly pending?: Pending;
  readonly differs?: string;
}

export type Group = 'funcs' | 'sqlselect' | 'sqlparse' | 'sqltester' | 'maps' | 'rulesql';

/** The owner feature of a case that cannot pass yet (issue 15). */
export type Pending = 'jq' | 'events' | 'schema';

/** An integral float (EMQX `2.0`). */
export const F = (n: number): SqlFloat => new SqlFloat(n);

/** Bytes from hex. */
export const B = (hex: string): Buffer => Buffer.from(hex, 'hex');

/** Expression cases of one EMQX test: [expr, value] rows; `error` rows are [expr, ERROR]. */
export const ERROR = Symbol('error');
export function exprs(
  group: Group,
  from: string,
  rows: readonly (readonly [string, unknown])[],
  extra: Partial<ConformanceCase> = {},
): ConformanceCase[] {
  return rows.map(([expr, value]) =>
    value === ERROR ? { group, from, expr, error: true, ...extra } : { group, from, expr, value, ...extra },
  );
}

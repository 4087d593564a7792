import { describe, expect, it } from '@jest/globals';
import { type ActionWriteError, IntegrationError } from '@sluice/core';
import { PostgresAction } from './postgres-action';
import type { Statement, StatementRunner } from './postgres-pool';
import { compileSqlTemplate } from './sql-template';

/** A pg error's shape: its SQLSTATE (or socket code) in `code`. */
const pgError = (code: string): Error => Object.assign(new Error(`failed with ${code}`), { code });

/**
 * A runner standing in for the pool: the multi-row statement fails with a row's error, so the action goes on
 * row by row; each row's statement is answered by `answer(value)` (the row's `v`).
 */
class ScriptedRunner implements StatementRunner {
  readonly rowsTried: unknown[] = [];
  constructor(private readonly answer: (value: unknown) => Promise<void>) {}
  async query(statement: Statement): Promise<void> {
    if (statement.params.length > 1) throw pgError('23514'); // the batch, failing because of some row
    this.rowsTried.push(statement.params[0]);
    return this.answer(statement.params[0]);
  }
  async transaction(): Promise<void> {
    throw new Error('not used: the template is a plain INSERT');
  }
}

function action(runner: StatementRunner, batchSize: number): { action: PostgresAction; results: Array<ActionWriteError | undefined> } {
  const results: Array<ActionWriteError | undefined> = [];
  const made = new PostgresAction('r:warehouse', { connectorId: 'warehouse', actionId: 'r:warehouse' },
    compileSqlTemplate('INSERT INTO t(v) VALUES (${v})'), (output) => [output['v']],
    { sql: 'INSERT INTO t(v) VALUES (${v})', batchSize, batchTimeMs: 1_000 }, runner, undefined, (error) => results.push(error));
  return { action: made, results };
}

async function settle(sends: Array<Promise<void>>): Promise<Array<'written' | 'final' | 'retriable'>> {
  const settled = await Promise.allSettled(sends);
  return settled.map((s) => {
    if (s.status === 'fulfilled') return 'written';
    if (!IntegrationError.is(s.reason)) throw s.reason;
    return s.reason.retriable ? 'retriable' : 'final';
  });
}

describe(PostgresAction.name, () => {
  describe('.send, when a batch fails because of a row and the rows are written one by one', () => {
    it('fails only the bad row, and writes the others', async () => {
      const runner = new ScriptedRunner(async (v) => { if (v === 2) throw pgError('23514'); });
      const { action: made } = action(runner, 4);
      expect(await settle([1, 2, 3, 4].map((v) => made.send({ v })))).toEqual(['written', 'final', 'written', 'written']);
      expect(runner.rowsTried).toEqual([1, 2, 3, 4]);
    });

    it('gives every row not yet written back as retriable at once when the connection fails, without trying them', async () => {
      const runner = new ScriptedRunner(async (v) => {
        if (v === 2) throw pgError('23514');
        if (v === 3) throw pgError('ECONNRESET');
      });
      const { action: made, results } = action(runner, 6);
      const outcome = await settle([1, 2, 3, 4, 5, 6].map((v) => made.send({ v })));
      expect(outcome).toEqual(['written', 'final', 'retriable', 'retriable', 'retriable', 'retriable']);
      expect(runner.rowsTried).toEqual([1, 2, 3]);
      // the connector's status hears of the connection failure
      expect(results.at(-1)?.retriable).toBe(true);
    });

    it('stops when the action is closing: close() waits for the row in flight only, the rest goes back retriable', async () => {
      let release: () => void = () => {};
      const runner = new ScriptedRunner((v) => (v === 2 ? new Promise<void>((resolve) => { release = resolve; }) : Promise.resolve()));
      const { action: made } = action(runner, 5);
      const sends = [1, 2, 3, 4, 5].map((v) => made.send({ v }));
      while (runner.rowsTried.length < 2) await new Promise((resolve) => setImmediate(resolve));

      const closed = made.close();
      release();
      await closed;
      expect(await settle(sends)).toEqual(['written', 'written', 'retriable', 'retriable', 'retriable']);
      expect(runner.rowsTried).toEqual([1, 2]);
      const reason = await sends[4]?.catch((e: Error) => e.message);
      expect(reason).toContain('is closing');
    });
  });
});

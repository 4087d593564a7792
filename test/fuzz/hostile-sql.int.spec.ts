import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The seeded fuzz of hostile rules and payloads (scripts/fuzz/sql-fuzz.js) on the built @sluice/sql:
// every case runs in a child process under a heap cap, an RSS cap and a per-case time limit, and the
// test fails on a crash, a hang, an error of the wrong class, a bad output map or a polluted prototype,
// listing every failing case with its replay command. It lives in the integration project because it
// needs packages/*/dist, which `npm test` and `npm run test:integration` build first. A longer run:
// `npm run fuzz -- --cases 100000 --seed N`; SLUICE_FUZZ_SEED=N here replays another seed.

const ROOT = path.resolve(__dirname, '..', '..');
const SEED = process.env['SLUICE_FUZZ_SEED'] ?? '20260810';
const CASES = 3000;
const BUDGET_SECONDS = 75;

interface FuzzReport {
  readonly total: number;
  readonly ran: number;
  readonly undone: number;
  readonly counts: { readonly result: number; readonly syntax: number; readonly evaluation: number; readonly failure: number };
  readonly text: string;
}

function runFuzz(reportFile: string): Promise<void> {
  const args = [
    path.join(ROOT, 'scripts/fuzz/sql-fuzz.js'),
    ...['--seed', SEED, '--cases', String(CASES), '--scale', 'ci', '--timeout', '3000'],
    ...['--max-seconds', String(BUDGET_SECONDS), '--report', reportFile, '--quiet'],
  ];
  // Exit code 1 means "failures found": the report says which, so only a missing report is an error.
  return new Promise((resolve) => execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 64 << 20 }, () => resolve()));
}

describe('hostile rules and payloads (seeded fuzz in child processes)', () => {
  it('give a result, a RuleSyntaxError or a RuleEvaluationError: never a crash, a hang or another error', async () => {
    expect(existsSync(path.join(ROOT, 'packages/sql/dist/index.js'))).toBe(true); // built by npm test
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-sql-fuzz-'));
    try {
      const reportFile = path.join(dir, 'report.json');
      await runFuzz(reportFile);
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as FuzzReport;
      if (report.counts.failure > 0 || report.undone > 0) throw new Error(`\n${report.text}`);
      expect(report.ran).toBe(report.total);
      // All three outcomes occur, so the cases reach the parser, the compiler and the evaluator alike.
      expect(report.counts.result).toBeGreaterThan(CASES / 10);
      expect(report.counts.syntax).toBeGreaterThan(CASES / 10);
      expect(report.counts.evaluation).toBeGreaterThan(CASES / 20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, (BUDGET_SECONDS + 45) * 1000);
});

import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The fuzz harness (scripts/fuzz/sql-fuzz.js) is only worth its green run if it sees what it claims to
// see. This runs it on a deliberately broken engine (test/fuzz/misbehaving-sql, chosen through
// SLUICE_FUZZ_ROOT) whose repros hang, abort, throw a TypeError, return a map with a swapped prototype,
// or abort only after other cases ran in the same process, and checks each is reported as such.

const ROOT = path.resolve(__dirname, '..', '..');

interface Report {
  readonly ran: number;
  readonly counts: { readonly result: number; readonly syntax: number; readonly evaluation: number; readonly failure: number };
  readonly failures: ReadonlyArray<{ readonly id: string; readonly kind: string; readonly detail: string; readonly replay: string }>;
  readonly text: string;
}

function runHarness(ids: readonly string[], reportFile: string): Promise<number> {
  const args = [path.join(ROOT, 'scripts/fuzz/sql-fuzz.js'), '--seed', '1', '--jobs', '1', '--timeout', '1500', '--only', ids.join(','), '--report', reportFile, '--quiet'];
  const env = { ...process.env, SLUICE_FUZZ_ROOT: path.join(__dirname, 'misbehaving-sql') };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { cwd: ROOT, env }, () => undefined);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

describe('the fuzz harness', () => {
  it('names a hang, a crash, a wrong error class, a bad output and state-dependent crash, and passes the allowed outcomes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fuzz-self-'));
    try {
      const reportFile = path.join(dir, 'report.json');
      const ids = ['F:redos-literal-28', 'F:gunzip-bomb-500m', 'F:pad-537m', 'F:foreach-proto-alias', 'F:redos-payload-pattern', 'F:range-200m', 'F:from-invalid-filter-hash-middle'];
      const code = await runHarness(ids, reportFile);
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
      const kinds = Object.fromEntries(report.failures.map((f) => [f.id, f.kind]));
      expect(kinds).toEqual({
        'F:redos-literal-28': 'hang',
        'F:gunzip-bomb-500m': 'crash',
        'F:pad-537m': 'wrong-error',
        'F:foreach-proto-alias': 'bad-output',
        'F:from-invalid-filter-hash-middle': 'crash-after-other-cases',
      });
      expect(report.failures.find((f) => f.id === 'F:pad-537m')?.detail).toContain('TypeError');
      expect(report.failures.every((f) => f.replay.includes(`--only ${f.id}`))).toBe(true);
      expect(report.ran).toBe(ids.length);
      expect(report.counts).toEqual({ result: 1, syntax: 0, evaluation: 1, failure: 5 });
      expect(code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

import { describe, expect, it, jest } from '@jest/globals';
import type { Worker } from 'node:worker_threads';
import { JqRunner } from './jq-runner';

const MiB = 1024 * 1024;

describe(JqRunner.name, () => {
  describe('.dedicate', () => {
    it('gives 4 programs a worker of their own, and a fifth only once one of them has been idle 5 minutes', () => {
      let clock = 0;
      const runner = new JqRunner(64 * MiB, () => clock);
      for (const program of ['.a', '.b', '.c', '.d']) expect(runner.dedicate(program)).toBe(true);
      clock = 4 * 60_000;
      expect(runner.dedicate('.a')).toBe(true); // already has one: now its last use
      expect(runner.dedicate('.e')).toBe(false); // none idle for 5 minutes yet
      clock = 5 * 60_000;
      expect(runner.dedicate('.e')).toBe(true); // takes the worker of '.b', unused since 0
      expect(runner.dedicate('.f')).toBe(true); // '.c'
      expect(runner.dedicate('.g')).toBe(true); // '.d'
      expect(runner.dedicate('.h')).toBe(false); // '.a' was used a minute ago
    });
  });

  describe('.run', () => {
    it('runs a dedicated program on its own worker and others on the shared one, with the same results', () => {
      const runner = new JqRunner(64 * MiB);
      try {
        runner.dedicate('.x');
        const options = { timeoutMs: 10_000, maxOutput: 1024 };
        expect(runner.run('.x', '{"x": 1}', options)).toEqual({ kind: 'ok', lines: ['1'] });
        expect(runner.run('.y', '{"y": 2}', options)).toEqual({ kind: 'ok', lines: ['2'] });
        expect(runner.run('.x', '{"x": 3}', options)).toEqual({ kind: 'ok', lines: ['3'] });
        expect(runner.run('.[', 'null', { ...options, check: true })).toMatchObject({ kind: 'error' });
      } finally {
        runner.stop();
      }
    });

    it('answers at once, with the reason, when the worker thread stopped by itself between runs', async () => {
      const runner = new JqRunner(64 * MiB);
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const options = { timeoutMs: 10_000, maxOutput: 1024 };
        expect(runner.run('.', '1', options)).toEqual({ kind: 'ok', lines: ['1'] });
        // stands for a crash: the thread ends without the runner asking
        const thread = (runner as unknown as { shared: { thread: Worker } }).shared.thread;
        await thread.terminate();
        await new Promise((resolve) => setImmediate(resolve));
        expect(runner.run('.', '2', options)).toEqual({ kind: 'aborted', message: 'the jq worker stopped: exit code 1' });
        expect(emitWarning.mock.calls).toEqual([
          [expect.stringMatching(/^function jq\(\): the jq worker stopped: exit code 1 \(jq is started again/), { code: 'SLUICE_JQ_WORKER_STOPPED' }],
        ]);
      } finally {
        emitWarning.mockRestore();
        runner.stop();
      }
    });
  });
});

'use strict';
// How a --repeat's runs are judged: each goal within each run, met when met in most runs.
const { judgedOverRuns, issue11Goals, tableRows } = require('./report');

/** A pipeline point of the bench's results, as measure.js records it. */
const point = (run, sut, delivery, size, msgPerCpuSec) => ({
  run, group: 'pipeline', sut, delivery, size, rules: 1, procs: 1, templated: null, broker: 'mosquitto',
  throughput: 10000, msgPerCpuSec, label: `${sut} ${delivery ?? ''} ${size} B (run ${run})`,
});

/** One run's relay and at-least-once points at 200 B, at-least-once at `ratio` × the relay per CPU-second. */
const runOf = (run, ratio, relayPerCpuSec = 20000) => [
  point(run, 'relay', null, 200, relayPerCpuSec),
  point(run, 'sluice', 'at-least-once', 200, relayPerCpuSec * ratio),
];

const aloGoal = (goals) => goals.find((g) => g.goal.startsWith('at-least-once 200 B ≥ 1.0 ×'));

describe('bench report: goals over the runs of a --repeat', () => {
  it('leaves a run without --repeat as it was', () => {
    const results = { points: runOf(null, 1.1) };
    expect(judgedOverRuns(issue11Goals, results)).toEqual(issue11Goals(results));
    expect(aloGoal(judgedOverRuns(issue11Goals, results))).toEqual(expect.objectContaining({ measured: '1.10 ×', met: true }));
  });

  it('meets a goal met in most runs, and shows every run', () => {
    const goal = aloGoal(judgedOverRuns(issue11Goals, { points: [...runOf(1, 1.1), ...runOf(2, 0.9), ...runOf(3, 1.05)] }));
    expect(goal).toEqual({
      goal: 'at-least-once 200 B ≥ 1.0 × the relay in msg per CPU-second',
      measured: 'run 1: 1.10 ×; run 2: 0.90 ×; run 3: 1.05 × (met in 2 of 3 runs)',
      met: true,
    });
  });

  it('misses a goal met in one run of three', () => {
    const goal = aloGoal(judgedOverRuns(issue11Goals, { points: [...runOf(1, 1.1), ...runOf(2, 0.9), ...runOf(3, 0.95)] }));
    expect(goal.met).toBe(false);
    expect(goal.measured).toMatch(/\(met in 1 of 3 runs\)$/);
  });

  it('counts a run that could not judge the goal (a point failed) as not met', () => {
    const points = [...runOf(1, 1.1), ...runOf(2, 1.2), point(3, 'relay', null, 200, 20000)]; // run 3: no Sluice point
    const goal = aloGoal(judgedOverRuns(issue11Goals, { points }));
    expect(goal.measured).toMatch(/\(met in 2 of 3 runs\)$/);
    expect(goal.met).toBe(true);
    const once = aloGoal(judgedOverRuns(issue11Goals, { points: [...runOf(1, 1.1), point(2, 'relay', null, 200, 20000), point(3, 'relay', null, 200, 20000)] }));
    expect(once.met).toBe(false);
  });

  it("compares each point of the per-point table with its own run's relay", () => {
    const rows = tableRows({ points: [...runOf(1, 1.5), ...runOf(2, 0.5, 40000)] }); // against run 1's relay: 1 / 1
    expect(rows.map((row) => row['vs relay'])).toEqual(['–', '1 / 1.5', '–', '1 / 0.5']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Highs } from 'highs';
import { resolveProfileSet } from '../../src/io/load.js';
import { decideWithHighs } from '../../src/optimizer/decide.js';
import { highsReloads, highsRuns, reloadHighsSolver } from '../../src/optimizer/highsSolver.js';
import { gridProblem, variantPool } from '../../src/tooling/syntheticProblems.js';

/**
 * highs-js has failed after a few thousand calls in some versions; the adaptation loop solves
 * every few seconds for months. 100,000 solves in one process must neither fail nor grow memory.
 */
describe('solver endurance', () => {
  it('runs 100,000 consecutive HiGHS solves with RSS growth under 50 MB', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    // Grid cells whose presolve leaves a real MILP, so that every solve runs HiGHS.
    const pool = variantPool(profiles, 10);
    const problems = [
      [2, 9],
      [3, 5],
      [4, 10],
      [5, 5],
      [7, 9],
    ].map(([stages, variants]) => gridProblem(pool, stages as number, variants as number, 'sum'));
    for (let i = 0; i < 2000; i++)
      await decideWithHighs(problems[i % problems.length] as (typeof problems)[number], { method: 'highs', explain: false });
    const before = process.memoryUsage().rss;
    const runsBefore = highsRuns();
    let infeasible = 0;
    for (let i = 0; i < 100_000; i++) {
      const d = await decideWithHighs(problems[i % problems.length] as (typeof problems)[number], { method: 'highs', explain: false });
      if (!d.feasible) infeasible += 1;
      assert.equal(d.solver.method, 'highs');
    }
    const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
    const ran = highsRuns() - runsBefore;
    process.stderr.write(`# 100,000 solves: HiGHS ran ${ran} times, RSS growth ${growthMb.toFixed(1)} MB, reloads ${highsReloads()}\n`);
    assert.equal(infeasible, 0);
    assert.ok(ran >= 100_000, `HiGHS ran only ${ran} times`);
    assert.ok(growthMb < 50, `RSS grew ${growthMb.toFixed(1)} MB`);
  });

  it('re-creates the solver when HiGHS throws, and still answers', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    const problem = gridProblem(variantPool(profiles, 10), 3, 5, 'sum');
    const expected = await decideWithHighs(problem, { method: 'highs', explain: false });
    // A module whose every call throws, the way a worn-out highs-js instance fails (it is no
    // promise: `then` is absent, so the loader's promise can resolve to it).
    const failing = new Proxy({} as Highs, {
      get(_, key) {
        if (key === 'then') return undefined;
        throw new Error('simulated HiGHS failure');
      },
    });
    await reloadHighsSolver(async () => failing);
    const reloads = highsReloads();
    const again = await decideWithHighs(problem, { method: 'highs', explain: false });
    assert.equal(highsReloads(), reloads + 1);
    assert.equal(again.solver.method, 'highs');
    assert.equal(again.objective.value, expected.objective.value);
  });
});

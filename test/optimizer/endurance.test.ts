import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { optimize } from '../../src/optimizer/decide.js';
import { highsReloads } from '../../src/optimizer/highsSolver.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';

/**
 * highs-js has failed after a few thousand calls in some versions; the adaptation loop solves
 * every few seconds for months. 100,000 solves in one process must neither fail nor grow memory.
 */
describe('solver endurance', () => {
  it('runs 100,000 consecutive HiGHS solves with RSS growth under 50 MB', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    const spec = await resolvePipelineSpec('video', profiles);
    // Linear PAS so that every solve goes through HiGHS; loads vary so the models differ.
    const problems = [10, 40, 100, 250, 600].map((load) => problemFromSpec({ ...spec, pas: 'sum' }, profiles, load));
    for (let i = 0; i < 2000; i++) await optimize(problems[i % problems.length] as (typeof problems)[number], { explain: false });
    const before = process.memoryUsage().rss;
    let infeasible = 0;
    for (let i = 0; i < 100_000; i++) {
      const d = await optimize(problems[i % problems.length] as (typeof problems)[number], { explain: false });
      if (!d.feasible) infeasible += 1;
      assert.equal(d.solver.method, 'highs');
    }
    const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
    process.stderr.write(`# 100,000 solves: RSS growth ${growthMb.toFixed(1)} MB, HiGHS reloads ${highsReloads()}\n`);
    assert.equal(infeasible, 0);
    assert.ok(growthMb < 50, `RSS grew ${growthMb.toFixed(1)} MB`);
  });
});

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { seededRandom } from '../../src/common/seededRandom.js';
import { resolveProfileSet } from '../../src/io/load.js';
import type { Problem, ProblemShape } from '../../src/model/problem.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { PAS_METHODS, type PasMethod } from '../../src/model/settings.js';
import { highsRuns, loadHighsSolver } from '../../src/optimizer/highsSolver.js';
import { buildOptions, type Option } from '../../src/optimizer/options.js';
import { type Method, optimumValue, solveProblem } from '../../src/optimizer/solve.js';
import { gridProblem, randomProblem, variantPool } from '../../src/tooling/syntheticProblems.js';
import { referenceOption, referenceTimeout } from './referenceModel.js';

const optimum = (problem: Problem, method: Method) => optimumValue(solveProblem(problem, method));

function assertSame(problem: Problem, reference: number | undefined, got: number | undefined, label: string) {
  assert.equal(
    got === undefined,
    reference === undefined,
    `${label}: feasibility differs (${got} vs brute ${reference}) on ${JSON.stringify(problem)}`,
  );
  if (reference === undefined || got === undefined) return;
  assert.ok(Math.abs(got - reference) <= 1e-9 * Math.max(1, Math.abs(reference)), `${label}: objective ${got} vs brute ${reference}`);
}

/**
 * How much to check: everything in `npm test`; `npm run test:mutation` sets a small share (a few
 * random instances of each kind, the smallest grid, fewer tied stages), since under Stryker's
 * instrumentation the whole file takes minutes for each mutant.
 */
const SHARE = Number(process.env.IPA_EXACTNESS_SHARE ?? '1');
const instances = (n: number) => Math.max(5, Math.round(n * SHARE));
const GRIDS: [number, number][] =
  SHARE < 1
    ? [[5, 5]]
    : [
        [5, 5],
        [6, 8],
        [10, 10],
      ];
const TIED_STAGES = SHARE < 1 ? 4 : 6;

describe('exact solvers against brute force', () => {
  let profiles: ProfileSet;
  before(async () => {
    await loadHighsSolver();
    profiles = await resolveProfileSet('measured-h200');
  });

  for (const pas of PAS_METHODS) {
    const n = instances(500);
    it(`agree on ${n} seeded random instances with ${pas} PAS`, () => {
      const random = seededRandom({ sum: 1, average: 2, multiply: 3 }[pas]);
      let infeasible = 0;
      const runsBefore = highsRuns();
      for (let i = 0; i < n; i++) {
        const problem = randomProblem(profiles, pas, random, {
          maxStages: 4,
          maxVariants: 5,
          maxShapes: 5,
          maxBatches: 7,
          maxCombinations: 50_000,
        });
        const reference = optimum(problem, 'brute');
        if (reference === undefined) infeasible += 1;
        for (const method of ['auto', 'highs', 'pareto', 'bnb'] as Method[]) {
          assertSame(problem, reference, optimum(problem, method), `${pas} #${i} ${method}`);
        }
      }
      // The generator must exercise both outcomes, or the comparison proves little.
      assert.ok(infeasible > n / 20 && infeasible < n - n / 20, `infeasible instances: ${infeasible} of ${n}`);
      // And the MILP itself must be exercised, not only the presolve that often finishes first.
      if (pas !== 'multiply') assert.ok(highsRuns() - runsBefore >= n / 10, `HiGHS ran ${highsRuns() - runsBefore} times`);
    });
  }

  for (const [arrivals, seed, why] of [
    ['bursty', 4, 'replica counts that save a wave are options'],
    ['poisson', 5, 'replica counts that shorten the queue wait are options'],
  ] as const) {
    const n = instances(300);
    it(`agree on ${n} seeded random instances with ${arrivals} arrivals (${why})`, () => {
      const random = seededRandom(seed);
      let infeasible = 0;
      for (let i = 0; i < n; i++) {
        const pas = PAS_METHODS[i % 3] as PasMethod;
        const problem: Problem = {
          ...randomProblem(profiles, pas, random, { maxStages: 3, maxVariants: 4, maxShapes: 4, maxBatches: 5, maxCombinations: 50_000 }),
          arrivals,
        };
        const reference = optimum(problem, 'brute');
        if (reference === undefined) infeasible += 1;
        for (const method of ['auto', 'highs', 'pareto', 'bnb'] as Method[]) {
          assertSame(problem, reference, optimum(problem, method), `${arrivals} ${pas} #${i} ${method}`);
        }
      }
      assert.ok(infeasible > n / 20 && infeasible < n - n / 20, `infeasible instances: ${infeasible} of ${n}`);
    });
  }

  /** Every option of a problem with the profile row it came from, grouped by row (variant, shape, batch) per stage. */
  function optionsByRow(problem: Problem): { option: Option; row: ProblemShape['batches'][number] }[][] {
    return buildOptions(problem).flatMap((stage) => {
      const byRow = new Map<string, { option: Option; row: ProblemShape['batches'][number] }[]>();
      for (const option of stage.options) {
        const row = problem.stages[option.stage]?.variants
          .find((v) => v.name === option.variant)
          ?.shapes.find((h) => h.name === option.shape)
          ?.batches.find((b) => b.batch === option.batch);
        assert.ok(row);
        const key = `${option.variant}/${option.shape}/${option.batch}`;
        byRow.set(key, [...(byRow.get(key) ?? []), { option, row }]);
      }
      return [...byRow.values()];
    });
  }

  it('plans bursts as waves: latency = batch latency + the later of the batch timeout and the waves before the last', () => {
    const problem: Problem = { ...gridProblem(variantPool(profiles, 2), 2, 3, 'multiply', false), load: 40, arrivals: 'bursty' };
    const rows = optionsByRow(problem);
    for (const { option: o, row } of rows.flat()) {
      const waves = Math.max(1, Math.ceil(problem.load / (o.replicas * o.batch)));
      // The last batch waits out the stage's batch timeout (the independent reference's choice).
      assert.equal(o.batchWaitMs, o.batch > 1 ? referenceTimeout(problem, o.batch) : 0);
      assert.equal(o.batchTimeoutMs, o.batch > 1 ? referenceTimeout(problem, o.batch) : undefined);
      // The second's last batch leaves at the timeout or after the waves before it, the later of the two.
      assert.equal(o.queueMs, Math.max(0, (waves - 1) * row.latencyMs - o.batchWaitMs));
      assert.equal(o.latencyMs, row.latencyMs + o.batchWaitMs + o.queueMs);
    }
    assert.ok(
      rows.some((offered) => offered.length > 1),
      'some rows are offered at more than the fewest replicas',
    );
  });

  it('plans Poisson arrivals as an M/M/c queue: latency = batch latency + the queue wait at p99, falling with each replica', () => {
    const problem: Problem = { ...gridProblem(variantPool(profiles, 2), 2, 3, 'sum', false), load: 40, arrivals: 'poisson' };
    const rows = optionsByRow(problem);
    for (const { option: o, row } of rows.flat()) {
      assert.ok(o.replicas * row.throughputRps > problem.load, 'capacity strictly above the load');
      // The wait from the independent reference (textbook Erlang C), not from the code under test.
      const want = referenceOption(problem, o.stage, o.variant, o.shape, o.batch, o.replicas).queueMs;
      assert.ok(
        Math.abs(o.queueMs - want) <= 1e-9 * Math.max(1, want),
        `${o.variant} ×${o.replicas}: queue wait ${o.queueMs}, reference ${want}`,
      );
      assert.equal(o.latencyMs, row.latencyMs + o.batchWaitMs + o.queueMs);
    }
    for (const offered of rows) {
      const sorted = offered.map(({ option }) => option).sort((a, b) => a.replicas - b.replicas);
      for (let k = 1; k < sorted.length; k++) {
        assert.equal(sorted[k]?.replicas, (sorted[k - 1]?.replicas ?? 0) + 1, 'every count up to the first without a wait');
        assert.ok((sorted[k]?.latencyMs ?? 0) < (sorted[k - 1]?.latencyMs ?? 0), 'each replica more waits less');
      }
    }
    assert.ok(
      rows.some((offered) => offered.length > 1),
      'some rows are offered at more than the fewest replicas',
    );
  });

  it('solves multiply PAS by the Pareto DP on IPA’s scalability grid, agreeing with branch and bound where brute force cannot go', () => {
    const pool = variantPool(profiles, 10);
    for (const [stages, variants] of GRIDS) {
      const problem = gridProblem(pool, stages, variants, 'multiply');
      const dp = solveProblem(problem, 'auto');
      assert.equal(dp.method, 'pareto', `${stages}×${variants}: the DP finished within its front limit`);
      assertSame(problem, optimum(problem, 'bnb'), optimumValue(dp), `${stages}×${variants} multiply: DP against branch and bound`);
    }
  });

  it('stays exact when configs tie on the SLA up to float rounding', () => {
    // Identical stages and an SLA hit exactly by several orders of the same options.
    const problem = gridProblem(variantPool(profiles, 1), TIED_STAGES, 1, 'sum', false);
    const reference = optimum(problem, 'brute');
    for (const method of ['auto', 'highs', 'pareto', 'bnb'] as Method[])
      assertSame(problem, reference, optimum(problem, method), `near-tie ${method}`);
  });
});

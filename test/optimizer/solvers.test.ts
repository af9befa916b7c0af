import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { seededRandom } from '../../src/common/seededRandom.js';
import { resolveProfileSet } from '../../src/io/load.js';
import type { Problem } from '../../src/model/problem.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import type { PasMethod } from '../../src/model/settings.js';
import { solveBranchAndBound } from '../../src/optimizer/branchAndBound.js';
import { solveBruteForce } from '../../src/optimizer/bruteForce.js';
import { type ChoiceModel, chosen, latencyOf, objectiveOf, type Solution } from '../../src/optimizer/choiceModel.js';
import { loadHighsSolver, solveHighsMilp } from '../../src/optimizer/highsSolver.js';
import { solveParetoDp } from '../../src/optimizer/paretoDp.js';
import { solveParetoDpMultiply } from '../../src/optimizer/paretoDpMultiply.js';
import { presolveLinear } from '../../src/optimizer/presolve.js';
import { type Method, optimumValue, solveProblem } from '../../src/optimizer/solve.js';
import { gridProblem, randomProblem, variantPool } from '../../src/tooling/syntheticProblems.js';

/**
 * Each solver on its own. exactness.test.ts compares what `solveProblem` returns, and a solver
 * that gives up is covered there by the next one (the DP hands over to HiGHS); here each one must
 * answer by itself, say which method answered, and do the work it reports.
 */

const objectiveAt = (model: ChoiceModel, solution: Solution | undefined) =>
  solution?.choice ? objectiveOf(model, chosen(model, solution.choice)) : undefined;

describe('the solvers, each on its own', () => {
  let profiles: ProfileSet;
  before(async () => {
    await loadHighsSolver();
    profiles = await resolveProfileSet('measured-h200');
  });

  /**
   * Seeded small instances of a PAS, with the pruned model every exact solver runs on and brute
   * force's answer (its objective undefined when infeasible).
   */
  function* instances(
    pas: PasMethod,
    seed: number,
    count: number,
  ): Generator<{ problem: Problem; model: ChoiceModel; brute: Solution; optimum: number | undefined }> {
    const random = seededRandom(seed);
    for (let i = 0; i < count; i++) {
      const problem = randomProblem(profiles, pas, random, {
        maxStages: 3,
        maxVariants: 3,
        maxShapes: 3,
        maxBatches: 4,
        maxCombinations: 5_000,
      });
      const brute = solveProblem(problem, 'brute');
      yield { problem, model: solveProblem(problem, 'bnb').model, brute: brute.solution, optimum: optimumValue(brute) };
    }
  }

  it('the Pareto DPs and branch and bound return the optimum themselves, never handing over', () => {
    for (const pas of ['sum', 'average', 'multiply'] as const) {
      let optimal = 0;
      for (const { problem, model, brute, optimum: reference } of instances(pas, 7, 60)) {
        const dp =
          pas === 'multiply' ? solveParetoDpMultiply(model, Number.POSITIVE_INFINITY) : solveParetoDp(model, Number.POSITIVE_INFINITY);
        const bnb = solveBranchAndBound(model);
        for (const [name, solution] of [
          ['pareto', dp],
          ['branch-and-bound', bnb],
        ] as const) {
          assert.ok(solution, `${pas}: ${name} gave up on ${JSON.stringify(problem)}`);
          assert.equal(solution.status, brute.status, `${pas}: ${name} says ${solution.status}, brute force ${brute.status}`);
          const value = objectiveAt(model, solution);
          if (reference !== undefined && value !== undefined)
            assert.ok(
              Math.abs(value - reference) <= 1e-9 * Math.max(1, Math.abs(reference)),
              `${pas}: ${name} ${value}, brute ${reference}`,
            );
        }
        if (brute.status === 'optimal') optimal += 1;
      }
      assert.ok(optimal > 5 && optimal < 55, `${pas}: both outcomes exercised (${optimal} of 60 feasible)`);
    }
  });

  it('brute force tries every config once and keeps the first of equal ones', () => {
    const problem = gridProblem(variantPool(profiles, 2), 2, 2, 'sum');
    const { model, solution } = solveProblem(problem, 'brute');
    const sizes = model.stages.map((s) => s.length);
    assert.equal(
      solution.work,
      sizes.reduce((p, n) => p * n, 1),
    );
    // Two copies of one option in each stage: every config ties, the first is kept.
    const first = model.stages.map((s) => s[0] as ChoiceModel['stages'][number][number]);
    const twins: ChoiceModel = { ...model, slaMs: Number.POSITIVE_INFINITY, stages: first.map((o) => [o, { ...o }]) };
    assert.deepEqual(solveBruteForce(twins), { status: 'optimal', choice: [0, 0], work: 4 });
    assert.deepEqual(solveBranchAndBound(twins).choice, [0, 0]);
    assert.deepEqual(solveParetoDp(twins)?.choice, [0, 0]);
  });

  it('a stage without options is infeasible at once, with no work, in every solver', () => {
    const { model } = solveProblem(gridProblem(variantPool(profiles, 2), 2, 2, 'sum'), 'bnb');
    const empty: ChoiceModel = { ...model, stages: [model.stages[0] as ChoiceModel['stages'][number], []] };
    const none = { status: 'infeasible', work: 0 };
    assert.deepEqual(solveBruteForce(empty), none);
    assert.deepEqual(solveBranchAndBound(empty), none);
    assert.deepEqual(solveParetoDp(empty), none);
    assert.deepEqual(solveParetoDpMultiply({ ...empty, pas: 'multiply' }), none);
  });

  it('an SLA nothing meets is infeasible in every solver', () => {
    const { model } = solveProblem(gridProblem(variantPool(profiles, 3), 3, 3, 'sum'), 'bnb');
    const tight: ChoiceModel = { ...model, slaMs: 1 };
    for (const [name, solution] of [
      ['brute', solveBruteForce(tight)],
      ['bnb', solveBranchAndBound(tight)],
      ['pareto', solveParetoDp(tight)],
      ['pareto multiply', solveParetoDpMultiply({ ...tight, pas: 'multiply' })],
    ] as const) {
      assert.equal(solution?.status, 'infeasible', name);
      assert.equal(solution?.choice, undefined, name);
    }
  });

  it('branch and bound cuts most of the tree, and the DP keeps only the front', () => {
    for (const pas of ['sum', 'multiply'] as const) {
      const problem = gridProblem(variantPool(profiles, 4), 3, 4, pas);
      const configs = solveProblem(problem, 'brute').solution.work;
      const bnb = solveProblem(problem, 'bnb').solution.work;
      // 56 options a stage, 175,616 configs: the bound cuts all but a few dozen nodes.
      assert.ok(bnb * 1000 < configs, `${pas}: branch and bound visited ${bnb} nodes of ${configs} configs`);
      const { model } = solveProblem(problem, 'bnb');
      const dp =
        pas === 'multiply' ? solveParetoDpMultiply(model, Number.POSITIVE_INFINITY) : solveParetoDp(model, Number.POSITIVE_INFINITY);
      assert.ok(dp && dp.work > 0 && dp.work * 100 < configs, `${pas}: the DP made ${dp?.work} states`);
    }
  });

  it('a DP whose front grows past its limit hands over (undefined); a linear DP declines multiply', () => {
    const { model } = solveProblem(gridProblem(variantPool(profiles, 5), 4, 5, 'average'), 'bnb');
    assert.ok(solveParetoDp(model, Number.POSITIVE_INFINITY));
    assert.equal(solveParetoDp(model, 1), undefined);
    assert.equal(solveParetoDp({ ...model, pas: 'multiply' }), undefined);
    assert.ok(solveParetoDpMultiply({ ...model, pas: 'multiply' }, Number.POSITIVE_INFINITY));
    assert.equal(solveParetoDpMultiply({ ...model, pas: 'multiply' }, 1), undefined);
  });

  it('the presolve keeps the optimum and a feasible start, and drops what cannot be in it', () => {
    for (const pas of ['sum', 'average'] as const) {
      for (const { problem, model, brute, optimum: want } of instances(pas, 11, 60)) {
        const { model: reduced, incumbent } = presolveLinear(model);
        const kept = solveBruteForce(reduced);
        assert.equal(kept.status, brute.status, `${pas}: the presolve changed feasibility of ${JSON.stringify(problem)}`);
        const got = objectiveAt(reduced, kept);
        if (want !== undefined && got !== undefined)
          assert.ok(
            Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)),
            `${pas}: optimum ${got} after the presolve, ${want} before`,
          );
        if (incumbent) {
          const start = chosen(reduced, incumbent);
          assert.ok(start.every((o) => o !== undefined) && latencyOf(start) <= reduced.slaMs, `${pas}: the start is a feasible config`);
        }
      }
    }
    // On IPA's grids the greedy start is optimal, and the bounds leave a few options a stage.
    for (const [stages, variants, pas, left] of [
      [4, 5, 'average', 3],
      [5, 5, 'sum', 2],
      [3, 4, 'sum', 1],
    ] as const) {
      const { model } = solveProblem(gridProblem(variantPool(profiles, variants), stages, variants, pas), 'bnb');
      const { model: reduced, incumbent } = presolveLinear(model);
      const sizes = reduced.stages.map((s) => s.length);
      assert.ok(
        Math.max(...sizes) <= left,
        `${stages}×${variants} ${pas}: ${sizes.join('×')} options left of ${model.stages.map((s) => s.length).join('×')}`,
      );
      const optimum = objectiveAt(model, solveBranchAndBound(model));
      assert.ok(
        incumbent && Math.abs(objectiveOf(reduced, chosen(reduced, incumbent)) - (optimum as number)) < 1e-9,
        'the greedy start is optimal',
      );
    }
  });

  it('HiGHS alone finds the optimum in one solve, from the presolve’s start or without one', () => {
    for (const pas of ['sum', 'average'] as const) {
      for (const { model, brute, optimum: want } of instances(pas, 13, 40)) {
        const { model: reduced, incumbent } = presolveLinear(model);
        for (const [label, m, start] of [
          ['without the presolve', model, undefined],
          ['after it, from its start', reduced, incumbent],
        ] as const) {
          if (m.stages.some((options) => options.length === 0)) continue;
          const { solution, method } = solveHighsMilp(m, start);
          assert.equal(method, 'highs', `${pas} ${label}`);
          assert.equal(solution.status, brute.status, `${pas} ${label}: ${solution.status}, brute force ${brute.status}`);
          assert.equal(solution.work, 1, `${pas} ${label}: one solve, no cut needed`);
          const got = objectiveAt(m, solution);
          if (want !== undefined)
            assert.ok(
              got !== undefined && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)),
              `${pas} ${label}: ${got} vs ${want}`,
            );
        }
      }
    }
    const { model } = solveProblem(gridProblem(variantPool(profiles, 2), 2, 2, 'multiply'), 'bnb');
    assert.throws(() => solveHighsMilp(model), /multiply PAS is not linear; use branch and bound/);
  });

  it('solveProblem answers with the method its documentation names', () => {
    const grid = (stages: number, variants: number, pas: PasMethod) => gridProblem(variantPool(profiles, variants), stages, variants, pas);
    const methodOf = (problem: Problem, method: Method) => solveProblem(problem, method).method;
    // A linear PAS whose presolve leaves many options: the DP by default, HiGHS when asked.
    const linear = grid(4, 5, 'average');
    assert.equal(methodOf(linear, 'auto'), 'pareto');
    assert.equal(methodOf(linear, 'pareto'), 'pareto');
    assert.equal(methodOf(linear, 'highs'), 'highs');
    assert.equal(methodOf(linear, 'bnb'), 'branch-and-bound');
    assert.equal(methodOf(grid(2, 2, 'sum'), 'brute'), 'brute-force');
    // The presolve alone settles this one (one option left per stage).
    const settled = grid(3, 4, 'sum');
    assert.deepEqual(
      (['auto', 'highs', 'pareto'] as const).map((m) => [methodOf(settled, m), solveProblem(settled, m).solution.work]),
      [
        ['presolve', 0],
        ['presolve', 0],
        ['presolve', 0],
      ],
    );
    // Multiply: branch and bound on small products, the DP past 100,000 configs or when asked.
    assert.equal(methodOf(grid(3, 4, 'multiply'), 'auto'), 'branch-and-bound');
    assert.equal(methodOf(grid(3, 4, 'multiply'), 'highs'), 'branch-and-bound');
    assert.equal(methodOf(grid(3, 4, 'multiply'), 'pareto'), 'pareto');
    assert.equal(methodOf(grid(6, 8, 'multiply'), 'auto'), 'pareto');
    // Nothing left after the presolve: infeasible without a solver.
    const impossible = { ...linear, slaMs: 1 };
    assert.deepEqual([methodOf(impossible, 'auto'), solveProblem(impossible, 'auto').solution.status], ['presolve', 'infeasible']);
  });
});

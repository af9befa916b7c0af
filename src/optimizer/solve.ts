import type { SolverMethod } from '../model/decision.js';
import type { Problem } from '../model/problem.js';
import { solveBranchAndBound } from './branchAndBound.js';
import { solveBruteForce } from './bruteForce.js';
import { buildChoiceModel, type ChoiceModel, chosen, latencyOf, objectiveOf, pruneDominated, type Solution } from './choiceModel.js';
import { solveHighsMilp } from './highsSolver.js';
import { buildOptions, type Relaxation, type StageOptions, type StageRestriction } from './options.js';
import { solveParetoDp } from './paretoDp.js';
import { solveParetoDpMultiply } from './paretoDpMultiply.js';
import { presolveLinear } from './presolve.js';

/**
 * `auto`: for a linear PAS presolve, then the Pareto DP while its fronts stay small, then the MILP
 * on HiGHS; for multiply, branch and bound on small products of options, else the Pareto DP over
 * (latency, penalty, accuracy), then branch and bound if its fronts grow. `highs`, `pareto`,
 * `bnb` and `brute` force one method (`highs` and `pareto` after the presolve for a linear PAS; a
 * product has no MILP, so `highs` is branch and bound there).
 */
export type Method = 'auto' | 'highs' | 'pareto' | 'bnb' | 'brute';
export const METHODS: Method[] = ['auto', 'highs', 'pareto', 'bnb', 'brute'];

/** Past this many states in one front the DP hands over to HiGHS (multiply: to branch and bound). */
const PARETO_LIMIT = 5000;
/**
 * Multiply PAS with at most this many configs goes straight to branch and bound: on a pipeline of
 * two or three stages its bound cuts nearly everything at once, while the DP still sorts whole
 * fronts (video: 0.8 against 2.1 ms at 1,000 requests/s).
 */
const BNB_COMBINATIONS = 100_000;

function solveLinear(
  full: ChoiceModel,
  method: 'auto' | 'highs' | 'pareto',
): { model: ChoiceModel; solution: Solution; method: SolverMethod } {
  const { model, incumbent } = presolveLinear(full);
  if (model.stages.some((options) => options.length === 0))
    return { model, solution: { status: 'infeasible', work: 0 }, method: 'presolve' };
  // One option left per stage: that config is the optimum if it fits, and nothing fits if not.
  if (model.stages.every((options) => options.length === 1)) {
    const only = model.stages.map(() => 0);
    const fits = latencyOf(chosen(model, only)) <= model.budgetMs;
    return { model, solution: fits ? { status: 'optimal', choice: only, work: 0 } : { status: 'infeasible', work: 0 }, method: 'presolve' };
  }
  if (method !== 'highs') {
    const solution = solveParetoDp(model, method === 'pareto' ? Number.POSITIVE_INFINITY : PARETO_LIMIT);
    if (solution) return { model, solution, method: 'pareto' };
  }
  return { model, ...solveHighsMilp(model, incumbent) };
}

export interface Solved {
  /** Every stage's options before dominance pruning, with the exclusions. */
  stages: StageOptions[];
  /** The model the solver ran on (pruned unless brute force). */
  model: ChoiceModel;
  solution: Solution;
  method: SolverMethod;
}

/** Options → model → solver: the one path every decision, baseline and explanation goes through. */
export function solveProblem(
  problem: Problem,
  method: Method,
  restrictions: (StageRestriction | undefined)[] = [],
  relax: Relaxation = {},
): Solved {
  const stages = buildOptions(problem, restrictions, relax);
  const full = buildChoiceModel(problem, stages);
  if (method === 'brute') return { stages, model: full, solution: solveBruteForce(full), method: 'brute-force' };
  const model = buildChoiceModel(problem, pruneDominated(full, stages));
  const configs = () => model.stages.reduce((p, options) => p * options.length, 1);
  if (model.pas === 'multiply' && (method === 'pareto' || (method === 'auto' && configs() > BNB_COMBINATIONS))) {
    const solution = solveParetoDpMultiply(model, method === 'pareto' ? Number.POSITIVE_INFINITY : PARETO_LIMIT);
    if (solution) return { stages, model, solution, method: 'pareto' };
  }
  if (method === 'bnb' || model.pas === 'multiply') {
    return { stages, model, solution: solveBranchAndBound(model), method: 'branch-and-bound' };
  }
  return { stages, ...solveLinear(model, method) };
}

/** The objective of a solved model's optimum; undefined when infeasible. */
export function optimumValue(solved: Solved): number | undefined {
  const { choice } = solved.solution;
  return choice ? objectiveOf(solved.model, chosen(solved.model, choice)) : undefined;
}

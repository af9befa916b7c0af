import type { SolverMethod } from '../model/decision.js';
import type { Problem } from '../model/problem.js';
import { solveBranchAndBound } from './branchAndBound.js';
import { solveBruteForce } from './bruteForce.js';
import { buildChoiceModel, type ChoiceModel, chosen, objectiveOf, pruneDominated, type Solution } from './choiceModel.js';
import { solveHighs } from './highsSolver.js';
import { buildOptions, type Relaxation, type StageOptions, type StageRestriction } from './options.js';

/** `highs`: HiGHS for linear PAS, branch and bound for multiply; `bnb` and `brute` force one method. */
export type Method = 'highs' | 'bnb' | 'brute';
export const METHODS: Method[] = ['highs', 'bnb', 'brute'];

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
  if (method === 'bnb' || model.pas === 'multiply') {
    return { stages, model, solution: solveBranchAndBound(model), method: 'branch-and-bound' };
  }
  return { stages, ...solveHighs(model) };
}

/** The objective of a solved model's optimum; undefined when infeasible. */
export function optimumValue(solved: Solved): number | undefined {
  const { choice } = solved.solution;
  return choice ? objectiveOf(solved.model, chosen(solved.model, choice)) : undefined;
}

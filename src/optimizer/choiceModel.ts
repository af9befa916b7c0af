import type { PasMethod } from '../model/pipelineSpec.js';
import type { Problem } from '../model/problem.js';
import { linearAccuracyWeight, type Option, removeDominated, type StageOptions } from './options.js';

/**
 * The optimisation model, built apart from any solver: one binary per option, one
 * "exactly one" row per stage, one latency row `Σ latency ≤ budgetMs`, and the objective
 * `α·PAS − Σ penalty`. HiGHS, branch and bound and brute force all solve this same object.
 */
export interface ChoiceModel {
  stages: Option[][];
  /** What the stages' latencies may sum to: the SLA less the serving path's overhead. */
  budgetMs: number;
  /** The PAS method: in the solver always `pas` (the instance format calls it `objective.accuracy`). */
  pas: PasMethod;
  alpha: number;
}

export interface Solution {
  status: 'optimal' | 'infeasible';
  /** Index into model.stages[s] per stage when optimal. */
  choice?: number[];
  /** Branch-and-bound nodes, HiGHS re-solves, or combinations tried. */
  work: number;
}

export type Solver = (model: ChoiceModel) => Solution;

/** The model of a problem over `stages` (none: just the objective, to evaluate a given config). */
export function buildChoiceModel(problem: Problem, stages: readonly StageOptions[]): ChoiceModel {
  return {
    stages: stages.map((s) => s.options),
    budgetMs: stageBudgetMs(problem),
    pas: problem.objective.accuracy,
    alpha: problem.objective.alpha,
  };
}

/**
 * What the stages may take of the SLA: a request also crosses the serving path outside the model
 * servers (the gateway, the client's HTTP), which the profiles never saw, so the plan keeps the
 * spec's `overheadMs` of the SLA free for it.
 */
export function stageBudgetMs(problem: Pick<Problem, 'slaMs' | 'overheadMs'>): number {
  return problem.slaMs - (problem.overheadMs ?? 0);
}

/**
 * The latency a partial sum or a bound may reach before a solver cuts on it: the budget and a
 * little more, so that float rounding never drops a config the exact check (`latencyOf ≤
 * budgetMs`) accepts. Only that exact check decides feasibility.
 */
export function slaAllowance(budgetMs: number): number {
  return budgetMs * (1 + 1e-12) + 1e-9;
}

/**
 * Per stage s, the least that stages s… can add up to in one quantity (index n: 0): the bound a
 * search cuts a partial config on (latency left against the SLA, penalty or cost left against
 * the best found). Summed from the last stage back, the same way for every solver.
 */
export function restMinima(stages: readonly (readonly Option[])[], of: (o: Option) => number): Float64Array {
  const rest = new Float64Array(stages.length + 1);
  for (let s = stages.length - 1; s >= 0; s--) {
    let least = Number.POSITIVE_INFINITY;
    for (const o of stages[s] as Option[]) least = Math.min(least, of(o));
    rest[s] = (rest[s + 1] as number) + least;
  }
  return rest;
}

/** Summed in stage order everywhere, so every solver judges the same float the same way. */
export function latencyOf(options: readonly Option[]): number {
  let total = 0;
  for (const o of options) total += o.latencyMs;
  return total;
}

/** A config's predicted end-to-end latency: its stages and the serving path's overhead. */
export function endToEndMs(problem: Pick<Problem, 'overheadMs'>, options: readonly Option[]): number {
  return latencyOf(options) + (problem.overheadMs ?? 0);
}

export function pasOf(pas: PasMethod, options: readonly Option[]): number {
  if (options.length === 0) return 0;
  if (pas === 'multiply') return options.reduce((p, o) => p * o.accuracy, 1);
  const sum = options.reduce((p, o) => p + o.accuracy, 0);
  return pas === 'average' ? sum / options.length : sum;
}

export function objectiveOf(model: ChoiceModel, options: readonly Option[]): number {
  let penalty = 0;
  for (const o of options) penalty += o.penalty;
  return model.alpha * pasOf(model.pas, options) - penalty;
}

export function chosen(model: ChoiceModel, choice: readonly number[]): Option[] {
  return choice.map((i, s) => model.stages[s]?.[i] as Option);
}

/** An option's own share of a linear objective: α·w·a − penalty. */
export function linearValue(model: ChoiceModel, option: Option): number {
  return model.alpha * linearAccuracyWeight(model.pas, model.stages.length) * option.accuracy - option.penalty;
}

/**
 * What an option shows the objective, larger is better: for a linear PAS its value and its
 * latency; for multiply its accuracy, penalty and latency separately (the product couples stages).
 */
export function dominanceCriteria(model: ChoiceModel): (o: Option) => number[] {
  if (model.pas === 'multiply') return (o) => [o.accuracy, -o.penalty, -o.latencyMs];
  return (o) => [linearValue(model, o), -o.latencyMs];
}

export function pruneDominated(model: ChoiceModel, stages: StageOptions[]): StageOptions[] {
  const criteria = dominanceCriteria(model);
  return stages.map((s) => removeDominated(s, criteria));
}

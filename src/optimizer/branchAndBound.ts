import { type ChoiceModel, latencyOf, objectiveOf, restMinima, type Solution, slaAllowance } from './choiceModel.js';
import type { Option } from './options.js';

/**
 * Exact depth-first branch and bound for any PAS, the method for `multiply`, whose product makes
 * the objective non-linear. A node is cut when even the fastest remaining options break the SLA,
 * or when its bound (the most accurate and the cheapest remaining options, taken independently)
 * cannot beat the best config found.
 */
export function solveBranchAndBound(model: ChoiceModel): Solution {
  const n = model.stages.length;
  if (model.stages.some((s) => s.length === 0)) return { status: 'infeasible', work: 0 };
  const multiply = model.pas === 'multiply';
  const weight = model.pas === 'average' ? 1 / n : 1;
  // Most accurate first: good configs are found early and cut the rest.
  const order = model.stages.map((options) =>
    options
      .map((_, i) => i)
      .sort(
        (a, b) =>
          (options[b] as Option).accuracy - (options[a] as Option).accuracy ||
          (options[a] as Option).penalty - (options[b] as Option).penalty,
      ),
  );
  const restLatency = restMinima(model.stages, (o) => o.latencyMs);
  const restPenalty = restMinima(model.stages, (o) => o.penalty);
  const restAccuracy = new Float64Array(n + 1);
  restAccuracy[n] = multiply ? 1 : 0;
  for (let s = n - 1; s >= 0; s--) {
    const options = model.stages[s] as Option[];
    const maxAccuracy = Math.max(...options.map((o) => o.accuracy));
    restAccuracy[s] = multiply ? (restAccuracy[s + 1] as number) * maxAccuracy : (restAccuracy[s + 1] as number) + weight * maxAccuracy;
  }
  // A small allowance: the exact check at the leaf decides; here float rounding must not cut.
  const allowance = slaAllowance(model.budgetMs);
  const choice = new Array<number>(n).fill(0);
  const picked: Option[] = new Array(n);
  let best: number[] | undefined;
  let bestValue = Number.NEGATIVE_INFINITY;
  let work = 0;

  const visit = (s: number, latency: number, accuracy: number, penalty: number): void => {
    work += 1;
    if (s === n) {
      // Re-evaluated with the shared functions so feasibility and value match the other solvers exactly.
      if (latencyOf(picked) > model.budgetMs) return;
      const value = objectiveOf(model, picked);
      if (value > bestValue) {
        bestValue = value;
        best = [...choice];
      }
      return;
    }
    const options = model.stages[s] as Option[];
    for (const i of order[s] as number[]) {
      const o = options[i] as Option;
      const l = latency + o.latencyMs;
      if (l + (restLatency[s + 1] as number) > allowance) continue;
      const a = multiply ? accuracy * o.accuracy : accuracy + weight * o.accuracy;
      const p = penalty + o.penalty;
      const bound =
        model.alpha * (multiply ? a * (restAccuracy[s + 1] as number) : a + (restAccuracy[s + 1] as number)) -
        p -
        (restPenalty[s + 1] as number);
      if (bound < bestValue - 1e-12 * Math.abs(bestValue)) continue;
      choice[s] = i;
      picked[s] = o;
      visit(s + 1, l, a, p);
    }
  };
  visit(0, 0, multiply ? 1 : 0, 0);
  return best ? { status: 'optimal', choice: best, work } : { status: 'infeasible', work };
}

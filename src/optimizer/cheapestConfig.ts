import type { Problem } from '../model/problem.js';
import { latencyOf, pasOf, restMinima, slaAllowance, stageBudgetMs } from './choiceModel.js';
import { buildOptions, type Option } from './options.js';

/**
 * The cheapest config of a problem whose PAS is at least `minPas` and whose latency fits the SLA,
 * whatever the objective would prefer: the cost side of a question the objective never asks
 * ("what could this accuracy cost at the least?"). Exact: a depth-first search over the options,
 * cut when the cost cannot beat the best found, or the fastest or most accurate options left
 * cannot reach the SLA or `minPas`. Undefined when no config reaches both.
 */
export function cheapestConfig(problem: Problem, minPas: number): { cost: number; pas: number; options: Option[] } | undefined {
  const stages = buildOptions(problem).map((s) => [...s.options].sort((a, b) => a.cost - b.cost));
  if (stages.some((options) => options.length === 0)) return undefined;
  const budget = stageBudgetMs(problem);
  // Float rounding of the partial sums must not cut a config the exact check at the leaf accepts.
  const allowance = slaAllowance(budget);
  const pas = problem.objective.accuracy;
  const restCost = restMinima(stages, (o) => o.cost);
  const restLatency = restMinima(stages, (o) => o.latencyMs);
  const mostAccurate = stages.map((options) => options.reduce((a, b) => (b.accuracy > a.accuracy ? b : a)));
  const picked: Option[] = [];
  let best: { cost: number; pas: number; options: Option[] } | undefined;
  const visit = (s: number, cost: number, latency: number): void => {
    if (s === stages.length) {
      const reached = pasOf(pas, picked);
      if (latencyOf(picked) > budget || reached < minPas) return;
      if (!best || cost < best.cost) best = { cost, pas: reached, options: [...picked] };
      return;
    }
    for (const o of stages[s] as Option[]) {
      // Options are in increasing cost: once one cannot beat the best, none after it can.
      if (best && cost + o.cost + (restCost[s + 1] as number) >= best.cost) return;
      if (latency + o.latencyMs + (restLatency[s + 1] as number) > allowance) continue;
      picked.push(o);
      if (pasOf(pas, [...picked, ...mostAccurate.slice(s + 1)]) >= minPas) visit(s + 1, cost + o.cost, latency + o.latencyMs);
      picked.pop();
    }
  };
  visit(0, 0, 0);
  return best;
}

import { type ChoiceModel, chosen, latencyOf, linearValue, slaAllowance } from './choiceModel.js';
import type { Option } from './options.js';

export interface Presolved {
  model: ChoiceModel;
  /** A feasible choice in `model`, when the greedy found one: a MIP start and the bound for cuts. */
  incumbent?: number[];
}

/**
 * The classic greedy for the multiple-choice knapsack: start from each stage's fastest option and
 * keep taking the upgrade with the most value per extra millisecond that still fits.
 */
function greedy(model: ChoiceModel, value: (o: Option) => number): number[] | undefined {
  const choice = model.stages.map((options) =>
    options.reduce((best, o, i) => (o.latencyMs < (options[best] as Option).latencyMs ? i : best), 0),
  );
  let latency = latencyOf(chosen(model, choice));
  if (latency > model.budgetMs) return undefined;
  for (;;) {
    let bestStage = -1;
    let bestIndex = -1;
    let bestRate = 0;
    model.stages.forEach((options, s) => {
      const current = options[choice[s] as number] as Option;
      options.forEach((o, i) => {
        const gain = value(o) - value(current);
        if (gain <= 0) return;
        const extra = o.latencyMs - current.latencyMs;
        if (latency + extra > model.budgetMs) return;
        const rate = extra <= 0 ? Number.POSITIVE_INFINITY : gain / extra;
        if (rate > bestRate) {
          bestRate = rate;
          bestStage = s;
          bestIndex = i;
        }
      });
    });
    if (bestStage < 0) break;
    choice[bestStage] = bestIndex;
    latency = latencyOf(chosen(model, choice));
  }
  // Then single swaps, which the rate rule can miss (a big gain for a big latency).
  for (let improved = true; improved; ) {
    improved = false;
    model.stages.forEach((options, s) => {
      const current = options[choice[s] as number] as Option;
      options.forEach((o, i) => {
        if (value(o) > value(options[choice[s] as number] as Option) && latency - current.latencyMs + o.latencyMs <= model.budgetMs) {
          choice[s] = i;
          latency = latencyOf(chosen(model, choice));
          improved = true;
        }
      });
    });
  }
  return latencyOf(chosen(model, choice)) <= model.budgetMs ? choice : undefined;
}

/**
 * The Lagrangian bound of the latency row: for μ ≥ 0, any feasible config is worth at most
 * μ·SLA + Σ_s max_o (value − μ·latency). The μ that makes it tightest is found by a search on this
 * convex function; the per-stage maxima at that μ then bound every option's best config.
 */
function lagrangian(model: ChoiceModel, value: (o: Option) => number): { mu: number; best: number[] } {
  const values = model.stages.map((options) => options.map(value));
  const bestAt = (mu: number, s: number) => {
    const options = model.stages[s] as Option[];
    const v = values[s] as number[];
    let best = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < options.length; i++) best = Math.max(best, (v[i] as number) - mu * (options[i] as Option).latencyMs);
    return best;
  };
  const bound = (mu: number) => {
    let total = mu * model.budgetMs;
    for (let s = 0; s < model.stages.length; s++) total += bestAt(mu, s);
    return total;
  };
  let lo = 0;
  let minLatency = Number.POSITIVE_INFINITY;
  let spread = 0;
  values.forEach((v, s) => {
    spread += Math.max(...v) - Math.min(...v);
    for (const o of model.stages[s] as Option[]) minLatency = Math.min(minLatency, o.latencyMs);
  });
  // Past this μ every stage prefers its fastest option, and the bound only grows.
  let hi = (spread + 1) / Math.max(1e-9, minLatency);
  // Any μ gives a valid bound; 40 thirds narrow the interval to 1e-7 of its width.
  for (let i = 0; i < 40; i++) {
    const a = lo + (hi - lo) / 3;
    const b = hi - (hi - lo) / 3;
    if (bound(a) <= bound(b)) hi = b;
    else lo = a;
  }
  const mu = (lo + hi) / 2;
  return { mu, best: model.stages.map((_, s) => bestAt(mu, s)) };
}

/**
 * Exact reductions before the MILP, as a MIP presolve would do them: an option goes when even the
 * fastest options of the other stages leave it over the SLA, or when no config containing it can
 * beat the greedy's feasible config, by the plain value bound or by the Lagrangian bound of the
 * latency row. What remains has the same optimum, and HiGHS gets the greedy config as its start.
 */
export function presolveLinear(model: ChoiceModel): Presolved {
  if (model.stages.some((options) => options.length === 0)) return { model };
  const value = (o: Option) => linearValue(model, o);
  const start = greedy(model, value);
  const minLatency = model.stages.map((options) => Math.min(...options.map((o) => o.latencyMs)));
  const maxValue = model.stages.map((options) => Math.max(...options.map(value)));
  const totalMinLatency = minLatency.reduce((t, l) => t + l, 0);
  const totalMaxValue = maxValue.reduce((t, v) => t + v, 0);
  const incumbentValue = start ? chosen(model, start).reduce((t, o) => t + value(o), 0) : Number.NEGATIVE_INFINITY;
  const keepStart = start ? chosen(model, start) : [];
  const { mu, best } = lagrangian(model, value);
  const totalBest = best.reduce((t, b) => t + b, 0);
  // Keeping too much is always safe; dropping on float noise is not.
  const allowance = slaAllowance(model.budgetMs);
  const threshold = incumbentValue - 1e-9 * Math.max(1, Math.abs(incumbentValue));
  const stages = model.stages.map((options, s) =>
    options.filter((o) => {
      if (keepStart[s] === o) return true;
      if (o.latencyMs + totalMinLatency - (minLatency[s] as number) > allowance) return false;
      if (value(o) + totalMaxValue - (maxValue[s] as number) < threshold) return false;
      return mu * model.budgetMs + value(o) - mu * o.latencyMs + totalBest - (best[s] as number) >= threshold;
    }),
  );
  const reduced = { ...model, stages };
  const incumbent = start ? keepStart.map((o, s) => (stages[s] as Option[]).indexOf(o)) : undefined;
  return incumbent ? { model: reduced, incumbent } : { model: reduced };
}

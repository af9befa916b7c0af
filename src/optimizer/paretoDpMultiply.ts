import { type ChoiceModel, chosen, latencyOf, objectiveOf, restMinima, type Solution, slaAllowance } from './choiceModel.js';
import type { Option } from './options.js';
import { solveParetoDp } from './paretoDp.js';

interface State {
  latency: number;
  penalty: number;
  /** The product of the stages' accuracies so far. */
  accuracy: number;
  /** Index of the state of the previous stage this one extends, and the option it adds. */
  parent: number;
  option: number;
}

/**
 * Exact dynamic programming for a multiply PAS, α·Π a_s − Σ penalty under the SLA. The product
 * couples the stages, so a state keeps its latency, penalty and accuracy product apart and is
 * dropped only when another is at least as good in all three (then every completion of it is
 * beaten by the same completion of the other). Two cuts keep the fronts small:
 * - the SLA: even the fastest remaining options would break it;
 * - a bound: the most accurate and the cheapest remaining options, taken independently, cannot
 *   beat a config already known. That config comes first from the sum-PAS DP on the objective's
 *   tangent at the highest product (α·A·ln a − penalty per option), which is exact and fast and
 *   usually lands at or next to the optimum.
 * Products and sums are formed in stage order, as `objectiveOf` and `latencyOf` form them, so a
 * state's figures are the exact check's. Returns undefined when a front grows past `limit` states
 * (branch and bound takes over) or when rounding makes the result disagree with the exact check.
 */
export function solveParetoDpMultiply(model: ChoiceModel, limit = 20_000): Solution | undefined {
  if (model.pas !== 'multiply') return undefined;
  const n = model.stages.length;
  if (model.stages.some((options) => options.length === 0)) return { status: 'infeasible', work: 0 };
  const restLatency = restMinima(model.stages, (o) => o.latencyMs);
  const restPenalty = restMinima(model.stages, (o) => o.penalty);
  const restAccuracy = new Float64Array(n + 1);
  restAccuracy[n] = 1;
  for (let s = n - 1; s >= 0; s--) {
    const options = model.stages[s] as Option[];
    restAccuracy[s] = (restAccuracy[s + 1] as number) * Math.max(...options.map((o) => o.accuracy));
  }
  const allowance = slaAllowance(model.budgetMs);
  const start = tangentIncumbent(model, restAccuracy[0] as number);
  const incumbent = start?.value ?? Number.NEGATIVE_INFINITY;
  const fronts: State[][] = [[{ latency: 0, penalty: 0, accuracy: 1, parent: -1, option: -1 }]];
  let work = start?.work ?? 0;
  for (let s = 0; s < n; s++) {
    const options = model.stages[s] as Option[];
    const candidates: State[] = [];
    (fronts[s] as State[]).forEach((state, p) => {
      options.forEach((o, i) => {
        const latency = state.latency + o.latencyMs;
        if (latency + (restLatency[s + 1] as number) > allowance) return;
        const accuracy = state.accuracy * o.accuracy;
        const penalty = state.penalty + o.penalty;
        const bound = model.alpha * accuracy * (restAccuracy[s + 1] as number) - penalty - (restPenalty[s + 1] as number);
        if (bound < incumbent - 1e-12 * Math.abs(incumbent)) return;
        candidates.push({ latency, penalty, accuracy, parent: p, option: i });
      });
    });
    work += candidates.length;
    const front = nonDominated(candidates);
    if (front.length > limit) return undefined;
    if (front.length === 0) break;
    fronts.push(front);
  }
  if (fronts.length <= n) return start?.choice ? { status: 'optimal', choice: start.choice, work } : { status: 'infeasible', work };
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  (fronts[n] as State[]).forEach((state, i) => {
    if (state.latency > model.budgetMs) return;
    const value = model.alpha * state.accuracy - state.penalty;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  });
  if (best < 0) return start?.choice ? { status: 'optimal', choice: start.choice, work } : { status: 'infeasible', work };
  const choice = new Array<number>(n);
  for (let s = n, i = best; s > 0; s--) {
    const state = (fronts[s] as State[])[i] as State;
    choice[s - 1] = state.option;
    i = state.parent;
  }
  const picked = chosen(model, choice);
  if (latencyOf(picked) > model.budgetMs || objectiveOf(model, picked) !== bestValue) return undefined;
  return { status: 'optimal', choice, work };
}

/**
 * A good feasible config to cut with: the optimum of the objective linearised at the product
 * `reference` (α·e^X ≈ α·A·(1 + X − ln A) with X = Σ ln a), found by the sum-PAS Pareto DP.
 */
function tangentIncumbent(model: ChoiceModel, reference: number): { value: number; choice: number[]; work: number } | undefined {
  const weight = model.alpha * reference;
  const linear: ChoiceModel = {
    ...model,
    pas: 'sum',
    alpha: 1,
    // A zero accuracy has no logarithm; such an option is never worth more than a positive one.
    stages: model.stages.map((options) => options.map((o) => ({ ...o, accuracy: weight * Math.log(Math.max(o.accuracy, 1e-12)) }))),
  };
  const solution = solveParetoDp(linear);
  if (!solution?.choice) return undefined;
  return { value: objectiveOf(model, chosen(model, solution.choice)), choice: solution.choice, work: solution.work };
}

/**
 * The states no other beats in latency, penalty and accuracy at once. Sorted by accuracy
 * (highest first), a state is beaten exactly when one already kept has no more latency and no
 * more penalty: a Fenwick tree over latency ranks answers "least penalty up to this latency".
 */
function nonDominated(states: State[]): State[] {
  if (states.length <= 1) return states;
  const latencies = [...new Set(states.map((s) => s.latency))].sort((a, b) => a - b);
  const rank = new Map(latencies.map((l, i) => [l, i + 1]));
  const tree = new Float64Array(latencies.length + 1).fill(Number.POSITIVE_INFINITY);
  const leastPenaltyUpTo = (r: number) => {
    let least = Number.POSITIVE_INFINITY;
    for (let i = r; i > 0; i -= i & -i) least = Math.min(least, tree[i] as number);
    return least;
  };
  const keep = (r: number, penalty: number) => {
    for (let i = r; i < tree.length; i += i & -i) if (penalty < (tree[i] as number)) tree[i] = penalty;
  };
  const sorted = [...states].sort((a, b) => b.accuracy - a.accuracy || a.latency - b.latency || a.penalty - b.penalty);
  const front: State[] = [];
  for (const state of sorted) {
    const r = rank.get(state.latency) as number;
    if (leastPenaltyUpTo(r) <= state.penalty) continue;
    keep(r, state.penalty);
    front.push(state);
  }
  return front;
}

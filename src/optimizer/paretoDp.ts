import { type ChoiceModel, chosen, latencyOf, linearValue, restMinima, type Solution, slaAllowance } from './choiceModel.js';
import type { Option } from './options.js';

interface State {
  latency: number;
  value: number;
  /** Index of the state of the previous stage this one extends, and the option it adds. */
  parent: number;
  option: number;
}

/**
 * Exact dynamic programming over the Pareto front of (latency, value) for a linear PAS. Stages are
 * added in pipeline order, so a state's latency is the same float sum the exact check computes,
 * and float addition is monotone, so a state beaten in both latency and value stays beaten. Configs
 * that tie up to rounding collapse into one state, which is what makes symmetric pipelines (many
 * identical stages) easy here and hard for a MILP. Returns undefined when a front grows past
 * `limit` states: the MILP takes over.
 */
export function solveParetoDp(model: ChoiceModel, limit = 20_000): Solution | undefined {
  if (model.pas === 'multiply') return undefined;
  const n = model.stages.length;
  if (model.stages.some((options) => options.length === 0)) return { status: 'infeasible', work: 0 };
  const restLatency = restMinima(model.stages, (o) => o.latencyMs);
  // Rounding must never make this cut drop a state the exact check would accept.
  const allowance = slaAllowance(model.budgetMs);
  const fronts: State[][] = [[{ latency: 0, value: 0, parent: -1, option: -1 }]];
  let work = 0;
  for (let s = 0; s < n; s++) {
    const options = model.stages[s] as Option[];
    const values = options.map((o) => linearValue(model, o));
    const previous = fronts[s] as State[];
    const next: State[] = [];
    previous.forEach((state, p) => {
      options.forEach((o, i) => {
        const latency = state.latency + o.latencyMs;
        if (latency + (restLatency[s + 1] as number) > allowance) return;
        next.push({ latency, value: state.value + (values[i] as number), parent: p, option: i });
      });
    });
    work += next.length;
    next.sort((a, b) => a.latency - b.latency || b.value - a.value);
    const front: State[] = [];
    let best = Number.NEGATIVE_INFINITY;
    for (const state of next) {
      if (state.value > best) {
        front.push(state);
        best = state.value;
      }
    }
    if (front.length > limit) return undefined;
    if (front.length === 0) return { status: 'infeasible', work };
    fronts.push(front);
  }
  const last = fronts[n] as State[];
  let bestIndex = -1;
  for (let i = last.length - 1; i >= 0; i--) {
    // The front is sorted by latency with rising value: the last state within the SLA is the best.
    if ((last[i] as State).latency <= model.budgetMs) {
      bestIndex = i;
      break;
    }
  }
  if (bestIndex < 0) return { status: 'infeasible', work };
  const choice = new Array<number>(n);
  for (let s = n, i = bestIndex; s > 0; s--) {
    const state = (fronts[s] as State[])[i] as State;
    choice[s - 1] = state.option;
    i = state.parent;
  }
  if (latencyOf(chosen(model, choice)) > model.budgetMs) return undefined;
  return { status: 'optimal', choice, work };
}

import { type ChoiceModel, latencyOf, objectiveOf, type Solution } from './choiceModel.js';
import type { Option } from './options.js';

/** Every combination, one option per stage: the reference the exact solvers are checked against. */
export function solveBruteForce(model: ChoiceModel): Solution {
  const sizes = model.stages.map((s) => s.length);
  if (sizes.some((n) => n === 0)) return { status: 'infeasible', work: 0 };
  const index = sizes.map(() => 0);
  const current: Option[] = model.stages.map((s) => s[0] as Option);
  let best: number[] | undefined;
  let bestValue = Number.NEGATIVE_INFINITY;
  let work = 0;
  for (;;) {
    work += 1;
    if (latencyOf(current) <= model.budgetMs) {
      const value = objectiveOf(model, current);
      if (value > bestValue) {
        bestValue = value;
        best = [...index];
      }
    }
    let s = index.length - 1;
    while (s >= 0 && (index[s] as number) + 1 === sizes[s]) {
      index[s] = 0;
      current[s] = model.stages[s]?.[0] as Option;
      s -= 1;
    }
    if (s < 0) break;
    index[s] = (index[s] as number) + 1;
    current[s] = model.stages[s]?.[index[s] as number] as Option;
  }
  return best ? { status: 'optimal', choice: best, work } : { status: 'infeasible', work };
}

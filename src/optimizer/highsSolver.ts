import highsModule, { type Highs } from 'highs';
import { solveBranchAndBound } from './branchAndBound.js';
import { type ChoiceModel, chosen, latencyOf, linearValue, type Solution } from './choiceModel.js';

// highs ships ESM at run time but CommonJS-style types: the loader is the default export of one
// and the `default` property of the other.
type Loader = typeof highsModule.default;
const loadHighs: Loader = typeof highsModule === 'function' ? (highsModule as Loader) : highsModule.default;

let instance: Highs | undefined;
let reloads = 0;
let runs = 0;

/** How many times HiGHS actually ran (presolve answers many problems without it). */
export function highsRuns(): number {
  return runs;
}

/** How many times the WASM module was re-created after an error (for the endurance test and logs). */
export function highsReloads(): number {
  return reloads;
}

/** Loads the WASM module once per process; call before solveHighs. */
export async function loadHighsSolver(): Promise<void> {
  instance ??= await loadHighs();
}

/**
 * A fresh WASM module, for when HiGHS throws: highs-js has been known to fail after thousands of
 * calls, and a new module starts from clean memory. `load` makes the module: highs-js's loader,
 * unless a test hands in a module that fails the way a worn-out one does.
 */
export async function reloadHighsSolver(load: () => Promise<Highs> = loadHighs): Promise<void> {
  reloads += 1;
  instance = await load();
}

/**
 * No MIP gap: the answer must be the optimum. Primal heuristics off: the presolve hands HiGHS a
 * feasible start, and on these small models the feasibility-jump heuristic alone cost up to 25 ms.
 */
const exact = {
  output_flag: false,
  mip_rel_gap: 0,
  mip_abs_gap: 0,
  mip_heuristic_run_feasibility_jump: false,
  mip_heuristic_effort: 0,
} as const;

/** One item of a multiple-choice knapsack: its objective value and its weight in each resource row. */
export interface Item {
  value: number;
  weights: readonly number[];
}

export interface MultipleChoiceKnapsack {
  /** Choose exactly one item per group. */
  groups: readonly (readonly Item[])[];
  /** Σ weights[k] of the chosen items ≤ capacities[k], for each resource row k. */
  capacities: readonly number[];
  /** The exact check of a choice against the rows; HiGHS itself allows its feasibility tolerance. */
  fits: (choice: readonly number[]) => boolean;
  /** A feasible choice to start from (a MIP start): it lets HiGHS prune from the first node. */
  start?: readonly number[];
}

/**
 * HiGHS kept returning configs over a row by less than its tolerance. It happens when many configs
 * tie on the boundary up to float rounding (identical stages summed in different orders); each
 * re-solve cuts one of them, so the caller should switch to an exact method that needs no cuts.
 */
export class NearTieError extends Error {}

const MAX_ROUNDS = 3;

/**
 * Maximises Σ value over one item per group under the resource rows, on HiGHS, with no MIP gap.
 * An answer that breaks a row by less than HiGHS's tolerance is cut off with a no-good row and
 * the model re-solved, so the result is exact to the last float.
 */
export function solveMultipleChoice(problem: MultipleChoiceKnapsack): Solution {
  const highs = instance;
  if (!highs) throw new Error('HiGHS is not loaded: call loadHighsSolver() first');
  const { groups, capacities } = problem;
  if (groups.some((g) => g.length === 0)) return { status: 'infeasible', work: 0 };
  const n = groups.length;
  const k = capacities.length;
  const columns = groups.flatMap((items, g) => items.map((item, i) => ({ g, i, item })));
  const numCols = columns.length;
  const numRows = n + k;
  const perColumn = 1 + k;
  const starts = new Int32Array(numCols + 1);
  const indices = new Int32Array(perColumn * numCols);
  const values = new Float64Array(perColumn * numCols);
  const colCost = new Float64Array(numCols);
  columns.forEach(({ g, item }, c) => {
    const at = perColumn * c;
    starts[c] = at;
    indices[at] = g;
    values[at] = 1;
    for (let r = 0; r < k; r++) {
      indices[at + 1 + r] = n + r;
      values[at + 1 + r] = item.weights[r] as number;
    }
    colCost[c] = item.value;
  });
  starts[numCols] = perColumn * numCols;
  const rowLower = new Float64Array(numRows).fill(1);
  const rowUpper = new Float64Array(numRows).fill(1);
  capacities.forEach((capacity, r) => {
    rowLower[n + r] = Number.NEGATIVE_INFINITY;
    rowUpper[n + r] = capacity;
  });
  const lp = highs.createModel({
    numCols,
    numRows,
    sense: highs.constants.objectiveSense.maximize,
    colCost,
    colLower: new Float64Array(numCols),
    colUpper: new Float64Array(numCols).fill(1),
    rowLower,
    rowUpper,
    matrix: { format: 'csc', numRows, numCols, starts, indices, values },
    integrality: new Int32Array(numCols).fill(highs.constants.variableType.integer),
  });
  try {
    lp.options.set(exact);
    if (problem.start) {
      const start = problem.start;
      lp.setSolution({ colValue: Float64Array.from(columns, ({ g, i }) => (start[g] === i ? 1 : 0)) });
    }
    for (let round = 1; ; round++) {
      lp.run();
      runs += 1;
      const status = lp.getModelStatus();
      if (status === highs.constants.modelStatus.infeasible) return { status: 'infeasible', work: round };
      if (status !== highs.constants.modelStatus.optimal) throw new Error(`HiGHS ended with model status ${status}`);
      const x = lp.getSolution().colValue;
      const choice = new Array<number>(n).fill(-1);
      columns.forEach(({ g, i }, c) => {
        if ((x[c] as number) > 0.5) choice[g] = i;
      });
      if (choice.includes(-1)) throw new Error('HiGHS returned a solution without an item for every group');
      if (problem.fits(choice)) return { status: 'optimal', choice, work: round };
      if (round === MAX_ROUNDS) throw new NearTieError(`HiGHS answers broke a row within tolerance ${round} times`);
      const picked = columns.flatMap(({ g, i }, c) => (choice[g] === i ? [c] : []));
      lp.addRow(Number.NEGATIVE_INFINITY, n - 1, { indices: picked, values: picked.map(() => 1) });
    }
  } finally {
    lp.dispose();
  }
}

/**
 * The multiple-choice MILP of one pipeline with a linear PAS (sum, average): stages are the groups,
 * latency the one row, `start` a feasible choice. Near-ties on the SLA go to branch and bound.
 */
export function solveHighsMilp(
  model: ChoiceModel,
  start?: readonly number[],
): { solution: Solution; method: 'highs' | 'branch-and-bound' } {
  if (model.pas === 'multiply') throw new Error('solveHighsMilp: multiply PAS is not linear; use branch and bound');
  try {
    const solution = solveMultipleChoice({
      groups: model.stages.map((options) => options.map((o) => ({ value: linearValue(model, o), weights: [o.latencyMs] }))),
      capacities: [model.budgetMs],
      fits: (choice) => latencyOf(chosen(model, choice)) <= model.budgetMs,
      ...(start ? { start } : {}),
    });
    return { solution, method: 'highs' };
  } catch (err) {
    if (!(err instanceof NearTieError)) throw err;
    return { solution: solveBranchAndBound(model), method: 'branch-and-bound' };
  }
}

/**
 * Runs `solve` with HiGHS loaded, and recovered if it ever throws: the WASM module is re-created
 * and `solve` tried once more. Invalid input is not the solver's fault and is thrown at once.
 */
export async function withHighsSolver<T>(solve: () => T, isInputError: (err: unknown) => boolean): Promise<T> {
  await loadHighsSolver();
  try {
    return solve();
  } catch (err) {
    if (isInputError(err)) throw err;
    await reloadHighsSolver();
    return solve();
  }
}

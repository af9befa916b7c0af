import highsModule, { type Highs } from 'highs';
import { type ChoiceModel, chosen, latencyOf, linearValue, type Solution } from './choiceModel.js';

// highs ships ESM at run time but CommonJS-style types: the loader is the default export of one
// and the `default` property of the other.
type Loader = typeof highsModule.default;
const loadHighs: Loader = typeof highsModule === 'function' ? (highsModule as Loader) : highsModule.default;

let instance: Highs | undefined;

/** Loads the WASM module once per process; call before solveHighs. */
export async function loadHighsSolver(): Promise<void> {
  instance ??= await loadHighs();
}

/**
 * A fresh WASM module, for when HiGHS throws: highs-js has been known to fail after thousands of
 * calls, and a new module starts from clean memory.
 */
export async function reloadHighsSolver(): Promise<void> {
  instance = await loadHighs();
}

const exact = { output_flag: false, mip_rel_gap: 0, mip_abs_gap: 0 } as const;

/**
 * The multiple-choice MILP for a linear PAS (sum, average) on HiGHS. HiGHS accepts a latency row
 * violated within its feasibility tolerance; such an answer is checked exactly, cut off with a
 * no-good row and the model re-solved, so the result is exact to the last float.
 */
export function solveHighs(model: ChoiceModel): Solution {
  if (model.pas === 'multiply') throw new Error('solveHighs: multiply PAS is not linear; use branch and bound');
  const highs = instance;
  if (!highs) throw new Error('solveHighs: call loadHighsSolver() first');
  const n = model.stages.length;
  if (model.stages.some((s) => s.length === 0)) return { status: 'infeasible', work: 0 };
  const columns = model.stages.flatMap((options, s) => options.map((option, i) => ({ s, i, option })));
  const numCols = columns.length;
  const starts = new Int32Array(numCols + 1);
  const indices = new Int32Array(2 * numCols);
  const values = new Float64Array(2 * numCols);
  const colCost = new Float64Array(numCols);
  columns.forEach(({ s, option }, c) => {
    starts[c] = 2 * c;
    indices[2 * c] = s;
    values[2 * c] = 1;
    indices[2 * c + 1] = n;
    values[2 * c + 1] = option.latencyMs;
    colCost[c] = linearValue(model, option);
  });
  starts[numCols] = 2 * numCols;
  const rowLower = new Float64Array(n + 1).fill(1);
  const rowUpper = new Float64Array(n + 1).fill(1);
  rowLower[n] = Number.NEGATIVE_INFINITY;
  rowUpper[n] = model.slaMs;

  const lp = highs.createModel({
    numCols,
    numRows: n + 1,
    sense: highs.constants.objectiveSense.maximize,
    colCost,
    colLower: new Float64Array(numCols),
    colUpper: new Float64Array(numCols).fill(1),
    rowLower,
    rowUpper,
    matrix: { format: 'csc', numRows: n + 1, numCols, starts, indices, values },
    integrality: new Int32Array(numCols).fill(highs.constants.variableType.integer),
  });
  try {
    lp.options.set(exact);
    for (let round = 1; ; round++) {
      lp.run();
      const status = lp.getModelStatus();
      if (status === highs.constants.modelStatus.infeasible) return { status: 'infeasible', work: round };
      if (status !== highs.constants.modelStatus.optimal) throw new Error(`HiGHS ended with model status ${status}`);
      const x = lp.getSolution().colValue;
      const choice = new Array<number>(n).fill(-1);
      columns.forEach(({ s, i }, c) => {
        if ((x[c] as number) > 0.5) choice[s] = i;
      });
      if (choice.includes(-1)) throw new Error('HiGHS returned a solution without an option for every stage');
      if (latencyOf(chosen(model, choice)) <= model.slaMs) return { status: 'optimal', choice, work: round };
      const picked = columns.flatMap(({ s, i }, c) => (choice[s] === i ? [c] : []));
      lp.addRow(Number.NEGATIVE_INFINITY, n - 1, { indices: picked, values: picked.map(() => 1) });
    }
  } finally {
    lp.dispose();
  }
}

import { performance } from 'node:perf_hooks';
import { formatNumber } from '../../common/table.js';
import type { PasMethod } from '../../model/pipelineSpec.js';
import type { ProfileSet } from '../../model/profileSet.js';
import { loadHighsSolver } from '../../optimizer/highsSolver.js';
import { solveProblem } from '../../optimizer/solve.js';
import { renderFigure } from '../../report/chartRender.js';
import { lineFigureSpec } from '../../report/lineChart.js';
import { gridProblem, variantPool } from '../../tooling/syntheticProblems.js';
import type { PaperResults } from '../paperComparison.js';
import type { Study } from './study.js';

const SIZES = [2, 3, 4, 5, 6, 7, 8, 9, 10];
const METHODS: PasMethod[] = ['sum', 'multiply'];
/** Timed solves per point after a warm-up; the median is the figure. */
const REPEATS = 20;

interface Point {
  pas: PasMethod;
  stages: number;
  variants: number;
  medianMs: number;
  solver: string;
}

const medianOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/**
 * Decision time against pipeline size (the paper's Fig. 13): the optimizer `ipa optimize` and the
 * loop use, on IPA's scalability grid (n stages × n variants of the measured resnets and copies of
 * them, 2 shapes × 7 batches each), PAS sum and multiply, beside the paper's reported Gurobi times.
 * Times are this machine's wall clock: the figure is measured, never asserted.
 */
export async function scalingStudy(profiles: ProfileSet, paper: PaperResults): Promise<Study> {
  await loadHighsSolver();
  const pool = variantPool(profiles, Math.max(...SIZES));
  const points: Point[] = [];
  for (const pas of METHODS) {
    for (const n of SIZES) {
      const problem = gridProblem(pool, n, n, pas);
      let solved = solveProblem(problem, 'auto');
      for (let i = 0; i < 5; i++) solved = solveProblem(problem, 'auto');
      const times: number[] = [];
      for (let i = 0; i < REPEATS; i++) {
        const started = performance.now();
        solved = solveProblem(problem, 'auto');
        times.push(performance.now() - started);
      }
      points.push({ pas, stages: n, variants: n, medianMs: medianOf(times), solver: solved.method });
    }
  }
  const gurobi = paper.decisionTimeGurobi.points.filter((g) => g.stages === g.variants);
  const read = gurobi.filter((g) => !g.under);
  const bounds = gurobi.filter((g) => g.under);
  const title = 'decision time against pipeline size';
  const figure = await renderFigure(
    'scaling',
    title,
    lineFigureSpec({
      title: `IPA's scalability grid: ${title}`,
      subtitle: `n stages × n variants (2 shapes × 7 batches each), median of ${REPEATS} solves; the paper's Figure 13`,
      xTitle: 'n (stages, and variants per stage)',
      yTitle: 'decision time (ms, log scale)',
      yLog: true,
      xInteger: true,
      // Room either side, so the end points' markers are whole.
      xDomain: [Math.min(...SIZES) - 0.3, Math.max(...SIZES) + 0.3],
      markers: true,
      panels: [
        {
          series: [
            ...METHODS.map((pas) => ({
              name: `ipa, PAS ${pas}`,
              points: points.filter((p) => p.pas === pas).map((p): [number, number] => [p.stages, p.medianMs]),
            })),
            {
              name: "IPA's paper (Gurobi), Fig. 13",
              points: read.map((g): [number, number] => [g.stages, g.seconds * 1000]),
            },
            {
              name: "IPA's paper, upper bound",
              points: bounds.map((g): [number, number] => [g.stages, g.seconds * 1000]),
            },
          ],
        },
      ],
      legendTitle: 'optimizer',
    }),
  );
  const at = (pas: PasMethod, n: number) => points.find((p) => p.pas === pas && p.stages === n) as Point;
  const findings = gurobi.map(
    (g) =>
      `At ${g.stages} × ${g.variants}: PAS sum ${formatNumber(at('sum', g.stages).medianMs, 3)} ms, multiply ${formatNumber(at('multiply', g.stages).medianMs, 3)} ms, ` +
      `against the paper's ${g.under ? 'under ' : ''}${formatNumber(g.seconds, 1)} s with Gurobi: ${g.under ? 'at most ' : ''}${formatNumber((g.seconds * 1000) / at('sum', g.stages).medianMs, 0)}× and ` +
      `${formatNumber((g.seconds * 1000) / at('multiply', g.stages).medianMs, 0)}× faster (different machines; bench:optimizer runs IPA's own model side by side).`,
  );
  return {
    name: 'scaling',
    title: 'Decision time against pipeline size',
    intro: [
      `The optimizer on IPA's scalability grid: n identical stages of n variants (the measured resnets on cpu-8 and gpu-h200 and perturbed copies), 7 batches each, load 50 requests/s, the SLA binding; median of ${REPEATS} solves after a warm-up, on this machine.`,
      `IPA's paper: ${paper.decisionTimeGurobi.text}; about ${read.map((g) => `${g.seconds} s at ${g.stages} × ${g.variants}`).join(', ')} (Fig. 13).`,
    ],
    header: ['PAS', 'stages × variants', 'median ms', 'solver'],
    rows: points.map((p) => [p.pas, `${p.stages} × ${p.variants}`, formatNumber(p.medianMs, 3), p.solver]),
    findings,
    figures: [figure],
    json: points.map((p) => ({ study: 'scaling', ...p })),
  };
}

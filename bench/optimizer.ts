/**
 * Optimizer benchmark: solve times of the exact optimizer (Pareto DP and HiGHS for sum PAS, the
 * Pareto DP and branch and bound for multiply) on the video pipeline and on IPA's scalability
 * grid, side by side with brute force and, for multiply, with branch and bound.
 * Run with `npm run bench:optimizer`. It prints tables (stdout) and progress (stderr); it never
 * asserts on time.
 *
 * Only `solveProblem(problem, method)` is timed: building the options, the model and solving.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { resolvePipelineSpec, resolveProfileSet } from '../src/io/load.js';
import type { PasMethod } from '../src/model/pipelineSpec.js';
import type { Problem, ProblemVariant } from '../src/model/problem.js';
import type { ProfileSet } from '../src/model/profileSet.js';
import { optimizeFleet } from '../src/optimizer/fleet.js';
import { loadHighsSolver } from '../src/optimizer/highsSolver.js';
import { buildOptions } from '../src/optimizer/options.js';
import { problemFromSpec } from '../src/optimizer/problemFromSpec.js';
import { type Method, optimumValue, solveProblem } from '../src/optimizer/solve.js';
import { gridProblem, variantPool } from '../src/tooling/syntheticProblems.js';
import { median, percentile } from './percentile.js';

/** Timed solves per measurement (after a warm-up, see timeSolves). */
const REPS = {
  video: 300,
  videoBrute: 300,
  grid: 20,
  multiplyGrid: 20,
  exactVsBrute: 20,
  brute: 3,
  fleet: 20,
};
/** Whole-process JIT warm-up before the first measurement. */
const GLOBAL_WARMUP = 200;

const LOADS = [10, 100, 1000];
const GRID_SIZE = 10;
const BRUTE_MAX_STAGES = 3;
const BRUTE_MAX_VARIANTS = 5;

const progress = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Measuring

interface Timing {
  median: number;
  p99: number;
  /** Objective of the optimum (undefined when infeasible), for the "same objective" checks. */
  optimum: number | undefined;
  /** The method that answered (auto: presolve, pareto or highs; for multiply pareto, or branch and bound past its front limit). */
  solver: string;
}

/**
 * Median and p99 wall time in ms of `solveProblem(problem, method)` over n solves, after
 * max(1, min(5, ⌊n/4⌋)) untimed warm-up solves of the same instance.
 */
function timeSolves(problem: Problem, method: Method, n: number): Timing {
  let solved = solveProblem(problem, method);
  for (let i = 1; i < Math.min(5, Math.floor(n / 4)); i++) solved = solveProblem(problem, method);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    solved = solveProblem(problem, method);
    samples.push(performance.now() - start);
  }
  return { median: median(samples), p99: percentile(samples, 0.99), optimum: optimumValue(solved), solver: solved.method };
}

/** Same optimum as the reference: both infeasible, or |a − b| ≤ 1e-9·max(1, |b|). */
function sameObjective(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

/** Options per stage before dominance pruning, and the combinations brute force walks. */
function sizeOf(problem: Problem): { options: number[]; combinations: number } {
  const options = buildOptions(problem).map((s) => s.options.length);
  return { options, combinations: options.reduce((p, n) => p * n, 1) };
}

// ---------------------------------------------------------------------------------------------
// Printing

function ms(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

const ratio = (x: number) => `${x >= 100 ? x.toFixed(0) : x.toFixed(1)}×`;
const yesNo = (ok: boolean) => (ok ? 'yes' : 'NO');
const objective = (x: number | undefined) => (x === undefined ? 'infeasible' : x.toFixed(6));

/** A plain text table: first column left-aligned, the others right-aligned. */
function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function section(title: string, ...lines: string[]): void {
  console.log(`\n## ${title}\n`);
  for (const l of lines) console.log(l);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

// ---------------------------------------------------------------------------------------------
// Sections

async function benchVideo(profiles: ProfileSet): Promise<void> {
  const spec = await resolvePipelineSpec('video', profiles);
  const rows: string[][] = [];
  for (const pas of ['sum', 'multiply'] as PasMethod[]) {
    for (const load of LOADS) {
      progress(`video ${pas} ${load} rps …`);
      const problem = problemFromSpec({ ...spec, pas }, profiles, load);
      const exact = timeSolves(problem, 'auto', REPS.video);
      const milp = pas === 'multiply' ? undefined : timeSolves(problem, 'highs', REPS.video);
      const brute = timeSolves(problem, 'brute', REPS.videoBrute);
      rows.push([
        pas,
        String(load),
        exact.solver,
        ms(exact.median),
        ms(exact.p99),
        milp ? `${ms(milp.median)} (${milp.solver})` : '-',
        exact.median <= 2 ? 'met' : 'missed',
        ms(brute.median),
        ratio(brute.median / exact.median),
        objective(exact.optimum),
        yesNo(sameObjective(exact.optimum, brute.optimum)),
      ]);
    }
  }
  section(
    `1. video pipeline (${spec.stages.length} stages, SLA ${spec.slaMs} ms, ${spec.latencyPercentile}): ${REPS.video} solves per row; goal: median ≤ 2 ms`,
    table(
      [
        'PAS',
        'load rps',
        'solver',
        'median ms',
        'p99 ms',
        'forced HiGHS ms',
        'goal ≤ 2 ms',
        'brute median ms',
        'speed-up',
        'objective',
        'same objective',
      ],
      rows,
    ),
  );
}

/** Median solve time of every grid cell (stages × variants), as a table with one row per stage count. */
function gridMedians(pool: ProblemVariant[], pas: PasMethod, method: Method, reps: number): number[][] {
  return range(GRID_SIZE).map((stages) =>
    range(GRID_SIZE).map((variants) => {
      progress(`grid ${pas} ${method} ${stages}×${variants} …`);
      return timeSolves(gridProblem(pool, stages, variants, pas), method, reps).median;
    }),
  );
}

function gridTable(medians: number[][]): string {
  return table(
    ['stages \\ variants', ...range(GRID_SIZE).map(String)],
    medians.map((row, s) => [String(s + 1), ...row.map(ms)]),
  );
}

const cell = (medians: number[][], stages: number, variants: number) => medians[stages - 1]?.[variants - 1] as number;

function benchGrid(pool: ProblemVariant[]): void {
  for (const [method, label] of [
    ['auto', 'default method: presolve, Pareto DP, HiGHS when the fronts grow'],
    ['highs', 'forced MILP: presolve, then HiGHS'],
  ] as [Method, string][]) {
    const medians = gridMedians(pool, 'sum', method, REPS.grid);
    const big = cell(medians, 10, 10);
    const nine = cell(medians, 9, 9);
    section(
      `2${method === 'auto' ? 'a' : 'b'}. scalability grid, PAS sum, ${label}: median ms of ${REPS.grid} solves per cell; 2 shapes × 7 batches per variant, load 50 rps`,
      gridTable(medians),
      '',
      `10 stages × 10 variants: ${ms(big)} ms (goal ≤ 2 ms: ${big <= 2 ? 'met' : 'missed'})`,
      `9 stages × 9 variants: ${ms(nine)} ms; IPA reports ≈ 2.2 s there: 2200 / ${ms(nine)} = ${ratio(2200 / nine)}`,
    );
  }
}

function benchMultiplyGrid(pool: ProblemVariant[]): void {
  const medians = gridMedians(pool, 'multiply', 'auto', REPS.multiplyGrid);
  // The previous method, branch and bound, side by side on the square cells (the whole grid of it takes minutes).
  const rows = range(GRID_SIZE).map((n) => {
    progress(`grid multiply bnb ${n}×${n} …`);
    const problem = gridProblem(pool, n, n, 'multiply');
    const dp = timeSolves(problem, 'auto', REPS.multiplyGrid);
    const bnb = timeSolves(problem, 'bnb', REPS.multiplyGrid);
    return [
      `${n}×${n}`,
      dp.solver,
      ms(dp.median),
      ms(bnb.median),
      ratio(bnb.median / dp.median),
      yesNo(sameObjective(dp.optimum, bnb.optimum)),
    ];
  });
  const big = cell(medians, 10, 10);
  section(
    `3. scalability grid, PAS multiply (default method: Pareto DP over latency, penalty and accuracy; branch and bound if a front grows): median ms of ${REPS.multiplyGrid} solves per cell`,
    gridTable(medians),
    '',
    table(['stages×variants', 'solver', 'default ms', 'branch and bound ms', 'speed-up', 'same objective'], rows),
    '',
    `10 stages × 10 variants: ${ms(big)} ms (goal ≤ 20 ms: ${big <= 20 ? 'met' : 'missed'}); 9 × 9: ${ms(cell(medians, 9, 9))} ms`,
  );
}

function benchAgainstBrute(pool: ProblemVariant[]): void {
  const rows: string[][] = [];
  let goal: number | undefined;
  for (const pas of ['sum', 'multiply'] as PasMethod[]) {
    for (const stages of range(BRUTE_MAX_STAGES)) {
      for (const variants of range(BRUTE_MAX_VARIANTS)) {
        progress(`brute ${pas} ${stages}×${variants} …`);
        const problem = gridProblem(pool, stages, variants, pas);
        const exact = timeSolves(problem, 'auto', REPS.exactVsBrute);
        const milp = pas === 'multiply' ? undefined : timeSolves(problem, 'highs', REPS.exactVsBrute);
        const brute = timeSolves(problem, 'brute', REPS.brute);
        const speedUp = brute.median / exact.median;
        if (pas === 'sum' && stages === BRUTE_MAX_STAGES && variants === BRUTE_MAX_VARIANTS) goal = speedUp;
        const { options, combinations } = sizeOf(problem);
        rows.push([
          pas,
          `${stages}×${variants}`,
          String(Math.max(...options)),
          combinations.toLocaleString('en-US'),
          exact.solver,
          ms(exact.median),
          milp ? `${ms(milp.median)} (${ratio(brute.median / milp.median)})` : '-',
          ms(brute.median),
          ratio(speedUp),
          yesNo(sameObjective(exact.optimum, brute.optimum) && (!milp || sameObjective(milp.optimum, brute.optimum))),
        ]);
      }
    }
  }
  section(
    `4. exact against brute force on the grid instances: exact median of ${REPS.exactVsBrute}, brute median of ${REPS.brute}; goal: ≥ 100× at 3 stages × 5 variants × 7 batches × 2 shapes`,
    table(
      [
        'PAS',
        'stages×variants',
        'options/stage',
        'combinations',
        'solver',
        'exact ms',
        'forced HiGHS ms (speed-up)',
        'brute ms',
        'speed-up',
        'same objective',
      ],
      rows,
    ),
    '',
    `sum, 3 × 5: ${goal === undefined ? '?' : ratio(goal)} (goal ≥ 100×: ${goal !== undefined && goal >= 100 ? 'met' : 'missed'})`,
  );
}

/**
 * Fleet mode: 10 pipelines (video and text at different loads, sum and multiply PAS) sharing a
 * cluster whose capacity is 70 % of the cores and 80 % of the GPUs they would ask for alone, so capacity binds. The
 * joint optimum is set against the per-pipeline solves that ignore capacity (independent) and
 * against pipelines taking capacity one after the other (sequential).
 */
async function benchFleet(profiles: ProfileSet): Promise<void> {
  const video = await resolvePipelineSpec('video', profiles);
  const text = await resolvePipelineSpec('text', profiles);
  const pipelines = Array.from({ length: 10 }, (_, i) => {
    const spec = i % 3 === 2 ? text : video;
    return problemFromSpec({ ...spec, name: `${spec.name}-${i}`, pas: i % 2 === 0 ? 'multiply' : 'sum' }, profiles, 20 + 37 * i);
  });
  const asked = optimizeFleet({ capacity: { cpu: Number.POSITIVE_INFINITY, gpu: Number.POSITIVE_INFINITY }, pipelines }).independent.used;
  const capacity = { cpu: Math.floor(asked.cpu * 0.7), gpu: Math.floor(asked.gpu * 0.8) };
  progress(`fleet 10 pipelines, capacity ${capacity.cpu} cores ${capacity.gpu} GPUs …`);
  const times: number[] = [];
  let last = optimizeFleet({ capacity, pipelines });
  for (let i = 0; i < REPS.fleet; i++) {
    const t0 = performance.now();
    last = optimizeFleet({ capacity, pipelines });
    times.push(performance.now() - t0);
  }
  section(
    `5. fleet: 10 pipelines sharing ${capacity.cpu} cores and ${capacity.gpu} GPUs (70 % of the cores and 80 % of the GPUs they ask alone), ${REPS.fleet} solves`,
    table(
      ['mode', 'objective', 'cores', 'GPUs', 'fits capacity'],
      [
        ['joint (ipa fleet)', objective(last.objective), String(last.used.cpu), String(last.used.gpu), yesNo(last.feasible)],
        [
          'independent',
          objective(last.independent.objective),
          String(last.independent.used.cpu),
          String(last.independent.used.gpu),
          yesNo(last.independent.fits),
        ],
        [
          'sequential',
          objective(last.sequential.objective),
          String(last.sequential.used.cpu),
          String(last.sequential.used.gpu),
          yesNo(last.sequential.feasible),
        ],
      ],
    ),
    '',
    `joint solve (candidates + HiGHS, plus the independent solves it reports): median ${ms(median(times))} ms, p99 ${ms(percentile(times, 0.99))} ms; ${last.solver.candidates} candidate configs`,
  );
}

async function main(): Promise<void> {
  const began = performance.now();
  console.log(
    `# optimizer benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), ${new Date().toISOString()}`,
  );
  console.log(
    `# repetitions: video ${REPS.video} (brute ${REPS.videoBrute}), grid sum ${REPS.grid}, grid multiply ${REPS.multiplyGrid}, ` +
      `exact vs brute ${REPS.exactVsBrute} (brute ${REPS.brute}); warm-up: ${GLOBAL_WARMUP} solves per method, then up to 5 per measurement`,
  );
  await loadHighsSolver();
  const profiles = await resolveProfileSet('measured-h200');
  const pool = variantPool(profiles, GRID_SIZE);

  progress('warm-up …');
  const warm = gridProblem(pool, 2, 3, 'sum');
  for (const [problem, method] of [
    [warm, 'auto'],
    [warm, 'highs'],
    [{ ...warm, objective: { ...warm.objective, accuracy: 'multiply' } }, 'auto'],
    [warm, 'brute'],
  ] as [Problem, Method][]) {
    for (let i = 0; i < GLOBAL_WARMUP; i++) solveProblem(problem, method);
  }

  await benchVideo(profiles);
  benchGrid(pool);
  benchMultiplyGrid(pool);
  benchAgainstBrute(pool);
  await benchFleet(profiles);
  console.log(`\n# total ${((performance.now() - began) / 1000).toFixed(1)} s`);
}

await main();

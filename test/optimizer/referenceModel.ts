/**
 * An independent reference for the optimizer's model: DESIGN.md's and the README's formulas
 * ("The optimizer"), written again from the text, sharing nothing with `src/optimizer/` but the
 * problem's type. It is deliberately plain (the textbook Erlang C sum, loops over every option and
 * every config) so that a slip in the fast code cannot hide behind the same slip here.
 */
import type { Problem } from '../../src/model/problem.js';

export interface ReferenceOption {
  stage: number;
  variant: string;
  shape: string;
  batch: number;
  replicas: number;
  accuracy: number;
  batchWaitMs: number;
  queueMs: number;
  latencyMs: number;
  cost: number;
  penalty: number;
}

/** z of the standard normal's 99th percentile (tables: 2.3263). */
const Z99 = 2.326347874040841;
const QUANTILE = { p50: 0.5, p95: 0.95, p99: 0.99 } as const;
/** The M/G/c wait's safety, as the README states it: 10 % more, and at least 0.15 of a batch time more. */
const MGC_MARGIN = 1.1;
const MGC_FLOOR = 0.15;

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));

/** Erlang C by the textbook sum: P(wait) in M/M/c with c servers offered a = λ/μ of work. */
export function erlangCBySum(c: number, a: number): number {
  if (a <= 0) return 0;
  if (a >= c) return 1;
  let idle = 0;
  for (let k = 0; k < c; k++) idle += a ** k / factorial(k);
  const busy = (a ** c / factorial(c)) * (c / (c - a));
  return busy / (idle + busy);
}

/** The lognormal through a row's p50 and p99: its mean (ms) and squared coefficient of variation. */
export function lognormalFit(p50Ms: number, p99Ms: number): { meanMs: number; scv: number } {
  const sigma = Math.log(p99Ms / p50Ms) / Z99;
  return { meanMs: p50Ms * Math.exp((sigma * sigma) / 2), scv: Math.exp(sigma * sigma) - 1 };
}

type Row = Problem['stages'][number]['variants'][number]['shapes'][number]['batches'][number];

/** Requests/s one replica serves: the profile's throughput, or (M/G/c) b per mean batch time. */
function replicaRate(problem: Problem, row: Row): number {
  if (problem.arrivals !== 'poisson-mgc') return row.throughputRps;
  return (row.batch * 1000) / lognormalFit(row.p50Ms as number, row.p99Ms as number).meanMs;
}

/**
 * The queue wait (ms) at the SLA's percentile q of n replicas, customers being batches:
 * λ_b = λ/b batches/s, each replica μ_b batches/s. M/M/c: P(W > t) = C·e^(−(nμ_b − λ_b)t), so
 * the q-quantile is ln(C/(1 − q))/(nμ_b − λ_b), 0 when C ≤ 1 − q.
 */
function queueWait(problem: Problem, row: Row, n: number): number {
  const λ = problem.load;
  if (λ === 0) return 0;
  const q = QUANTILE[problem.latencyPercentile ?? 'p99'];
  const mgc = problem.arrivals === 'poisson-mgc' ? lognormalFit(row.p50Ms as number, row.p99Ms as number) : undefined;
  const μb = mgc ? 1000 / mgc.meanMs : row.throughputRps / row.batch;
  const λb = λ / row.batch;
  if (λb >= n * μb) return Number.POSITIVE_INFINITY;
  const C = erlangCBySum(n, λb / μb);
  if (C <= 1 - q) return 0;
  const seconds = Math.log(C / (1 - q)) / (n * μb - λb);
  if (!mgc) return seconds * 1000;
  // Allen–Cunneen: M/M/c's wait times (1 + scv)/2, with the margin on top.
  const general = (seconds * (1 + mgc.scv)) / 2;
  return Math.max(MGC_MARGIN * general, general + MGC_FLOOR / μb) * 1000;
}

/** The fewest replicas of a row for the load (queued arrivals: capacity strictly above λ). */
export function fewestReplicas(problem: Problem, row: Row): number {
  const rate = replicaRate(problem, row);
  let n = Math.max(1, Math.ceil(problem.load / rate));
  const queued = problem.arrivals === 'poisson' || problem.arrivals === 'poisson-mgc';
  while (queued && problem.load > 0 && n * rate <= problem.load) n += 1;
  return n;
}

/** Waves a burst of λ requests takes through n replicas of batch b. */
const waves = (λ: number, n: number, b: number) => Math.max(1, Math.ceil(λ / (n * b)));

/** Replica counts a row is offered at: the fewest, and more while more still buys latency. */
function replicaCounts(problem: Problem, row: Row, fewest: number, maxReplicas: number): number[] {
  const arrivals = problem.arrivals ?? 'steady';
  const counts = [fewest];
  if (arrivals === 'poisson' || arrivals === 'poisson-mgc') {
    // Every count from the fewest up to the first with no wait at all.
    for (let n = fewest; n < maxReplicas && queueWait(problem, row, n) > 0; n++) counts.push(n + 1);
  } else if (arrivals === 'bursty') {
    // Every count up to maxReplicas that takes a wave off (the fewest that do so).
    for (let n = fewest + 1; n <= maxReplicas; n++) {
      if (waves(problem.load, n, row.batch) < waves(problem.load, counts[counts.length - 1] as number, row.batch)) counts.push(n);
    }
  }
  return counts;
}

/**
 * The batch timeout of a batch above 1, as the README states it: the shortest of 5, 10, 20, 50,
 * 100, 200, 500 ms below the spec's limit that is at least twice the mean fill time 2(b − 1)/r,
 * else the limit; r is λ, λ² with bursty arrivals, or the instance's batchFillRps.
 */
export function referenceTimeout(problem: Problem, batch: number): number {
  const limit = problem.limits.maxBatchWaitMs;
  // A burst of λ requests (bursty arrivals) starts at λ² per second, and batches fill at that rate,
  // unless the instance names the rate.
  const rate = problem.batchFillRps ?? (problem.arrivals === 'bursty' && problem.load > 1 ? problem.load ** 2 : problem.load);
  const twiceFillMs = rate === 0 ? Number.POSITIVE_INFINITY : (2 * (batch - 1) * 1000) / rate;
  for (const t of [5, 10, 20, 50, 100, 200, 500]) if (t < limit && t >= twiceFillMs) return t;
  return limit;
}

/** One option's numbers, from the formulas. */
export function referenceOption(problem: Problem, s: number, variant: string, shape: string, batch: number, n: number): ReferenceOption {
  const stage = problem.stages[s] as Problem['stages'][number];
  const v = stage.variants.find((x) => x.name === variant) as Problem['stages'][number]['variants'][number];
  const h = v.shapes.find((x) => x.name === shape) as (typeof v.shapes)[number];
  const row = h.batches.find((r) => r.batch === batch) as Row;
  const λ = problem.load;
  const timeout = referenceTimeout(problem, batch);
  let batchWaitMs: number;
  let queueMs: number;
  if (problem.arrivals === 'bursty') {
    // The second's last, partial batch leaves at the timeout or when the waves before it are done.
    batchWaitMs = batch > 1 ? timeout : 0;
    queueMs = Math.max(0, (waves(λ, n, batch) - 1) * row.latencyMs - batchWaitMs);
  } else {
    batchWaitMs = batch === 1 ? 0 : λ === 0 ? timeout : Math.min(((batch - 1) / λ) * 1000, timeout);
    queueMs = problem.arrivals === 'poisson' || problem.arrivals === 'poisson-mgc' ? queueWait(problem, row, n) : 0;
  }
  const cost = n * (h.cpu * problem.cost.cpu + h.gpu * problem.cost.gpu);
  return {
    stage: s,
    variant,
    shape,
    batch,
    replicas: n,
    accuracy: v.accuracy / 100,
    batchWaitMs,
    queueMs,
    latencyMs: row.latencyMs + batchWaitMs + queueMs,
    cost,
    penalty: problem.objective.beta * cost + problem.objective.gamma * batch,
  };
}

/** Every option of every stage (no restriction, no dominance pruning). */
export function referenceOptions(problem: Problem): ReferenceOption[][] {
  return problem.stages.map((stage, s) => {
    const maxReplicas = stage.maxReplicas ?? problem.limits.maxReplicas;
    const maxBatch = stage.maxBatch ?? problem.limits.maxBatch;
    const options: ReferenceOption[] = [];
    for (const v of stage.variants)
      for (const h of v.shapes)
        for (const row of h.batches) {
          if (row.batch > maxBatch) continue;
          const fewest = fewestReplicas(problem, row);
          if (fewest > maxReplicas) continue;
          for (const n of replicaCounts(problem, row, fewest, maxReplicas))
            options.push(referenceOption(problem, s, v.name, h.name, row.batch, n));
        }
    return options;
  });
}

export function referencePas(problem: Problem, options: readonly ReferenceOption[]): number {
  const a = options.map((o) => o.accuracy);
  if (problem.objective.accuracy === 'multiply') return a.reduce((p, x) => p * x, 1);
  const sum = a.reduce((p, x) => p + x, 0);
  return problem.objective.accuracy === 'average' ? sum / a.length : sum;
}

export function referenceObjective(problem: Problem, options: readonly ReferenceOption[]): number {
  return problem.objective.alpha * referencePas(problem, options) - options.reduce((p, o) => p + o.penalty, 0);
}

export const referenceLatency = (options: readonly ReferenceOption[]) => options.reduce((p, o) => p + o.latencyMs, 0);

/** The best objective over every config within the SLA, by trying them all; undefined if none fits. */
export function referenceOptimum(problem: Problem): { value: number; config: ReferenceOption[] } | undefined {
  const stages = referenceOptions(problem);
  let best: { value: number; config: ReferenceOption[] } | undefined;
  const visit = (s: number, picked: ReferenceOption[]) => {
    if (s === stages.length) {
      if (referenceLatency(picked) > problem.slaMs) return;
      const value = referenceObjective(problem, picked);
      if (!best || value > best.value) best = { value, config: [...picked] };
      return;
    }
    for (const o of stages[s] as ReferenceOption[]) visit(s + 1, [...picked, o]);
  };
  visit(0, []);
  return best;
}

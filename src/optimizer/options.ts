import { grouped } from '../common/grouped.js';
import type { PasMethod } from '../model/pipelineSpec.js';
import type { Problem, ProblemShape, ProblemVariant } from '../model/problem.js';
import { serviceMoments } from '../model/serviceSpread.js';
import { type BatchQueue, queueWaitMs } from './queueing.js';

/** One way to run a stage at the problem's load: (variant, shape, batch) with its replica count. */
export interface Option {
  stage: number;
  variant: string;
  shape: string;
  batch: number;
  /** Accuracy as a fraction (percent / 100), the stage's a_s in PAS. */
  accuracy: number;
  /** The profile's batch latency at the SLA's percentile. */
  profileLatencyMs: number;
  /**
   * How long a partial batch waits for more before it is served: batchTimeoutFor's choice, or the
   * running config's (a baseline that holds it); undefined for the spec's limit (batch 1 never waits).
   */
  batchTimeoutMs: number | undefined;
  batchWaitMs: number;
  /** Waiting for a replica: the queue wait (poisson, poisson-mgc), or what the waves before the last batch take beyond the batch timeout (bursty). */
  queueMs: number;
  /** profileLatencyMs + batchWaitMs + queueMs: what the option adds to the end-to-end latency. */
  latencyMs: number;
  /** Requests/s per replica, as the arrival model sees it (replicaRateRps). */
  throughputRps: number;
  replicas: number;
  /** Totals over all replicas. */
  cpu: number;
  gpu: number;
  cost: number;
  /** β·cost + γ·batch: the part of the objective that does not depend on accuracy. */
  penalty: number;
}

export type ExclusionReason = 'missing-profile' | 'over-max-batch' | 'over-max-replicas' | 'under-replicated' | 'constrained' | 'dominated';

export interface Exclusion {
  stage: number;
  variant: string;
  shape: string;
  batch?: number;
  reason: ExclusionReason;
  /** In words with numbers; left out for dominated options (see dominatedBy), which are many. */
  detail?: string;
  dominatedBy?: Option;
  /** For over-max-replicas: what the load would need. */
  replicasNeeded?: number;
  throughputRps?: number;
}

/** Constraints on one stage: baselines (fa2 fixes the variant, rim the replicas) and explanations. */
export interface StageRestriction {
  variant?: string;
  shape?: string;
  batch?: number;
  replicas?: number;
  /** The batch timeout as a running config has it (`ms` undefined: the spec's limit), instead of batchTimeoutFor's choice. */
  batchTimeout?: { ms: number | undefined };
  excludeVariant?: string;
}

export interface StageOptions {
  name: string;
  maxReplicas: number;
  options: Option[];
  excluded: Exclusion[];
}

/** What the optimizer may relax when asked which limit binds. */
export interface Relaxation {
  maxReplicas?: number;
  maxBatch?: number;
}

type BatchRow = ProblemShape['batches'][number];

/** Arrival models with a queue in front of the replicas: capacity must stay strictly above the load. */
function queued(arrivals: Problem['arrivals']): boolean {
  return arrivals === 'poisson' || arrivals === 'poisson-mgc';
}

/**
 * The requests/s one replica of a row serves, as the arrival model sees it. The profile's
 * throughput is the highest rate at which the profiler's latency bound held, a rate with a queue in
 * it already; `poisson-mgc` plans its own queue, so it takes a replica's rate from the batch time
 * itself (the fitted mean), as the simulator serves it.
 */
export function replicaRateRps(row: BatchRow, arrivals: Problem['arrivals']): number {
  return arrivals === 'poisson-mgc' ? (row.batch * 1000) / spreadOf(row).meanMs : row.throughputRps;
}

function spreadOf(row: BatchRow): { meanMs: number; scv: number } {
  if (row.p50Ms === undefined || row.p99Ms === undefined) {
    throw new Error(`poisson-mgc needs each batch row's p50Ms and p99Ms; batch ${row.batch} has p50Ms ${row.p50Ms}, p99Ms ${row.p99Ms}`);
  }
  return serviceMoments(row.p50Ms, row.p99Ms);
}

/**
 * The fewest replicas that sustain the load at `rateRps` each. Queued arrivals need capacity
 * strictly above it: at exactly λ the queue grows without bound.
 */
export function replicasFor(load: number, rateRps: number, arrivals: Problem['arrivals']): number {
  const replicas = Math.max(1, Math.ceil(load / rateRps));
  return queued(arrivals) && replicas * rateRps <= load ? replicas + 1 : replicas;
}

const QUANTILE: Record<NonNullable<Problem['latencyPercentile']>, number> = { p50: 0.5, p95: 0.95, p99: 0.99 };

/**
 * The batches' queue at an option: M/M/c at the profile's throughput (`poisson`), or M/G/c with
 * the batch time's mean and spread fitted to the row's p50 and p99 (`poisson-mgc`).
 */
function batchQueue(problem: Problem, replicas: number, row: BatchRow): BatchQueue {
  const { load } = problem;
  if (problem.arrivals === 'poisson-mgc') {
    const { meanMs, scv } = spreadOf(row);
    return { load, replicas, batch: row.batch, batchesPerSecond: 1000 / meanMs, scv };
  }
  return { load, replicas, batch: row.batch, batchesPerSecond: row.throughputRps / row.batch };
}

/**
 * The queue wait (ms) of Poisson arrivals at an option, at the quantile its latencies are at.
 * Only an infeasible decision's fallback can lack the capacity; it is shown without a wait, as
 * the steady model shows it, rather than with an infinite latency.
 */
function poissonWaitMs(problem: Problem, replicas: number, row: BatchRow): number {
  const wait = queueWaitMs(batchQueue(problem, replicas, row), QUANTILE[problem.latencyPercentile ?? 'p99']);
  return Number.isFinite(wait) ? wait : 0;
}

/** Rounds of replicas × batch a stage needs for one second's requests arriving together. */
export function wavesFor(load: number, replicas: number, batch: number): number {
  return Math.max(1, Math.ceil(load / (replicas * batch)));
}

/**
 * The replica counts worth offering for a row. With steady arrivals only the fewest that sustain
 * the load: more add cost and change nothing. With bursty arrivals more replicas mean fewer waves,
 * so each count that saves a wave (up to `maxReplicas`) is an option of its own; counts between
 * them cost more for the same latency and are left out. With queued arrivals each replica more
 * shortens the queue wait, so every count up to the first without one is an option.
 */
export function replicaCounts(problem: Problem, row: BatchRow, needed: number, maxReplicas: number): number[] {
  const { batch } = row;
  if (queued(problem.arrivals)) {
    const counts = [needed];
    for (let n = needed; n < maxReplicas && poissonWaitMs(problem, n, row) > 0; n++) counts.push(n + 1);
    return counts;
  }
  if (problem.arrivals !== 'bursty') return [needed];
  const counts = [needed];
  for (let waves = wavesFor(problem.load, needed, batch) - 1; waves >= 1; waves--) {
    const replicas = Math.ceil(problem.load / (waves * batch));
    if (replicas > maxReplicas) break;
    if (replicas > (counts[counts.length - 1] as number)) counts.push(replicas);
  }
  return counts;
}

/** The batch timeouts a stage may be given, ms, below the spec's limit (which is always one). */
export const BATCH_TIMEOUT_CHOICES_MS = [5, 10, 20, 50, 100, 200, 500] as const;

/**
 * Of the time a batch of b takes to fill at λ on average, how much its timeout allows: with twice
 * the mean fill time a batch of 2 fills 86 % of the time, and larger ones more often (a Poisson
 * count of 2(b − 1) reaching b − 1), so a batch served partial, at less than the row's
 * throughput, stays the exception the plan can ignore.
 */
export const BATCH_FILL_ALLOWANCE = 2;

/**
 * A stage's batch timeout at an option: the shortest choice (up to the spec's limit) that lets a
 * batch of b fill at λ (BATCH_FILL_ALLOWANCE), else the limit; 0 at batch 1, which never waits.
 * A longer one would plan the same wait at this load and only wait longer when the load falls;
 * a shorter one would send batches partial and serve less than the row's throughput. So one
 * timeout per row, and the option set grows by none (README, "The optimizer").
 */
export function batchTimeoutFor(batch: number, load: number, maxBatchWaitMs: number): number {
  if (batch === 1) return 0;
  const fillMs = (BATCH_FILL_ALLOWANCE * (batch - 1) * 1000) / load;
  return BATCH_TIMEOUT_CHOICES_MS.find((t) => t < maxBatchWaitMs && t >= fillMs) ?? maxBatchWaitMs;
}

/**
 * The rate (requests/s) a stage's batches fill at, which batchTimeoutFor sizes the timeout for:
 * the problem's `batchFillRps` when given, else λ, except with `bursty` arrivals. IPA's load
 * generator sends a second's λ requests at offsets of mean 1/λ s, so a burst starts at λ²
 * requests/s and most of it arrives within 1/λ s: its batches fill at that rate, and only the
 * second's last, partial one waits out the timeout. A timeout sized for λ there would hold that
 * last batch for up to twice a whole batch's fill time at the mean rate (100 ms for b = 2 at 30
 * requests/s, where a burst fills it in about 1 ms).
 */
export function fillRateRps(problem: Pick<Problem, 'load' | 'arrivals' | 'batchFillRps'>): number {
  if (problem.batchFillRps !== undefined) return problem.batchFillRps;
  return problem.arrivals === 'bursty' ? Math.max(problem.load, problem.load * problem.load) : problem.load;
}

/**
 * The wait for a batch of b to fill at λ, capped by the batch timeout (DESIGN.md). At no load a
 * batch never fills ((b − 1)/0 is infinite), so it waits the whole timeout.
 */
export function batchWaitMs(batch: number, load: number, maxBatchWaitMs: number): number {
  if (batch === 1) return 0;
  return Math.min(((batch - 1) / load) * 1000, maxBatchWaitMs);
}

/**
 * Every candidate option of every stage at the problem's load, and for each option left out the
 * reason, so a decision can explain itself. Dominated options are not removed here (see
 * removeDominated): which options dominate depends on the objective and on capacity.
 */
export function buildOptions(
  problem: Problem,
  restrictions: (StageRestriction | undefined)[] = [],
  relax: Relaxation = {},
): StageOptions[] {
  const { load, limits } = problem;
  return problem.stages.map((stage, s) => {
    const r = restrictions[s] ?? {};
    const maxReplicas = relax.maxReplicas ?? stage.maxReplicas ?? limits.maxReplicas;
    const maxBatch = relax.maxBatch ?? stage.maxBatch ?? limits.maxBatch;
    const options: Option[] = [];
    const excluded: Exclusion[] = [];
    const profiledBatches = [...new Set(stage.variants.flatMap((v) => v.shapes.flatMap((h) => h.batches.map((b) => b.batch))))].sort(
      (a, b) => a - b,
    );
    for (const variant of stage.variants) {
      for (const shape of variant.shapes) {
        const where = `${variant.name}/${shape.name}`;
        if (
          (r.variant !== undefined && r.variant !== variant.name) ||
          r.excludeVariant === variant.name ||
          (r.shape !== undefined && r.shape !== shape.name)
        ) {
          excluded.push({
            stage: s,
            variant: variant.name,
            shape: shape.name,
            reason: 'constrained',
            detail: `${where} is ruled out by the constraint`,
          });
          continue;
        }
        if (shape.batches.length === 0) {
          excluded.push({
            stage: s,
            variant: variant.name,
            shape: shape.name,
            reason: 'missing-profile',
            detail: `${where} has no profile`,
          });
          continue;
        }
        for (const batch of profiledBatches) {
          if (!shape.batches.some((row) => row.batch === batch)) {
            excluded.push({
              stage: s,
              variant: variant.name,
              shape: shape.name,
              batch,
              reason: 'missing-profile',
              detail: `${where} has no profile row for batch ${batch}`,
            });
          }
        }
        for (const row of shape.batches) {
          const id = { stage: s, variant: variant.name, shape: shape.name, batch: row.batch };
          if (r.batch !== undefined && r.batch !== row.batch) {
            excluded.push({ ...id, reason: 'constrained', detail: `${where} batch ${row.batch} is ruled out by the constraint` });
            continue;
          }
          if (row.batch > maxBatch) {
            excluded.push({ ...id, reason: 'over-max-batch', detail: `batch ${row.batch} > maxBatch ${maxBatch}` });
            continue;
          }
          const rate = replicaRateRps(row, problem.arrivals);
          const needed = replicasFor(load, rate, problem.arrivals);
          if (r.replicas !== undefined && r.replicas < needed) {
            excluded.push({
              ...id,
              reason: 'under-replicated',
              detail: `${r.replicas} replicas × ${grouped(rate)} rps of ${where} batch ${row.batch} < ${grouped(load)} rps`,
            });
            continue;
          }
          const replicas = r.replicas ?? needed;
          if (replicas > maxReplicas) {
            excluded.push({
              ...id,
              reason: 'over-max-replicas',
              detail: `${grouped(load)} rps needs ${replicas} replicas of ${where} batch ${row.batch} > maxReplicas ${maxReplicas}`,
              replicasNeeded: replicas,
              throughputRps: rate,
            });
            continue;
          }
          const counts = r.replicas !== undefined ? [replicas] : replicaCounts(problem, row, replicas, maxReplicas);
          for (const count of counts) options.push(makeOption(problem, s, variant, shape, row, count, r.batchTimeout));
        }
      }
    }
    return { name: stage.name, maxReplicas, options, excluded };
  });
}

/**
 * An option of stage `s` with a given replica count. Built as one literal with every field so all
 * options share one hidden class: spreading a partial object in here made building 40× slower.
 */
export function makeOption(
  problem: Problem,
  s: number,
  variant: ProblemVariant,
  shape: ProblemShape,
  row: BatchRow,
  replicas: number,
  held?: StageRestriction['batchTimeout'],
): Option {
  const { load, limits, cost, objective } = problem;
  const bursty = problem.arrivals === 'bursty';
  const own = row.batch === 1 ? undefined : held ? held.ms : batchTimeoutFor(row.batch, fillRateRps(problem), limits.maxBatchWaitMs);
  const timeout = row.batch === 1 ? 0 : (own ?? limits.maxBatchWaitMs);
  // A burst fills batches at once, except the last of the second, which waits out the batch
  // timeout; and it is served in waves, so that last batch starts once the timeout has passed and
  // the waves before its own are done: the queue is what the waves take beyond the timeout.
  const wait = bursty ? timeout : batchWaitMs(row.batch, load, timeout);
  const queueMs = bursty
    ? Math.max(0, (wavesFor(load, replicas, row.batch) - 1) * row.latencyMs - wait)
    : queued(problem.arrivals)
      ? poissonWaitMs(problem, replicas, row)
      : 0;
  const optionCost = replicas * (shape.cpu * cost.cpu + shape.gpu * cost.gpu);
  return {
    stage: s,
    variant: variant.name,
    shape: shape.name,
    batch: row.batch,
    accuracy: variant.accuracy / 100,
    profileLatencyMs: row.latencyMs,
    batchTimeoutMs: own,
    batchWaitMs: wait,
    queueMs,
    latencyMs: row.latencyMs + wait + queueMs,
    throughputRps: replicaRateRps(row, problem.arrivals),
    replicas,
    cpu: replicas * shape.cpu,
    gpu: replicas * shape.gpu,
    cost: optionCost,
    penalty: objective.beta * optionCost + objective.gamma * row.batch,
  };
}

/** The accuracy weight of one stage in a linear PAS: 1 for sum, 1/|S| for average. */
export function linearAccuracyWeight(pas: PasMethod, stageCount: number): number {
  return pas === 'average' ? 1 / stageCount : 1;
}

/**
 * Removes options no better than another option of the same stage in every criterion the
 * objective can see (each criterion: larger is better). Ties keep the first option.
 */
export function removeDominated(stage: StageOptions, criteria: (o: Option) => number[]): StageOptions {
  const keys = stage.options.map(criteria);
  const width = keys[0]?.length ?? 0;
  // Lexicographically best first: a dominator sorts before what it dominates, and by
  // transitivity it is enough to compare each option with the ones already kept.
  const order = stage.options.map((_, i) => i);
  order.sort((i, j) => {
    const ki = keys[i] as number[];
    const kj = keys[j] as number[];
    for (let c = 0; c < width; c++) {
      const d = (kj[c] as number) - (ki[c] as number);
      if (d !== 0) return d;
    }
    return i - j;
  });
  const keptIndex: number[] = [];
  const dominatedBy = new Map<number, number>();
  for (const i of order) {
    const ki = keys[i] as number[];
    const by = keptIndex.find((j) => {
      const kj = keys[j] as number[];
      for (let c = 0; c < width; c++) if ((kj[c] as number) < (ki[c] as number)) return false;
      return true;
    });
    if (by === undefined) keptIndex.push(i);
    else dominatedBy.set(i, by);
  }
  const kept: Option[] = [];
  const excluded = [...stage.excluded];
  stage.options.forEach((option, i) => {
    const by = dominatedBy.get(i);
    if (by === undefined) {
      kept.push(option);
      return;
    }
    excluded.push({
      stage: option.stage,
      variant: option.variant,
      shape: option.shape,
      batch: option.batch,
      reason: 'dominated',
      dominatedBy: stage.options[by] as Option,
    });
  });
  return { ...stage, options: kept, excluded };
}

import { seededRandom } from '../common/seededRandom.js';
import type { PasMethod } from '../model/pipelineSpec.js';
import type { Problem, ProblemShape, ProblemStage, ProblemVariant } from '../model/problem.js';
import type { ProfileSet } from '../model/profileSet.js';

/*
 * Optimisation instances made up from a profile set, for the exactness tests and the optimizer
 * benchmark: random pipelines and IPA's scalability grid. Not used by the product itself.
 */

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

function subset<T>(random: () => number, items: readonly T[], max: number): T[] {
  const shuffled = [...items].sort(() => random() - 0.5);
  // Skewed towards larger subsets: small ones are easy for every solver and prove little.
  return shuffled.slice(0, 1 + Math.floor(Math.sqrt(random()) * Math.min(max, items.length)));
}

/** The stage of a task with every variant, shape and batch of the profile set. */
export function stageFromProfiles(profiles: ProfileSet, task: string, name: string): ProblemStage {
  const shapes = new Map(profiles.shapes.map((s) => [s.name, s]));
  return {
    name,
    variants: profiles.variants
      .filter((v) => v.task === task)
      .map((v) => ({
        name: v.variant,
        accuracy: v.accuracy,
        shapes: v.profiles.map((p) => ({
          name: p.shape,
          cpu: shapes.get(p.shape)?.cpu ?? 0,
          gpu: shapes.get(p.shape)?.gpu ?? 0,
          batches: p.rows.map((r) => ({ batch: r.batch, latencyMs: r.p99Ms, throughputRps: r.throughputRps })),
        })),
      })),
  };
}

export interface RandomProblemLimits {
  maxStages: number;
  maxVariants: number;
  maxShapes: number;
  maxBatches: number;
  /** Upper bound on the number of combinations (for brute force), enforced by dropping rows. */
  maxCombinations: number;
}

/**
 * A random instance built from measured profiles: random tasks, subsets of variants, shapes and
 * batches, loads (0 included), SLAs around the feasible range (some infeasible), weights and limits.
 */
export function randomProblem(profiles: ProfileSet, pas: PasMethod, random: () => number, limits: RandomProblemLimits): Problem {
  const tasks = [...new Set(profiles.variants.map((v) => v.task))];
  const stageCount = 1 + Math.floor(random() * limits.maxStages);
  const stages: ProblemStage[] = [];
  for (let s = 0; s < stageCount; s++) {
    const full = stageFromProfiles(profiles, pick(random, tasks), `stage-${s}`);
    const variants = subset(random, full.variants, limits.maxVariants)
      .map((v) => {
        const profiled = v.shapes.filter((h) => h.batches.length > 0);
        return { ...v, shapes: subset(random, profiled.length > 0 ? profiled : v.shapes, limits.maxShapes) };
      })
      .map((v) => ({
        ...v,
        shapes: v.shapes.map((h) => ({ ...h, batches: subset(random, h.batches, limits.maxBatches).sort((a, b) => a.batch - b.batch) })),
      }));
    stages.push({ name: full.name, variants });
  }
  const rows = (stage: ProblemStage) => stage.variants.reduce((t, v) => t + v.shapes.reduce((u, h) => u + h.batches.length, 0), 0);
  // Drop rows (never a shape's last) until brute force stays affordable.
  while (stages.reduce((p, s) => p * rows(s), 1) > limits.maxCombinations) {
    const stage = stages.reduce((a, b) => (rows(b) > rows(a) ? b : a));
    const shape = stage.variants.flatMap((v) => v.shapes).find((h) => h.batches.length > 1);
    if (!shape) break;
    shape.batches.splice(Math.floor(random() * shape.batches.length), 1);
  }
  const load = random() < 0.05 ? 0 : Math.round(10 ** (random() * 3) * 10) / 10;
  const fastest = stages.reduce(
    (t, s) => t + Math.min(...s.variants.flatMap((v) => v.shapes.flatMap((h) => h.batches.map((b) => b.latencyMs)))),
    0,
  );
  return {
    name: 'random',
    slaMs: Math.max(1, Math.round(fastest * (0.7 + random() * 2.5))),
    load,
    objective: { alpha: 0.5 + random() * 4.5, beta: random() * 0.05, gamma: pick(random, [0, 1e-6, 1e-3]), accuracy: pas },
    limits: {
      maxReplicas: 1 + Math.floor(random() * 80),
      maxBatch: pick(random, [1, 2, 4, 8, 16, 64]),
      maxBatchWaitMs: Math.round(random() * 500),
    },
    cost: { cpu: 1, gpu: 5 + Math.round(random() * 35) },
    stages,
  };
}

// IPA's scalability experiment (its Figure 13): k variants per stage and m identical stages.
const GRID_SHAPES = ['cpu-8', 'gpu-h200'];
const GRID_BATCHES = [1, 2, 4, 8, 16, 32, 64];

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A measured shape padded to the 7 batch sizes 1..64. gpu-h200 has all 7 rows as measured. cpu-8
 * was profiled at batches 1, 2, 4, 8 only; its rows 16, 32 and 64 are synthesised from batch 8
 * assuming the CPU is saturated there: the same throughput, latency growing linearly with batch.
 */
function withGridBatches(shape: ProblemShape): ProblemShape {
  const last = shape.batches.at(-1);
  if (!last) throw new Error(`${shape.name} has no profile rows`);
  return {
    ...shape,
    batches: GRID_BATCHES.map(
      (batch) =>
        shape.batches.find((row) => row.batch === batch) ?? {
          batch,
          latencyMs: (last.latencyMs * batch) / last.batch,
          throughputRps: last.throughputRps,
        },
    ),
  };
}

/**
 * The grid's variants: the 5 measured resnets on cpu-8 and gpu-h200 (7 batches each, so 14
 * options per variant), then perturbed copies of them (resnet50-p7 is the 8th variant, made from
 * resnet50) up to `size`. A copy moves accuracy by U(−2, 2) points (clamped to [0, 100]) and
 * scales latency and throughput by one U(0.8, 1.25) factor each per shape. Seeded, so every run
 * and every stage sees the same variants.
 */
export function variantPool(profiles: ProfileSet, size: number): ProblemVariant[] {
  const measured = stageFromProfiles(profiles, 'classification', 'pool')
    .variants.filter((v) => v.name.startsWith('resnet'))
    .map((v) => ({
      ...v,
      shapes: GRID_SHAPES.map((name) => {
        const shape = v.shapes.find((h) => h.name === name);
        if (!shape) throw new Error(`${v.name} has no ${name} profile`);
        return withGridBatches(shape);
      }),
    }));
  const random = seededRandom(2023);
  const uniform = (lo: number, hi: number) => lo + random() * (hi - lo);
  const pool: ProblemVariant[] = [...measured];
  for (let i = measured.length; i < size; i++) {
    const base = measured[i % measured.length] as ProblemVariant;
    pool.push({
      name: `${base.name}-p${i}`,
      accuracy: Math.min(100, Math.max(0, base.accuracy + uniform(-2, 2))),
      shapes: base.shapes.map((shape) => {
        const latency = uniform(0.8, 1.25);
        const throughput = uniform(0.8, 1.25);
        return {
          ...shape,
          batches: shape.batches.map((r) => ({
            batch: r.batch,
            latencyMs: r.latencyMs * latency,
            throughputRps: r.throughputRps * throughput,
          })),
        };
      }),
    });
  }
  return pool;
}

/**
 * `stages` identical stages (stage-0, stage-1, …) with the first `variants` variants of the pool.
 * The SLA is the sum over stages of the median batch-1 latency of the stage's options, rounded up
 * to a whole ms: feasible (every stage has a batch-1 option at or under its median) and binding
 * (the most accurate variants are slower than that). Rounded up because the unrounded sum is hit
 * exactly by half the stages taking each of the two middle options, in every order, and the
 * orders' float sums differ by an ulp: a near-tie that HiGHS cannot tell apart (`roundSla: false`
 * builds that case on purpose, for the tests). Real SLAs are whole ms and profiles are not.
 */
export function gridProblem(pool: ProblemVariant[], stages: number, variants: number, pas: PasMethod, roundSla = true): Problem {
  const stageList: ProblemStage[] = Array.from({ length: stages }, (_, s) => ({ name: `stage-${s}`, variants: pool.slice(0, variants) }));
  const slaMs = stageList.reduce((total, stage) => {
    const batch1 = stage.variants.flatMap((v) => v.shapes.flatMap((h) => h.batches.filter((b) => b.batch === 1).map((b) => b.latencyMs)));
    return total + median(batch1.sort((a, b) => a - b));
  }, 0);
  return {
    name: `grid-${stages}x${variants}`,
    slaMs: roundSla ? Math.ceil(slaMs) : slaMs,
    load: 50,
    objective: { alpha: 1, beta: 0.001, gamma: 1e-6, accuracy: pas },
    limits: { maxReplicas: 50, maxBatch: 64, maxBatchWaitMs: 200 },
    cost: { cpu: 1, gpu: 24 },
    stages: stageList,
  };
}

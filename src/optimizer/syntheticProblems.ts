import type { PasMethod } from '../model/pipelineSpec.js';
import type { Problem, ProblemStage } from '../model/problem.js';
import type { ProfileSet } from '../model/profileSet.js';

/** A small seeded generator (mulberry32): the same seed gives the same instances everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

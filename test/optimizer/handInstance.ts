import type { Problem } from '../../src/model/problem.js';

/** A one-stage problem worked by hand, and its profile rows: shared by the options, explanation and fleet tests. */

export const row = (batch: number, latencyMs: number, throughputRps: number) => ({ batch, latencyMs, throughputRps });
export const cpu = (batches: ReturnType<typeof row>[]) => [{ name: 'cpu-1', cpu: 1, gpu: 0, batches }];
export const gpu = (batches: ReturnType<typeof row>[]) => [{ name: 'gpu-1', cpu: 0, gpu: 1, batches }];

/**
 * One stage at 30 rps, steady, at most 3 replicas and batch 1; objective = PAS − 0.01 × cores.
 * - huge b1: 30 ÷ 5 → 6 replicas, over the limit; lifted: 40 ms, 0.96 − 0.06 = 0.90.
 * - large b1: 30 ÷ 10 → ×3, 50 ms, 0.90 − 0.03 = 0.87. large b2: over the batch limit; lifted:
 *   ×1, 5 ms + the fill wait (2 − 1)/30 s = 33.3 ms, 38.3 ms, 0.90 − 0.01 = 0.89.
 * - small b1: 30 ÷ 30 → ×1, 10 ms, 0.70 − 0.01 = 0.69.
 */
export function classify(slaMs: number, load = 30): Problem {
  return {
    name: 'classify',
    slaMs,
    load,
    arrivals: 'steady',
    latencyPercentile: 'p99',
    objective: { alpha: 1, beta: 0.01, gamma: 0, accuracy: 'sum' },
    limits: { maxReplicas: 3, maxBatch: 1, maxBatchWaitMs: 50 },
    cost: { cpu: 1, gpu: 10 },
    stages: [
      {
        name: 'classify',
        variants: [
          { name: 'huge', accuracy: 96, shapes: cpu([row(1, 40, 5)]) },
          { name: 'large', accuracy: 90, shapes: cpu([row(1, 50, 10), row(2, 5, 40)]) },
          { name: 'small', accuracy: 70, shapes: cpu([row(1, 10, 30)]) },
        ],
      },
    ],
  };
}

/** The hand-worked stage within 1,000 ms, with other variants in its place. */
export function classifyWith(variants: Problem['stages'][number]['variants']): Problem {
  return { ...classify(1000), stages: [{ name: 'classify', variants }] };
}

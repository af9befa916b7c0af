import type { ArrivalPattern } from '../model/pipelineSpec.js';
import { RandomVariates } from './randomVariates.js';

/**
 * How a second's requests spread over it. `exponential` is IPA's load generator (SPEC.md §6, the
 * mode of every final experiment): request j of second i is sent at i + X_j s with X_j drawn
 * independently from Exp(mean 1 / workload[i]); the offsets are not cumulative gaps, so each
 * second's requests bunch up near its start (a few spill into the next second). `uniform` spreads
 * them uniformly over the second, which is a Poisson process given the count; `equal` sends
 * request j at i + j / workload[i] (IPA's `equal` mode).
 */
export const ARRIVAL_MODES = ['exponential', 'uniform', 'equal'] as const;
export type ArrivalMode = (typeof ARRIVAL_MODES)[number];

/**
 * The arrival pattern (pipelineSpec.ts) each mode produces: what a policy should plan for when it
 * faces those arrivals. IPA's exponential offsets put a second's requests together at its start.
 */
export const ARRIVAL_PATTERN_OF: Record<ArrivalMode, ArrivalPattern> = { exponential: 'bursty', uniform: 'poisson', equal: 'steady' };

/**
 * Request arrival times (ms, sorted) for per-second request counts. Counts are whole requests: a
 * fractional count is truncated as IPA's int() did.
 */
export function loadGeneratorArrivals(workload: ArrayLike<number>, seed: number, mode: ArrivalMode = 'exponential'): Float64Array {
  const random = new RandomVariates(seed);
  let total = 0;
  for (let i = 0; i < workload.length; i++) total += Math.max(0, Math.trunc(workload[i] as number));
  const arrivals = new Float64Array(total);
  let n = 0;
  for (let i = 0; i < workload.length; i++) {
    const count = Math.max(0, Math.trunc(workload[i] as number));
    const meanMs = 1000 / count;
    for (let j = 0; j < count; j++) {
      const offsetMs =
        mode === 'exponential' ? random.exponential(meanMs) : mode === 'uniform' ? 1000 * (1 - random.uniform()) : j * meanMs;
      arrivals[n++] = i * 1000 + offsetMs;
    }
  }
  return arrivals.sort();
}

/** A Poisson process of `ratePerSecond` over `seconds` (ms, sorted): the arrivals queueing theory assumes. */
export function poissonArrivals(ratePerSecond: number, seconds: number, seed: number): Float64Array {
  const random = new RandomVariates(seed);
  const endMs = seconds * 1000;
  const meanGapMs = 1000 / ratePerSecond;
  let capacity = Math.ceil(ratePerSecond * seconds * 1.1) + 16;
  let arrivals = new Float64Array(capacity);
  let n = 0;
  for (let t = random.exponential(meanGapMs); t < endMs; t += random.exponential(meanGapMs)) {
    if (n === capacity) {
      capacity *= 2;
      const grown = new Float64Array(capacity);
      grown.set(arrivals);
      arrivals = grown;
    }
    arrivals[n++] = t;
  }
  return arrivals.slice(0, n);
}

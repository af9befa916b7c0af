import { nearestRank } from '../src/common/nearestRank.js';

/** The nearest-rank q-quantile of `values` (src/nearestRank.ts, as ipa reports latencies), NaN for none. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return nearestRank(sorted, q);
}

export const median = (values: readonly number[]) => percentile(values, 0.5);

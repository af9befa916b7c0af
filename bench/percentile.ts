/** The q-quantile of `values` (nearest rank below), NaN for none: what the benchmark tables print. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export const median = (values: readonly number[]) => percentile(values, 0.5);

/**
 * The nearest-rank q-quantile of ascending values: a value some request really had, so
 * p50 ≤ p95 ≤ p99 ≤ max holds by construction (interpolation could report a value no request
 * saw). Works on a typed array in place: the simulator sorts each second's latencies without
 * copying them into an Array. NaN for no values.
 */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number;
}

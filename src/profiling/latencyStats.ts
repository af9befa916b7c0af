/** Latency summary of one load run, in ms. */
export interface LatencyStats {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/**
 * Nearest-rank percentiles: each one is a latency some request really had, and p50 ≤ p95 ≤ p99 ≤
 * max holds by construction (interpolation could report a value no request saw). All zero when
 * no request succeeded; the caller's ok count says so.
 */
export function latencyStats(latenciesMs: readonly number[]): LatencyStats {
  if (latenciesMs.length === 0) return { p50Ms: 0, p95Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0 };
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  const sum = sorted.reduce((total, ms) => total + ms, 0);
  return {
    p50Ms: round(rank(0.5)),
    p95Ms: round(rank(0.95)),
    p99Ms: round(rank(0.99)),
    meanMs: round(sum / sorted.length),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

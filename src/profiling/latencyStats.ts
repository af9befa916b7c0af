import { nearestRank } from '../common/nearestRank.js';
import { roundTo } from '../common/roundTo.js';

/** Latency summary of one load run, in ms. */
export interface LatencyStats {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/**
 * Nearest-rank percentiles, to the microsecond. All zero when no request succeeded; the caller's
 * ok count says so.
 */
export function latencyStats(latenciesMs: readonly number[]): LatencyStats {
  if (latenciesMs.length === 0) return { p50Ms: 0, p95Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0 };
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (ms: number) => roundTo(ms, 3);
  const sum = sorted.reduce((total, ms) => total + ms, 0);
  return {
    p50Ms: round(nearestRank(sorted, 0.5)),
    p95Ms: round(nearestRank(sorted, 0.95)),
    p99Ms: round(nearestRank(sorted, 0.99)),
    meanMs: round(sum / sorted.length),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

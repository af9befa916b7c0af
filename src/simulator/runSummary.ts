import { nearestRank } from '../common/nearestRank.js';
import type { SecondSeries } from './secondStats.js';

/** One policy's run on one pattern in a few figures: what the report's tables show. */
export interface RunSummary {
  requests: number;
  completed: number;
  dropped: number;
  /** Completions over the SLA plus drops. */
  violations: number;
  violationPercent: number;
  /** Mean PAS over completed requests, each with the variants that served it. */
  meanPas: number;
  /** Mean cost over the run's seconds (not the drain after it). */
  meanCost: number;
  p50Ms: number;
  p99Ms: number;
  meanLatencyMs: number;
  /** Share of seconds with completions whose p99 is within the SLA (the paper's Figure 15 CDF at the SLA). */
  secondsP99WithinSlaPercent: number;
  decisions: number;
  reconfigurations: number;
  infeasible: number;
}

export function summarizeRun(
  series: SecondSeries,
  latencyMs: Float64Array,
  horizonSeconds: number,
  slaMs: number,
  decisions: { changed: boolean; feasible: boolean }[],
): RunSummary {
  let completed = 0;
  let dropped = 0;
  let violations = 0;
  let pasSum = 0;
  let latencySum = 0;
  let seconds = 0;
  let secondsWithin = 0;
  for (let t = 0; t < series.seconds; t++) {
    const n = series.completions[t] as number;
    completed += n;
    dropped += series.drops[t] as number;
    violations += series.violations[t] as number;
    if (n > 0) {
      pasSum += (series.pas[t] as number) * n;
      latencySum += (series.meanLatencyMs[t] as number) * n;
      seconds += 1;
      if ((series.p99Ms[t] as number) <= slaMs) secondsWithin += 1;
    }
  }
  let cost = 0;
  const costSeconds = Math.min(horizonSeconds, series.seconds);
  for (let t = 0; t < costSeconds; t++) cost += series.cost[t] as number;
  const done = latencyMs.filter((v) => !Number.isNaN(v)).sort();
  const requests = completed + dropped;
  return {
    requests,
    completed,
    dropped,
    violations,
    violationPercent: requests > 0 ? (100 * violations) / requests : 0,
    meanPas: completed > 0 ? pasSum / completed : Number.NaN,
    meanCost: costSeconds > 0 ? cost / costSeconds : 0,
    p50Ms: nearestRank(done, 0.5),
    p99Ms: nearestRank(done, 0.99),
    meanLatencyMs: completed > 0 ? latencySum / completed : Number.NaN,
    secondsP99WithinSlaPercent: seconds > 0 ? (100 * secondsWithin) / seconds : Number.NaN,
    decisions: decisions.length,
    reconfigurations: decisions.filter((d) => d.changed).length,
    infeasible: decisions.filter((d) => !d.feasible).length,
  };
}

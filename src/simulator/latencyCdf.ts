/**
 * The end-to-end latency CDF of a run, as the paper's Figure 15 draws it: for up to `points`
 * latencies, the share of all requests answered within it. Requests never answered (dropped, or
 * still in flight at the end; NaN) count in the total, so the curve ends at the share answered and
 * its height at the SLA is the share answered in time.
 */
export function latencyCdf(latencyMs: Float64Array, points = 200): Array<[ms: number, share: number]> {
  const answered = latencyMs.filter((v) => !Number.isNaN(v)).sort();
  const total = latencyMs.length;
  if (answered.length === 0) return [];
  const step = Math.max(1, Math.floor(answered.length / points));
  const cdf: Array<[number, number]> = [];
  for (let i = 0; i < answered.length; i += step) cdf.push([answered[i] as number, (i + 1) / total]);
  if (cdf[cdf.length - 1]?.[1] !== answered.length / total) cdf.push([answered[answered.length - 1] as number, answered.length / total]);
  return cdf;
}

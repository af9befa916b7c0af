/**
 * How a profile row's p50 and p99 become a service-time distribution. Profiles give percentiles,
 * not a distribution, so a row becomes a **lognormal** with the row's median and 99th percentile:
 * ln S ~ N(μ, σ²) with e^μ = p50 and e^(μ + z₉₉·σ) = p99. Two parameters fit two percentiles
 * exactly; a shifted lognormal would need a third figure the profiles do not have, and the
 * lognormal keeps service times positive with the right-skewed tail measured latencies show.
 * p99 = p50 gives σ = 0: a deterministic time. The simulator draws from this fit and the M/G/c
 * planning model takes its mean and spread from it, so the two agree on what a replica does.
 */

/** z of the standard normal's 99th percentile. */
export const Z99 = 2.3263478740408408;

export function lognormalParameters(p50Ms: number, p99Ms: number): { mu: number; sigma: number } {
  if (!(p50Ms > 0) || !(p99Ms >= p50Ms)) throw new Error(`service time needs 0 < p50 ≤ p99, got p50 ${p50Ms} ms, p99 ${p99Ms} ms`);
  return { mu: Math.log(p50Ms), sigma: Math.log(p99Ms / p50Ms) / Z99 };
}

/** The mean and the squared coefficient of variation (variance / mean²) of the fitted lognormal. */
export function serviceMoments(p50Ms: number, p99Ms: number): { meanMs: number; scv: number } {
  const { mu, sigma } = lognormalParameters(p50Ms, p99Ms);
  return { meanMs: Math.exp(mu + (sigma * sigma) / 2), scv: Math.expm1(sigma * sigma) };
}

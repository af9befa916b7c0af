import type { Percentile } from '../model/fields.js';
import type { LoadResult } from './loadGenerator.js';

export interface RateSearch {
  /** Runs one open-loop probe at `rate` requests/s. */
  probe(rate: number): Promise<LoadResult>;
  /** Requests/s the server answered under closed-loop saturation: where the search starts. */
  saturationRate: number;
  percentile: Percentile;
  boundMs: number;
  /** Length of each probe, to tell a server that keeps up from one that builds a queue. */
  probeMs: number;
  /**
   * Time one request takes on its own, ms: a server that keeps up still answers the last request
   * that long after the probe's end, which is no sign of a queue.
   */
  serviceMs: number;
  steps: number;
}

export interface RateSearchResult {
  /** The highest probe that kept its promise, or undefined when none did. */
  best?: { rate: number; result: LoadResult };
  /** Every probe, in order, with why it failed. */
  probes: { rate: number; result: LoadResult; failure?: string }[];
}

type ProbeBounds = Pick<RateSearch, 'percentile' | 'boundMs' | 'probeMs' | 'serviceMs'>;

/**
 * Requests/s a probe's server answered: its answers over the probe, or over the time to the last
 * answer less one service time when that is longer. Without the discount a 1 s probe of a model
 * taking 300 ms per request reads as 23 % short of what it was offered, at any rate.
 */
export function answeredRate(result: LoadResult, { probeMs, serviceMs }: Pick<ProbeBounds, 'probeMs' | 'serviceMs'>): number {
  const spanMs = Math.max(probeMs, result.elapsedMs - serviceMs);
  return Math.round((result.ok / (spanMs / 1000)) * 1000) / 1000;
}

/** Why a probe's rate is not sustainable, or undefined when it is. */
export function probeFailure(rate: number, result: LoadResult, bounds: ProbeBounds): string | undefined {
  const { percentile, boundMs, probeMs } = bounds;
  if (result.errors + result.timeouts > 0) return `${result.errors} errors and ${result.timeouts} timeouts at ${rate} req/s`;
  if (result.ok === 0) return `no answer at ${rate} req/s`;
  const latency = result[`${percentile}Ms`];
  if (latency > boundMs) return `${percentile} ${latency} ms > bound ${boundMs} ms at ${rate} req/s`;
  // An open loop whose answers lag behind the arrivals is building a queue the probe was too short to show.
  const offered = result.sent / (probeMs / 1000);
  const answered = answeredRate(result, bounds);
  if (answered < 0.9 * offered) {
    return `answered ${answered} req/s of ${Math.round(offered * 10) / 10} offered`;
  }
  return undefined;
}

const round = (rate: number) => Math.max(0.1, Math.round(rate * 10) / 10);

/**
 * Bisection for the highest request rate whose chosen latency percentile stays within the bound.
 * It starts just below the closed-loop saturation rate (an open loop at saturation queues without
 * end), halves until a probe passes, then bisects between the best pass and the lowest failure.
 */
export async function highestSustainableRate(search: RateSearch): Promise<RateSearchResult> {
  const probes: RateSearchResult['probes'] = [];
  let best: RateSearchResult['best'];
  let low = 0;
  let high = search.saturationRate * 1.1;
  let rate = round(search.saturationRate * 0.8);
  for (let step = 0; step < search.steps; step++) {
    const result = await search.probe(rate);
    const failure = probeFailure(rate, result, search);
    probes.push({ rate, result, ...(failure ? { failure } : {}) });
    if (failure) high = rate;
    else {
      low = rate;
      if (!best || rate > best.rate) best = { rate, result };
    }
    const next = round(low > 0 ? (low + high) / 2 : high / 2);
    // Steps finer than 5 % of the rate are within a probe's noise.
    if (low > 0 && (high - low) / low < 0.05) break;
    if (next === rate) break;
    rate = next;
  }
  return { ...(best ? { best } : {}), probes };
}

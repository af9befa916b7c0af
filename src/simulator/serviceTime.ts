import type { ProfileRow } from '../model/profileSet.js';
import { lognormalParameters, serviceMoments } from '../model/serviceSpread.js';
import type { RandomVariates } from './randomVariates.js';

/**
 * How long one replica takes for one batch: a **lognormal** fitted to a profile row's p50 and p99
 * (serviceSpread.ts says why). Exponential and deterministic times exist for checks against
 * queueing theory (M/M/c, M/D/c).
 */
export type ServiceTime =
  | { kind: 'lognormal'; p50Ms: number; p99Ms: number }
  | { kind: 'exponential'; meanMs: number }
  | { kind: 'deterministic'; ms: number };

const LOGNORMAL = 0;
const EXPONENTIAL = 1;
const DETERMINISTIC = 2;

/** The mean of a service time, in ms: for a lognormal e^(μ + σ²/2), a little above its median. */
export function meanServiceMs(time: ServiceTime): number {
  if (time.kind === 'exponential') return time.meanMs;
  if (time.kind === 'deterministic') return time.ms;
  return serviceMoments(time.p50Ms, time.p99Ms).meanMs;
}

/**
 * Service times of one option by batch occupancy k = 1…batch, as flat typed arrays indexed by k so
 * drawing one is a few array reads and no allocation.
 */
export class ServiceTable {
  private readonly kind: Uint8Array;
  private readonly a: Float64Array;
  private readonly b: Float64Array;

  /** `times[k − 1]` is the time of a batch of k requests. */
  constructor(readonly times: readonly ServiceTime[]) {
    const n = times.length + 1;
    this.kind = new Uint8Array(n);
    this.a = new Float64Array(n);
    this.b = new Float64Array(n);
    times.forEach((time, i) => {
      const k = i + 1;
      if (time.kind === 'exponential') {
        if (!(time.meanMs > 0)) throw new Error(`exponential service time needs a mean > 0, got ${time.meanMs} ms`);
        this.kind[k] = EXPONENTIAL;
        this.a[k] = time.meanMs;
      } else if (time.kind === 'deterministic' || time.p99Ms === time.p50Ms) {
        const ms = time.kind === 'deterministic' ? time.ms : time.p50Ms;
        if (!(ms > 0)) throw new Error(`deterministic service time needs a time > 0, got ${ms} ms`);
        this.kind[k] = DETERMINISTIC;
        this.a[k] = ms;
      } else {
        const { mu, sigma } = lognormalParameters(time.p50Ms, time.p99Ms);
        this.kind[k] = LOGNORMAL;
        this.a[k] = mu;
        this.b[k] = sigma;
      }
    });
  }

  get maxBatch(): number {
    return this.times.length;
  }

  /** One batch's service time in ms for a batch holding `k` requests (1 ≤ k ≤ maxBatch). */
  sample(k: number, random: RandomVariates): number {
    const kind = this.kind[k];
    if (kind === LOGNORMAL) return Math.exp((this.a[k] as number) + (this.b[k] as number) * random.normal());
    if (kind === EXPONENTIAL) return random.exponential(this.a[k] as number);
    return this.a[k] as number;
  }
}

/**
 * A profiled option's service times for every occupancy up to its batch: a partial batch of k
 * (sent at the batch timeout) takes as long as the smallest profiled batch holding k. Rounding up
 * errs on the slow side, and a server batching k requests pads no less work than that row did.
 */
export function serviceTimesFromProfile(rows: readonly ProfileRow[], batch: number): ServiceTime[] {
  const sorted = [...rows].sort((x, y) => x.batch - y.batch);
  return Array.from({ length: batch }, (_, i) => {
    const row = sorted.find((r) => r.batch >= i + 1);
    if (!row) throw new Error(`no profile row for a batch of ${i + 1} (profiled batches: ${sorted.map((r) => r.batch).join(', ')})`);
    return { kind: 'lognormal', p50Ms: row.p50Ms, p99Ms: row.p99Ms };
  });
}

import { seededRandom } from '../common/seededRandom.js';

/** Arrival offsets (ms from the start) of a Poisson process at `ratePerSecond` within `durationMs`. */
export function poissonArrivals(ratePerSecond: number, durationMs: number, seed: number): number[] {
  const random = seededRandom(seed);
  const arrivals: number[] = [];
  let at = 0;
  for (;;) {
    // 1 - u is in (0, 1], so the log is finite.
    at += (-Math.log(1 - random()) / ratePerSecond) * 1000;
    if (at >= durationMs) return arrivals;
    arrivals.push(at);
  }
}

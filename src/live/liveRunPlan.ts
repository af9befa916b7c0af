import { HPA_DEFAULTS } from '../adapt/hpa.js';
import { DEMO_LOAD } from './liveScale.js';
import type { ReplayScale } from './loadReplay.js';

/**
 * How a pattern is played in a live run on this machine (README, "Live pipeline"; liveScale.ts):
 *
 * - The whole pattern is always played, in `minutes` of real time: speed = pattern seconds /
 *   (minutes × 60). IPA's patterns are 1,200 s, so the default, 10 minutes, is DEMO_LOAD's speed 2,
 *   and a short run (`--minutes 1`: speed 20) still goes through the pattern's bursts and lulls,
 *   only faster, rather than playing its first quiet minutes. The loop's interval, the actuator's
 *   start-up and the forecaster's window stay real seconds, so a faster run is a harder one.
 * - One factor for every pattern: the busiest second of all IPA patterns goes out at `peakRps`
 *   (by default `livePeakRps`, what this machine's cores carry). Each pattern scaled to its own
 *   peak would make steady-low as loud as
 *   steady-high; with one factor they keep their levels relative to each other, as in the paper.
 * - The HPA's scale-down stabilisation, 300 s by default, is scaled to the run's speed like the
 *   pattern's time is.
 */
export interface LiveRunPlan {
  /** Trace seconds per real second. */
  speed: number;
  minutes: number;
  scale: ReplayScale;
  /** The HPA's default window divided by the speed, s. */
  hpaStabilizationSeconds: number;
}

/**
 * The plan for a pattern of `patternSeconds` seconds, given the highest per-second load of all
 * patterns (`patternsPeak`) and the real requests/s it is played at (`peakRps`); `minutes`
 * defaults to the pattern at DEMO_LOAD's speed.
 */
export function liveRunPlan(patternSeconds: number, patternsPeak: number, peakRps: number, minutes?: number): LiveRunPlan {
  if (!(patternSeconds > 0)) throw new Error(`the pattern has no second to play (${patternSeconds} s)`);
  if (!(patternsPeak > 0)) throw new Error(`the patterns have no load to scale (peak ${patternsPeak})`);
  if (!(Number.isFinite(peakRps) && peakRps > 0)) throw new Error(`peakRps must be > 0, got ${peakRps}`);
  if (minutes !== undefined && !(Number.isFinite(minutes) && minutes > 0)) throw new Error(`minutes must be > 0, got ${minutes}`);
  const played = minutes ?? patternSeconds / DEMO_LOAD.speed / 60;
  const speed = patternSeconds / (played * 60);
  return {
    speed,
    minutes: played,
    // Real rate = factor × load × speed, so the busiest second goes out at peakRps whatever the speed.
    scale: { factor: peakRps / (speed * patternsPeak) },
    hpaStabilizationSeconds: HPA_DEFAULTS.stabilizationMs / 1000 / speed,
  };
}

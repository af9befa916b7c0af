/**
 * A quantity of a live run read now and then (the cores the replicas hold, the running config's
 * PAS), taken to hold from one reading to the next: what it was is known only at the readings,
 * and it changes in steps (a change of config), not smoothly. Integrals and time-weighted means
 * over such a step function are what a run's core-seconds and mean PAS are.
 */
export interface HeldSample {
  /** When it was read, ms on any clock shared by the samples and the bounds asked for. */
  atMs: number;
  value: number;
}

/**
 * ∫ value dt over [fromMs, toMs), in value × seconds. Each sample holds until the next; before the
 * first sample the first value holds (the run starts with what was read first), after the last
 * the last one does. Samples must be in time order. 0 for no samples or an empty span.
 */
export function heldIntegral(samples: readonly HeldSample[], fromMs: number, toMs: number): number {
  if (samples.length === 0 || !(toMs > fromMs)) return 0;
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i] as HeldSample;
    // The first sample also covers the time before it; the last one the time after it.
    const start = i === 0 ? fromMs : Math.max(fromMs, sample.atMs);
    const end = i === samples.length - 1 ? toMs : Math.min(toMs, (samples[i + 1] as HeldSample).atMs);
    if (end > start) total += sample.value * (end - start);
  }
  return total / 1000;
}

/** The time-weighted mean over [fromMs, toMs); NaN for no samples or an empty span. */
export function heldMean(samples: readonly HeldSample[], fromMs: number, toMs: number): number {
  if (samples.length === 0 || !(toMs > fromMs)) return Number.NaN;
  return heldIntegral(samples, fromMs, toMs) / ((toMs - fromMs) / 1000);
}

/** The time-weighted mean of each whole second [t, t + 1) s from `fromMs`, `seconds` of them: a per-second series for plots. */
export function heldPerSecond(samples: readonly HeldSample[], fromMs: number, seconds: number): number[] {
  return Array.from({ length: Math.max(0, seconds) }, (_, t) => heldMean(samples, fromMs + t * 1000, fromMs + (t + 1) * 1000));
}

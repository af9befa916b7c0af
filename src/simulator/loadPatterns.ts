import { damp } from '../forecast/trace.js';
import { HISTORY_SECONDS } from '../forecast/window.js';

/**
 * IPA's four load patterns (ipa-reference load-patterns.json and twitter-trace/README.md): slices
 * trace[start, end) of the Twitter trace, damped by 8 with int(v / 8), concatenated. Steady high
 * plays one 600-s window twice; fluctuating joins two windows.
 */
export const LOAD_PATTERNS = {
  bursty: [{ start: 1_301_160, end: 1_302_360 }],
  'steady-low': [{ start: 1_299_600, end: 1_300_800 }],
  'steady-high': [
    { start: 1_768_800, end: 1_769_400 },
    { start: 1_768_800, end: 1_769_400 },
  ],
  fluctuating: [
    { start: 1_301_400, end: 1_302_000 },
    { start: 1_308_600, end: 1_309_200 },
  ],
} as const;

export type PatternName = keyof typeof LOAD_PATTERNS;
export const PATTERN_NAMES = Object.keys(LOAD_PATTERNS) as PatternName[];
export const PATTERN_DAMPING = 8;

export interface LoadPattern {
  name: PatternName;
  /** Requests sent in each second of the run. */
  loads: Int32Array;
  /**
   * The run's loads preceded by the 120 s of trace before its first window (damped alike): the
   * window the first decision sees, so every policy starts from a decision on real history.
   */
  withHistory: Int32Array;
}

/** A pattern from the trace, optionally cut to its first `seconds`. */
export function loadPattern(trace: Float64Array, name: PatternName, seconds?: number): LoadPattern {
  const segments = LOAD_PATTERNS[name];
  const first = segments[0].start;
  const parts = [trace.subarray(first - HISTORY_SECONDS, first), ...segments.map((s) => trace.subarray(s.start, s.end))];
  const raw = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    raw.set(part, offset);
    offset += part.length;
  }
  const full = damp(raw, PATTERN_DAMPING);
  const length = Math.min(full.length - HISTORY_SECONDS, seconds ?? Number.POSITIVE_INFINITY);
  const withHistory = full.subarray(0, HISTORY_SECONDS + length);
  return { name, loads: withHistory.subarray(HISTORY_SECONDS), withHistory };
}

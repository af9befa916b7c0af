import type { ForecastMethod } from '../model/adaptInput.js';
import { CHUNK_SECONDS } from './window.js';

/** The methods that need no model: every forecast method but `auto` and `lstm`. */
export type FallbackMethod = Exclude<ForecastMethod, 'auto' | 'lstm'>;

/** Forecasts that need no model: what IPA used as backups, and a true mean (IPA's `avg` was max/len). */
export const FALLBACKS = {
  /** Peak of the last 10 s: reacts fast, under-provisions ahead of every rise. */
  reactive: (window: readonly number[]) => Math.max(...window.slice(-CHUNK_SECONDS)),
  /** Peak of the whole window: safe, over-provisions after every burst. */
  max: (window: readonly number[]) => window.reduce((m, v) => Math.max(m, v), 0),
  mean: (window: readonly number[]) => window.reduce((t, v) => t + v, 0) / window.length,
} as const satisfies Record<FallbackMethod, (window: readonly number[]) => number>;

export const FALLBACK_METHODS = Object.keys(FALLBACKS) as FallbackMethod[];

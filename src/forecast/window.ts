import { ValidationError } from '../model/validation.js';

/** IPA's windowing: 120 s of history as 12 maxima of 10 s, to predict the peak of the next 20 s. */
export const HISTORY_SECONDS = 120;
export const CHUNK_SECONDS = 10;
export const HORIZON_SECONDS = 20;
export const INPUTS = HISTORY_SECONDS / CHUNK_SECONDS;

/** Checks a window of per-second loads: a non-empty array of finite, non-negative numbers. */
export function checkWindow(window: unknown, source = 'window'): number[] {
  if (!Array.isArray(window)) {
    throw new ValidationError(source, [{ path: '', message: `expected an array of per-second loads, got ${typeof window}` }]);
  }
  if (window.length === 0) throw new ValidationError(source, [{ path: '', message: 'expected at least one per-second load, got []' }]);
  const issues = window.flatMap((v, i) =>
    typeof v !== 'number' || !Number.isFinite(v) || v < 0
      ? [{ path: `[${i}]`, message: `expected a finite load ≥ 0, got ${typeof v === 'number' ? String(v) : JSON.stringify(v)}` }]
      : [],
  );
  if (issues.length > 0) throw new ValidationError(source, issues.slice(0, 10));
  return window as number[];
}

/** The maxima of consecutive `size`-second chunks of the last `count × size` seconds. */
export function chunkMaxima(loads: ArrayLike<number>, end: number, count = INPUTS, size = CHUNK_SECONDS): number[] {
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    let m = 0;
    const from = end - (count - k) * size;
    for (let i = from; i < from + size; i++) m = Math.max(m, loads[i] as number);
    out.push(m);
  }
  return out;
}

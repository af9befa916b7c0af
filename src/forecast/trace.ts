import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { projectRoot } from '../common/paths.js';
import { ValidationError } from '../model/validation.js';
import { CHUNK_SECONDS, chunkMaxima, HISTORY_SECONDS, HORIZON_SECONDS, INPUTS } from './window.js';

/** The Twitter trace IPA used: requests per second, 1,899,061 seconds (≈ 22 days). */
export const TRACE_FILE = join(projectRoot, 'data', 'twitter-rps.txt.gz');

/**
 * Loads per second from a file: whitespace-separated numbers or a JSON array, gzipped when the
 * name ends in .gz. The Twitter trace by default; users' traces go through the same checks.
 */
export async function loadTrace(file = TRACE_FILE): Promise<Float64Array> {
  const raw = await readFile(file);
  const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').trim();
  const values: unknown[] = text.startsWith('[') ? JSON.parse(text) : text === '' ? [] : text.split(/\s+/).map(Number);
  const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0);
  if (bad >= 0 || values.length === 0) {
    throw new ValidationError(`trace ${file}`, [
      {
        path: values.length === 0 ? '' : `[${bad}]`,
        message: values.length === 0 ? 'no loads' : `expected a load ≥ 0, got ${String(values[bad])}`,
      },
    ]);
  }
  return Float64Array.from(values as number[]);
}

/** IPA's damping: int(v / factor), so seconds below the factor become 0. */
export function damp(trace: ArrayLike<number>, factor: number): Int32Array {
  return Int32Array.from(trace as ArrayLike<number>, (v) => Math.trunc(v / factor));
}

export function withoutZeros(series: ArrayLike<number>): Int32Array {
  return Int32Array.from(Array.prototype.filter.call(series, (v: number) => v !== 0) as number[]);
}

/** Samples: x = 12 chunk maxima of the previous 120 s, y = peak of the next 20 s, every 10 s. */
export interface Samples {
  x: Float32Array;
  y: Float32Array;
  count: number;
}

export function windows(series: ArrayLike<number>): Samples {
  const count = Math.max(0, Math.floor((series.length - HISTORY_SECONDS - HORIZON_SECONDS) / CHUNK_SECONDS) + 1);
  const x = new Float32Array(count * INPUTS);
  const y = new Float32Array(count);
  for (let n = 0; n < count; n++) {
    const t = HISTORY_SECONDS + n * CHUNK_SECONDS;
    x.set(chunkMaxima(series, t), n * INPUTS);
    let peak = 0;
    for (let i = t; i < t + HORIZON_SECONDS; i++) peak = Math.max(peak, series[i] as number);
    y[n] = peak;
  }
  return { x, y, count };
}

/** IPA's split (SPEC §5): the first 21 days damped by 8, zeros removed, 14 days train, the rest test. */
export const TRAINING_SECONDS = 1_814_400;
export const TRAIN_VALUES = 1_209_600;
export const DAMPING = 8;
/** IPA's own evaluation window (undamped, zeros removed). */
export const EVALUATION_WINDOW: [number, number] = [1_296_000, 1_297_200];

export interface Splits {
  train: Int32Array;
  test: Int32Array;
  evaluation: Int32Array;
}

export function splits(trace: Float64Array): Splits {
  const series = withoutZeros(damp(trace.subarray(0, TRAINING_SECONDS), DAMPING));
  return {
    train: series.subarray(0, TRAIN_VALUES),
    test: series.subarray(TRAIN_VALUES),
    evaluation: withoutZeros(trace.subarray(EVALUATION_WINDOW[0], EVALUATION_WINDOW[1])),
  };
}

import { FALLBACK_METHODS, FALLBACKS } from './fallbacks.js';
import type { Forecaster } from './forecaster.js';
import { loadTrace, splits, windows } from './trace.js';
import { CHUNK_SECONDS, HISTORY_SECONDS } from './window.js';

export interface ForecastMetrics {
  /** Mean |y − ŷ| / y, in percent. */
  mape: number;
  /** Mean |y − ŷ| / ((|y| + |ŷ|) / 2), in percent (IPA's definition). */
  smape: number;
  rmse: number;
  /** Share of steps with ŷ < y (the real peak), in percent: where SLA violations come from. */
  underPrediction: number;
  /** Mean of max(0, ŷ − y) / y, in percent: capacity paid for and not used. */
  overProvisioning: number;
  steps: number;
}

export function metrics(predicted: ArrayLike<number>, actual: ArrayLike<number>): ForecastMetrics {
  const n = actual.length;
  let ape = 0;
  let sape = 0;
  let se = 0;
  let under = 0;
  let over = 0;
  for (let i = 0; i < n; i++) {
    const y = actual[i] as number;
    const p = predicted[i] as number;
    const e = Math.abs(y - p);
    ape += y === 0 ? 0 : e / y;
    sape += y + Math.abs(p) === 0 ? 0 : e / ((Math.abs(y) + Math.abs(p)) / 2);
    se += e * e;
    if (p < y) under += 1;
    over += y === 0 ? 0 : Math.max(0, p - y) / y;
  }
  return {
    mape: (100 * ape) / n,
    smape: (100 * sape) / n,
    rmse: Math.sqrt(se / n),
    underPrediction: (100 * under) / n,
    overProvisioning: (100 * over) / n,
    steps: n,
  };
}

export const EVALUATED = ['lstm', 'lstm-upper', ...FALLBACK_METHODS] as const;
export type Evaluated = (typeof EVALUATED)[number];

export interface DatasetEvaluation {
  dataset: string;
  description: string;
  methods: Partial<Record<Evaluated, ForecastMetrics>>;
}

/** Every method on every window of a per-second series: each step sees the 120 s before it. */
export function evaluateSeries(forecaster: Forecaster, series: Int32Array, dataset: string, description: string): DatasetEvaluation {
  const samples = windows(series);
  const fallback = (method: (typeof FALLBACK_METHODS)[number]) =>
    Array.from({ length: samples.count }, (_, n) => {
      const t = HISTORY_SECONDS + n * CHUNK_SECONDS;
      return FALLBACKS[method](Array.from(series.subarray(t - HISTORY_SECONDS, t)));
    });
  const methods: DatasetEvaluation['methods'] = {};
  if (forecaster.hasModel) {
    const lstm = Array.from(forecaster.lstmBatch(samples.x, samples.count), (v) => Math.max(0, v));
    methods.lstm = metrics(lstm, samples.y);
    methods['lstm-upper'] = metrics(
      lstm.map((v) => forecaster.upperOf(v)),
      samples.y,
    );
  }
  for (const method of FALLBACK_METHODS) methods[method] = metrics(fallback(method), samples.y);
  return { dataset, description, methods };
}

/** The test split (damped by 8, zeros removed) and IPA's own evaluation window (undamped). */
export async function evaluateForecasters(forecaster: Forecaster): Promise<DatasetEvaluation[]> {
  const data = splits(await loadTrace());
  return [
    evaluateSeries(forecaster, data.test, 'test', 'trace [0, 1814400) damped by 8, zeros removed, after the first 1,209,600 values'),
    evaluateSeries(forecaster, data.evaluation, 'ipa-window', 'trace [1296000, 1297200) undamped, zeros removed (IPA evaluation.py)'),
  ];
}

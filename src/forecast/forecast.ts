import { join } from 'node:path';
import { projectRoot } from '../paths.js';
import { roundTo } from '../roundTo.js';
import { FALLBACK_METHODS, type FallbackMethod } from './fallbacks.js';

/** Where the committed LSTM lives (model.json, weights.bin, meta.json, metrics.json). */
export const DEFAULT_MODEL_DIR = join(projectRoot, 'models', 'lstm');

export type ForecastMethod = 'auto' | 'lstm' | FallbackMethod;
export const FORECAST_METHODS: ForecastMethod[] = ['auto', 'lstm', ...FALLBACK_METHODS];

/** λ̂: the expected peak load of the next 20 s, an upper band, and which method answered and why. */
export interface Forecast {
  forecast: number;
  upper: number;
  method: 'lstm' | FallbackMethod;
  reason: string;
}

/** The load the optimizer is asked to sustain: the forecast or its band, to 3 decimals as decisions record it. */
export function provisionedLoad(forecast: Forecast, provision: 'forecast' | 'upper'): number {
  return roundTo(provision === 'upper' ? forecast.upper : forecast.forecast, 3);
}

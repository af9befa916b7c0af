import { join } from 'node:path';
import { projectRoot } from '../common/paths.js';
import { roundTo } from '../common/roundTo.js';
import { type ForecastMethod, forecastMethod } from '../model/adaptInput.js';
import type { PlannedLoad } from '../model/decisionRecord.js';
import type { FallbackMethod } from './fallbacks.js';

/** Where the committed LSTM lives (model.json, weights.bin, meta.json, metrics.json). */
export const DEFAULT_MODEL_DIR = join(projectRoot, 'models', 'lstm');

export type { ForecastMethod };
export const FORECAST_METHODS: readonly ForecastMethod[] = forecastMethod.options;

/** λ̂: the expected peak load of the next 20 s, an upper band, and which method answered and why. */
export interface Forecast {
  forecast: number;
  upper: number;
  method: 'lstm' | FallbackMethod;
  reason: string;
}

export type Provision = 'forecast' | 'upper';

/** The load the optimizer is asked to sustain: the forecast or its band, to 3 decimals as decisions record it. */
export function provisionedLoad(forecast: Pick<Forecast, 'forecast' | 'upper'>, provision: Provision): number {
  return roundTo(provision === 'upper' ? forecast.upper : forecast.forecast, 3);
}

/** What a step plans for, from a forecast: its figures to 3 decimals, as decisions record them. */
export function plannedLoad(
  forecast: Pick<Forecast, 'forecast' | 'upper' | 'reason'> & { method: string },
  provision: Provision,
): PlannedLoad {
  return {
    forecast: roundTo(forecast.forecast, 3),
    upper: roundTo(forecast.upper, 3),
    method: forecast.method,
    reason: forecast.reason,
    provisioned: provisionedLoad(forecast, provision),
  };
}

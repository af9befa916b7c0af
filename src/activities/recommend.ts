import { type ForecastMethod, provisionedLoad } from '../forecast/forecast.js';
import type { Decision } from '../model/decision.js';
import type { ForecastSummary } from '../model/decisionRecord.js';
import { roundTo } from '../roundTo.js';
import { forecast } from './forecast.js';
import { type OptimizeInput, optimize } from './optimize.js';

export interface RecommendInput extends Omit<OptimizeInput, 'load'> {
  window: number[];
  method: ForecastMethod;
  /** Provision for the forecast itself or for its upper band. */
  provision: 'forecast' | 'upper';
}

export interface Recommendation {
  forecast: ForecastSummary;
  decision: Decision;
}

/**
 * The recommender of a step, as in the Vertical Pod Autoscaler: from the observed window to the
 * config to run, by forecast and then optimize (each its own module). One local activity for
 * both because every local activity costs the workflow an activation, and at a thousand loops
 * per worker those activations are most of a step's CPU (bench:adapt).
 */
export async function recommend(input: RecommendInput): Promise<Recommendation> {
  const { window, method, provision, ...problem } = input;
  const predicted = await forecast({ window, method });
  const provisioned = provisionedLoad(predicted, provision);
  const decision = await optimize({ ...problem, load: provisioned });
  return {
    forecast: { ...predicted, forecast: roundTo(predicted.forecast, 3), upper: roundTo(predicted.upper, 3), provisioned },
    decision,
  };
}

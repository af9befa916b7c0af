import type { Forecast, ForecastMethod } from '../forecast/forecast.js';
import { Forecaster } from '../forecast/forecaster.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** Loading TensorFlow.js and the model takes a while: once per worker process. */
let forecaster: Promise<Forecaster> | undefined;

export function loadForecaster(): Promise<Forecaster> {
  forecaster ??= Forecaster.load();
  return forecaster;
}

/** λ̂ for the next 20 s from a window of per-second loads. */
export async function forecast(input: { window: number[]; method: ForecastMethod }): Promise<Forecast> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => (await loadForecaster()).predict(input.window, input.method));
}

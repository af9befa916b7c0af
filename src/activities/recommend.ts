import { type Recommendation, type RecommendInput, recommend as recommendConfig } from '../adapt/recommend.js';
import { type ForecastMethod, type Provision, plannedLoad } from '../forecast/forecast.js';
import { Forecaster } from '../forecast/forecaster.js';
import { profileSetByVersion } from '../io/load.js';
import { ValidationError } from '../model/validation.js';
import { withHighsSolver } from '../optimizer/highsSolver.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

export interface RecommendActivityInput extends Omit<RecommendInput, 'profiles' | 'load'> {
  /** The per-second loads observed (the last 120 s). */
  window: number[];
  method: ForecastMethod;
  provision: Provision;
  /** Version (content hash) of the profile set the optimizer reads. */
  profilesVersion: string;
}

/** Loading TensorFlow.js and the model takes a while: once per worker process. */
let forecaster: Promise<Forecaster> | undefined;

export function loadForecaster(): Promise<Forecaster> {
  forecaster ??= Forecaster.load();
  return forecaster;
}

/**
 * The step's forecast and recommendation. One local activity for both because every local
 * activity costs the workflow an activation, and at a thousand loops per worker those activations
 * are most of a step's CPU (bench:adapt).
 */
export async function recommend(input: RecommendActivityInput): Promise<Recommendation> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const { window, method, provision, profilesVersion, ...rest } = input;
    const load = plannedLoad((await loadForecaster()).predict(window, method), provision);
    const profiles = await profileSetByVersion(profilesVersion);
    return withHighsSolver(
      () => recommendConfig({ ...rest, profiles, load }),
      (err) => err instanceof ValidationError,
    );
  });
}

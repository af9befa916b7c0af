import { type ForecastMethod, provisionedLoad } from '../forecast/forecast.js';
import { configOf, type Decision } from '../model/decision.js';
import type { ForecastSummary, Settings } from '../model/decisionRecord.js';
import { changeReason, type RunningEvaluation, stageChanges } from '../optimizer/changeReason.js';
import { roundTo } from '../roundTo.js';
import { forecast } from './forecast.js';
import { type OptimizeInput, optimize } from './optimize.js';

export interface RecommendInput extends Omit<OptimizeInput, 'load' | 'baseline' | 'explain'> {
  window: number[];
  method: ForecastMethod;
  /** Provision for the forecast itself or for its upper band. */
  provision: 'forecast' | 'upper';
  /** The previous step's settings: a changed SLA or objective is part of the reason for a change. */
  previousSettings?: Settings;
}

export interface Recommendation {
  forecast: ForecastSummary;
  decision: Decision;
  /**
   * Why the decision's config replaces the running one, ready for the decision record: each
   * changed stage old → new, and the constraint that forced it or the objective gained (see
   * changeReason). Absent when the config stays.
   */
  changeReason?: string;
}

/** The running config evaluated as it runs at the new load (the static baseline), or why it could not be. */
async function evaluateRunning(problem: Omit<OptimizeInput, 'load'>, load: number): Promise<RunningEvaluation | { error: string }> {
  try {
    return await optimize({ ...problem, load, baseline: 'static', explain: false });
  } catch (err) {
    // A reason is one line: a validation error's issues are listed on lines of their own.
    return { error: (err as Error).message.replace(/:\s*\n\s*/, ': ').replace(/\s*\n\s*/g, '; ') };
  }
}

/**
 * The recommender of a step, as in the Vertical Pod Autoscaler: from the observed window to the
 * config to run, by forecast and then optimize (each its own module). One local activity for
 * both because every local activity costs the workflow an activation, and at a thousand loops
 * per worker those activations are most of a step's CPU (bench:adapt).
 */
export async function recommend(input: RecommendInput): Promise<Recommendation> {
  const { window, method, provision, previousSettings, ...problem } = input;
  const predicted = await forecast({ window, method });
  const provisioned = provisionedLoad(predicted, provision);
  const decision = await optimize({ ...problem, load: provisioned });
  const { current } = problem;
  const changed = !current || stageChanges(current, configOf(decision)).length > 0;
  // Only a change needs the running config evaluated: most steps keep it and pay nothing more.
  const running = changed && current && !decision.fallback ? await evaluateRunning(problem, provisioned) : undefined;
  const reason = changed
    ? changeReason(decision, {
        ...(current ? { current } : {}),
        ...(running ? { running } : {}),
        settings: problem.settings,
        ...(previousSettings ? { previous: previousSettings } : {}),
      })
    : undefined;
  return {
    forecast: { ...predicted, forecast: roundTo(predicted.forecast, 3), upper: roundTo(predicted.upper, 3), provisioned },
    decision,
    ...(reason ? { changeReason: reason } : {}),
  };
}

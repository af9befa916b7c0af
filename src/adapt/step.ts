import type { Observation } from '../activities/observe.js';
import type { ApplyRequest } from '../actuators/actuator.js';
import { roundTo } from '../common/roundTo.js';
import type { ForecastMethod } from '../forecast/forecast.js';
import type { Decision } from '../model/decision.js';
import type { ApplyOutcome, DecisionRecord, WindowSummary } from '../model/decisionRecord.js';
import type { LoopState } from './loopState.js';
import type { Recommendation } from './recommend.js';

/**
 * One adaptation step as pure code: from what the step's activities returned (or how they
 * failed) to its DecisionRecord. The workflow calls the activities and these functions in turn;
 * tests call these alone.
 */

/** An activity's result, or the message of its failure. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: string };

/** What every record of a step starts with. */
export type StepHeader = Omit<DecisionRecord, 'outcome'>;

/** The window a step plans from, or why it cannot plan at all. */
export type StepWindow =
  | {
      loads: number[];
      /** The forecaster to use: the configured one, or `max` over a reused window. */
      method: ForecastMethod;
      observed: WindowSummary;
      /** Fresh loads to keep for the next step; absent when this window is the reused one. */
      fresh?: number[];
      reason?: string;
    }
  | { skip: DecisionRecord };

function summarize(observation: Pick<Observation, 'loads' | 'source'>, stale: boolean): WindowSummary {
  const loads = observation.loads;
  const sum = loads.reduce((t, v) => t + v, 0);
  return {
    source: observation.source,
    seconds: loads.length,
    last: loads[loads.length - 1] ?? 0,
    mean: roundTo(loads.length > 0 ? sum / loads.length : 0, 3),
    max: loads.reduce((m, v) => Math.max(m, v), 0),
    stale,
  };
}

const join = (first: string | undefined, second: string | undefined): string | undefined =>
  first && second ? `${first}; ${second}` : (first ?? second);

/** The observed window, or when observing failed the last good one (forecast by its max: the safe side). */
export function stepWindow(state: LoopState, header: StepHeader, observation: Attempt<Observation>, method: ForecastMethod): StepWindow {
  if (observation.ok)
    return { loads: observation.value.loads, method, observed: summarize(observation.value, false), fresh: observation.value.loads };
  if (!state.lastWindow) {
    return { skip: { ...header, outcome: 'skipped', reason: `observe failed and no earlier window exists: ${observation.error}` } };
  }
  return {
    loads: state.lastWindow,
    method: 'max',
    observed: summarize({ loads: state.lastWindow, source: 'last good window' }, true),
    reason: `observe failed (${observation.error}): reused the last good window with the max forecaster`,
  };
}

/** What a decision record keeps of the optimizer's predictions for its config. */
export function predictedOf(decision: Decision): NonNullable<DecisionRecord['predicted']> {
  const { pas, cost, latencyMs, slackMs, objective } = decision;
  return { pas, cost, latencyMs, slackMs, objective };
}

/** A step either ends here, or applies a config and ends with the apply's outcome. */
export type StepPlan = { record: DecisionRecord } | { apply: ApplyRequest; finish(outcome: Attempt<ApplyOutcome>): DecisionRecord };

export interface PlanOptions {
  actuator: string;
  maxBatchWaitMs: number;
  /**
   * Apply the running config again when it is still the best: for an actuator whose replicas can
   * die under it (the local one), so the next step restores a killed replica. It answers
   * `unchanged` when everything still runs.
   */
  reconcile?: boolean;
}

/**
 * Classifies a step: skipped when recommending failed or nothing can run, unchanged when the
 * running config is still the best, else a change to apply (applied, or fallback when the problem
 * was infeasible; apply-failed when the actuator refused).
 */
export function planStep(
  header: StepHeader,
  window: Exclude<StepWindow, { skip: DecisionRecord }>,
  recommendation: Attempt<Recommendation>,
  options: PlanOptions,
): StepPlan {
  const base = { ...header, observed: window.observed };
  if (!recommendation.ok) {
    return {
      record: {
        ...base,
        outcome: 'skipped',
        reason: join(window.reason, `recommend failed: ${recommendation.error}; the running config stays`),
      },
    };
  }
  const { decision, config, load } = recommendation.value;
  const decided = {
    ...base,
    forecast: load,
    feasible: decision.feasible,
    config,
    predicted: predictedOf(decision),
    solver: { method: decision.solver.method, status: decision.solver.status, timeMs: roundTo(decision.solver.timeMs, 4) },
    explanation: decision.explanation.summary,
  };
  const reason = decision.feasible ? window.reason : join(window.reason, `infeasible: ${decision.explanation.infeasible.join('; ')}`);
  if (config.stages.length === 0) {
    return {
      record: { ...decided, outcome: 'skipped', reason: join(reason, 'no fallback config exists; the running config stays') as string },
    };
  }
  const stillBest = join(reason, recommendation.value.keptReason ?? 'the running config is still the best') as string;
  if (!recommendation.value.changed && !options.reconcile) {
    const apply: ApplyOutcome = { actuator: options.actuator, status: 'skipped', detail: 'same config as running' };
    return { record: { ...decided, outcome: 'unchanged', apply, reason: stillBest } };
  }
  const request: ApplyRequest = {
    decisionId: header.id,
    pipeline: header.pipeline,
    config,
    shapes: recommendation.value.shapes,
    maxBatchWaitMs: options.maxBatchWaitMs,
  };
  return {
    apply: request,
    finish: (outcome) => {
      if (!outcome.ok) {
        const apply: ApplyOutcome = { actuator: options.actuator, status: 'failed', detail: outcome.error };
        return { ...decided, outcome: 'apply-failed', apply, reason: join(reason, `apply failed: ${outcome.error}`) as string };
      }
      if (!recommendation.value.changed) {
        if (outcome.value.status === 'unchanged') return { ...decided, outcome: 'unchanged', apply: outcome.value, reason: stillBest };
        return { ...decided, outcome: 'applied', apply: outcome.value, reason: `${stillBest}; restored: ${outcome.value.detail}` };
      }
      const why = join(reason, recommendation.value.changeReason);
      return { ...decided, outcome: decision.feasible ? 'applied' : 'fallback', apply: outcome.value, ...(why ? { reason: why } : {}) };
    },
  };
}

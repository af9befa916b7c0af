import type { Config } from './config.js';
import type { ObjectiveParts, SolverMethod } from './decision.js';
import type { LoopPolicyName } from './policyName.js';
import type { Settings } from './settings.js';

/** What one step saw: a summary of the per-second window (the window itself is in observe's result). */
export interface WindowSummary {
  source: string;
  seconds: number;
  last: number;
  mean: number;
  max: number;
  /** True when observing failed and the step reused the last good window. */
  stale: boolean;
}

/** What a step planned for: the forecast, its upper band, who answered and why, and the load provisioned. */
export interface PlannedLoad {
  forecast: number;
  upper: number;
  /** A forecaster's method, or `oracle` / `peak` in simulations that know the future. */
  method: string;
  reason: string;
  /** The load the optimizer was asked to sustain (the forecast or its band). */
  provisioned: number;
}

export type { Settings } from './settings.js';

export type StepOutcome = 'applied' | 'unchanged' | 'fallback' | 'apply-failed' | 'skipped';

export interface StageReadiness {
  stage: string;
  ready: number;
  wanted: number;
}

export interface ApplyOutcome {
  actuator: string;
  status: 'applied' | 'unchanged' | 'failed' | 'skipped';
  detail: string;
  /** Per stage, how many replicas of the new config were ready when apply returned. */
  stages?: StageReadiness[];
  /** From the apply's start to the replicas it started serving, ms, where the actuator measures it (local). */
  servingMs?: number;
  /** The rolling-update surge each replaced stage rolled with, where the actuator chose one (kubernetes). */
  rollouts?: { stage: string; maxSurge: number; maxUnavailable: number }[];
  /**
   * What runs when it is less than the decision: replicas capped to what the nodes hold
   * (kubernetes). The loop keeps it as the running config, so a later step asks again for the
   * rest, and gets it once there is room.
   */
  config?: Config;
}

/**
 * The audit record of one adaptation step: enough to answer "why did the pipeline run this at
 * that time" without re-running anything.
 */
export interface DecisionRecord {
  /** `<workflow id>#<step>`: unique across the continue-as-new chain. */
  id: string;
  step: number;
  pipeline: string;
  /** Workflow time of the step's start, ISO 8601. */
  at: string;
  trigger: 'start' | 'timer' | 'signal' | 'resume' | 'update';
  /** Version (content hash) of the profile set the step planned with. */
  profilesVersion: string;
  /** Who decided, when not ipa's optimizer (the workflow's `policy`). */
  policy?: LoopPolicyName;
  /** The loop's interval: when the next step is due (an alert on a stalled loop reads it). Absent in records before it was kept. */
  intervalSeconds?: number;
  observed?: WindowSummary;
  forecast?: PlannedLoad;
  settings: Settings;
  outcome: StepOutcome;
  feasible?: boolean;
  config?: Config;
  predicted?: { pas: number; cost: number; latencyMs: number; slackMs: number; objective: ObjectiveParts };
  solver?: { method: SolverMethod; status: 'optimal' | 'infeasible'; timeMs: number };
  explanation?: string;
  apply?: ApplyOutcome;
  /**
   * Why nothing changed, why the problem was infeasible, or what failed; for an applied or
   * fallback config, each changed stage old → new and the constraint or gain behind it.
   */
  reason?: string;
}

import type { PreparedPipeline } from '../activities/preparePipeline.js';
import type { Config } from '../model/config.js';
import type { DecisionRecord, Settings } from '../model/decisionRecord.js';
import type { HpaRecommendation } from './hpa.js';
import type { PlannedAt } from './reconfigurationRule.js';

export interface Counters {
  steps: number;
  applied: number;
  unchanged: number;
  infeasible: number;
  applyFailures: number;
  staleWindows: number;
  ignoredSignals: number;
}

export interface IgnoredSignal {
  at: string;
  signal: string;
  reason: string;
}

/**
 * Everything one adaptation loop knows between steps; what a run hands the next across
 * continue-as-new. Plain data, changed only by the pure functions below and in step.ts.
 */
export interface LoopState {
  pipeline: PreparedPipeline;
  /** Version (content hash) of the profile set in force: reloadProfiles changes it. */
  profilesVersion: string;
  settings: Settings;
  paused: boolean;
  step: number;
  current?: Config;
  /** The last window observed: reused (with the max forecaster) when observing fails. */
  lastWindow?: number[];
  recent: DecisionRecord[];
  counters: Counters;
  ignored: IgnoredSignal[];
  /** Workflow time the first run began: trace replays are positioned from it. */
  startedAtMs: number;
  run: number;
  /** Whether the config found running at start was adopted, and why (or why not). */
  adoption?: string;
  /** The HPA's recent recommendations per stage (policy hpa): its scale-down stabilisation window. */
  hpaHistory?: Record<string, HpaRecommendation[]>;
  /** The loads planned in the reconfiguration rule's window (src/adapt/reconfigurationRule.ts). */
  plannedWindow?: PlannedAt[];
}

const IGNORED_KEPT = 20;

export function initialState(pipeline: PreparedPipeline, startedAtMs: number): LoopState {
  return {
    pipeline,
    profilesVersion: pipeline.profilesVersion,
    settings: pipeline.settings,
    paused: false,
    step: 0,
    recent: [],
    counters: { steps: 0, applied: 0, unchanged: 0, infeasible: 0, applyFailures: 0, staleWindows: 0, ignoredSignals: 0 },
    ignored: [],
    startedAtMs,
    run: 0,
  };
}

/** The state after a step: its record kept (the last `keep`), counted, and its config running if it applied one (as far as it fit). */
export function afterStep(state: LoopState, record: DecisionRecord, freshWindow: number[] | undefined, keep: number): LoopState {
  const c = state.counters;
  const changed = record.outcome === 'applied' || record.outcome === 'fallback';
  return {
    ...state,
    step: record.step,
    ...(changed && record.config ? { current: record.apply?.config ?? record.config } : {}),
    ...(freshWindow ? { lastWindow: freshWindow } : {}),
    recent: [...state.recent, record].slice(-keep),
    counters: {
      ...c,
      steps: c.steps + 1,
      applied: c.applied + (changed ? 1 : 0),
      unchanged: c.unchanged + (record.outcome === 'unchanged' ? 1 : 0),
      infeasible: c.infeasible + (record.feasible === false ? 1 : 0),
      applyFailures: c.applyFailures + (record.outcome === 'apply-failed' ? 1 : 0),
      staleWindows: c.staleWindows + (record.observed?.stale ? 1 : 0),
    },
  };
}

/** A signal whose payload was refused: counted and kept (the last 20) for `status`, nothing else changes. */
export function withIgnoredSignal(state: LoopState, at: string, signal: string, problems: string[]): LoopState {
  const ignored = { at, signal, reason: problems.join('; ') };
  return {
    ...state,
    counters: { ...state.counters, ignoredSignals: state.counters.ignoredSignals + 1 },
    ignored: [...state.ignored, ignored].slice(-IGNORED_KEPT),
  };
}

/** What the `status` query answers: the loop now, without its history. */
export interface AdaptStatus {
  pipeline: string;
  profilesVersion: string;
  settings: Settings;
  paused: boolean;
  step: number;
  run: number;
  intervalSeconds: number;
  current?: Config;
  lastDecision?: DecisionRecord;
  counters: Counters;
  ignored: IgnoredSignal[];
  adoption?: string;
}

export function statusOf(state: LoopState): AdaptStatus {
  const { pipeline, recent: _recent, lastWindow: _window, startedAtMs: _started, current, adoption, ...rest } = state;
  const last = lastDecision(state);
  return {
    pipeline: pipeline.spec.name,
    intervalSeconds: pipeline.options.intervalSeconds,
    ...rest,
    ...(current ? { current } : {}),
    ...(last ? { lastDecision: last } : {}),
    ...(adoption ? { adoption } : {}),
  };
}

export function lastDecision(state: LoopState): DecisionRecord | undefined {
  return state.recent[state.recent.length - 1];
}

import { policyFor } from '../adapt/policy.js';
import { nearestRank } from '../common/nearestRank.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { HISTORY_SECONDS } from '../forecast/window.js';
import type { DecisionRecord } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { LoopPolicyName } from '../model/policyName.js';
import type { ProfileSet } from '../model/profileSet.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';
import type { LoadPattern, PatternName } from '../simulator/loadPatterns.js';
import {
  defaultEvaluationSettings,
  type EvaluationSettings,
  evaluatePolicy,
  forecastPlannedAt,
  type PolicyRun,
} from '../simulator/policyEvaluation.js';
import type { LiveRunFigures } from './liveRunSummary.js';

/**
 * The simulator's prediction of one live run: the same requests (the replay's send times), the
 * same policy sized for the same peak, the same interval, seed and workflow defaults, and the
 * reconfiguration delay the local actuator measured in that run. Set beside the measured run, it
 * says where the simulator and the real servers part.
 */

/**
 * From a decision to its new replicas serving on the local actuator, when a run measured none:
 * 3.4 s at the median of `npm run bench:serving` on the Intel machine (max 3.7 s), for a scale-up
 * and a variant switch alike (README, "Live pipeline"). The simulator's default of 5 s is a
 * Kubernetes rollout's.
 */
export const LOCAL_RECONFIGURATION_DELAY_SECONDS = 3.5;

/** The reconfiguration delay a simulated run takes, and where it comes from. */
export interface ReconfigurationDelay {
  seconds: number;
  /** Applies of the live run that started replicas and measured their start (0: the constant). */
  measured: number;
}

/**
 * The delay the live loop's applies showed: the median, over the decisions whose apply started
 * replicas, of the actuator's time from the apply's start to them serving. A replica's start is
 * the machine's (3.4 s on one, 14–26 s on a slower one under load), so the simulator of a run
 * takes the run's own; the constant only where no apply started anything.
 */
export function measuredReconfigurationDelay(decisions: readonly DecisionRecord[]): ReconfigurationDelay {
  const ms = decisions.flatMap((d) => (d.apply?.status === 'applied' && d.apply.servingMs !== undefined ? [d.apply.servingMs] : []));
  if (ms.length === 0) return { seconds: LOCAL_RECONFIGURATION_DELAY_SECONDS, measured: 0 };
  const sorted = ms.sort((a, b) => a - b);
  return { seconds: nearestRank(sorted, 0.5) / 1000, measured: sorted.length };
}

/**
 * The replay as the simulator's load pattern, in real seconds: second t holds the requests sent
 * in [t, t + 1) s of the run, `ceil(durationMs / 1000)` seconds. The 120 s of history before it
 * are zeros: the live loop's first step sees an idle gateway (the run starts on a pipeline that
 * was just brought up), so the simulated first decision sees no load either.
 */
export function replayPattern(name: PatternName, sendAtMs: ArrayLike<number>, durationMs: number): LoadPattern {
  const seconds = Math.max(1, Math.ceil(durationMs / 1000 - 1e-9));
  const withHistory = new Int32Array(HISTORY_SECONDS + seconds);
  for (let i = 0; i < sendAtMs.length; i++) {
    const t = Math.floor((sendAtMs[i] as number) / 1000);
    if (t >= 0 && t < seconds) withHistory[HISTORY_SECONDS + t] = (withHistory[HISTORY_SECONDS + t] as number) + 1;
  }
  return { name, loads: withHistory.subarray(HISTORY_SECONDS), withHistory };
}

export interface SimulatedLiveRunInput {
  spec: PipelineSpec;
  profiles: ProfileSet;
  forecaster: Forecaster;
  pattern: PatternName;
  /** The replay's send times (ms from its start, ascending) and its length. */
  sendAtMs: Float64Array;
  durationMs: number;
  policy: LoopPolicyName;
  /** The load rim, static and hpa are sized for: the replay schedule's peak, as the live loop gets it. */
  peakRps: number;
  intervalSeconds: number;
  seed: number;
  /** The HPA's scale-down stabilisation, s (300 s scaled to the run's speed, as the live loop gets it). */
  hpaStabilizationSeconds: number;
  /** From a decision to its new replicas serving, s: measuredReconfigurationDelay of the live run. */
  reconfigurationDelaySeconds: number;
}

export interface SimulatedLiveRun {
  run: PolicyRun;
  settings: EvaluationSettings;
  figures: LiveRunFigures;
}

/**
 * Cores from the simulator's cost rate: every replica costs `cpu × cost.cpu + gpu × cost.gpu`, so
 * on CPU-only shapes (the live testbed's) cores are cost / cost.cpu. A GPU shape would make that
 * wrong, so it is refused.
 */
function coresPerCost(spec: PipelineSpec, profiles: ProfileSet): number {
  const gpu = profiles.shapes.filter((s) => s.gpu > 0).map((s) => s.name);
  const used = new Set(spec.stages.flatMap((s) => s.shapes ?? profiles.shapes.map((h) => h.name)));
  const gpuUsed = gpu.filter((name) => used.has(name));
  if (gpuUsed.length > 0) throw new Error(`simulated core-seconds need CPU-only shapes; ${spec.name} may use ${gpuUsed.join(', ')}`);
  return 1 / spec.cost.cpu;
}

/** Runs the simulator on the live run's requests with the live loop's settings. Pure, apart from the forecaster's model. */
export function simulateLiveRun(input: SimulatedLiveRunInput): SimulatedLiveRun {
  const { spec, profiles } = input;
  const pattern = replayPattern(input.pattern, input.sendAtMs, input.durationMs);
  const settings: EvaluationSettings = {
    ...defaultEvaluationSettings(spec),
    intervalSeconds: input.intervalSeconds,
    reconfigurationDelaySeconds: input.reconfigurationDelaySeconds,
    seed: input.seed,
    // Unused: the arrivals are the replay's own send times.
    arrivals: 'uniform',
  };
  const policy = policyFor(input.policy, problemFromSpec(spec, profiles, input.peakRps), {
    stabilizationMs: input.hpaStabilizationSeconds * 1000,
  });
  const run = evaluatePolicy({
    spec,
    profiles,
    pattern,
    policy,
    // Forecast only at the times the run decides: slow applies skip some intervals.
    planned: forecastPlannedAt(input.forecaster, pattern, settings),
    arrivalsMs: input.sendAtMs,
    settings,
  });
  const seconds = pattern.loads.length;
  const perCore = coresPerCost(spec, profiles);
  let costSeconds = 0;
  for (let t = 0; t < Math.min(seconds, run.series.seconds); t++) costSeconds += run.series.cost[t] as number;
  // Time-weighted like the measured mean PAS: each second with answers counts once, whatever its load.
  const pas = Array.from(run.series.pas.subarray(0, seconds)).filter((v) => Number.isFinite(v));
  return {
    run,
    settings,
    figures: {
      violationsPct: run.summary.violationPercent,
      p99Ms: run.summary.p99Ms,
      coreSeconds: costSeconds * perCore,
      meanPas: pas.length > 0 ? pas.reduce((a, b) => a + b, 0) / pas.length : Number.NaN,
    },
  };
}

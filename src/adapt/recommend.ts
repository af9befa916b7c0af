import type { Config, ShapeResources } from '../model/config.js';
import { type Baseline, configOf, type Decision } from '../model/decision.js';
import type { PlannedLoad, Settings } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import { findShape, type ProfileSet } from '../model/profileSet.js';
import { sameConfig } from '../model/sameConfig.js';
import { changeReason, type RunningEvaluation } from '../optimizer/changeReason.js';
import { decide } from '../optimizer/decide.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';

export interface RecommendInput {
  spec: PipelineSpec;
  profiles: ProfileSet;
  /** What to plan for: the forecast and the load provisioned from it. */
  load: PlannedLoad;
  settings: Settings;
  /** The running config: what baselines are held to, and kept among equally good configs. */
  current?: Config;
  /** The previous step's settings: a changed SLA or objective is part of the reason for a change. */
  previousSettings?: Settings;
  baseline?: Baseline;
  /** Explain the decision and the change (a few more solves); simulations skip it. Default true. */
  explain?: boolean;
}

/** The recommender's answer for one step: what to run, whether that is a change, and why. */
export interface Recommendation {
  load: PlannedLoad;
  decision: Decision;
  /** The decision's config; empty when nothing can run (an infeasible problem without a fallback). */
  config: Config;
  /** Whether `config` differs from the running one (always true without one, false when empty). */
  changed: boolean;
  /** For a change: each changed stage old → new, and the constraint that forced it or the objective gained. */
  changeReason?: string;
  /** Per-replica resources of every shape the config uses. */
  shapes: Record<string, ShapeResources>;
}

/** The running config evaluated as it runs at the new load (the static baseline), or why it could not be. */
function evaluateRunning(input: RecommendInput, current: Config): RunningEvaluation | { error: string } {
  try {
    return decide(problemOf(input), { baseline: 'static', current, explain: false });
  } catch (err) {
    // A reason is one line: a validation error's issues are listed on lines of their own.
    return { error: (err as Error).message.replace(/:\s*\n\s*/, ': ').replace(/\s*\n\s*/g, '; ') };
  }
}

function problemOf({ spec, profiles, load, settings }: RecommendInput) {
  return problemFromSpec(spec, profiles, load.provisioned, settings);
}

/**
 * The recommender, as in the Vertical Pod Autoscaler: from the load a step plans for to the config
 * to run. The adaptation workflow (through its recommend activity) and every simulated policy call
 * it, so a policy in simulation decides exactly as the loop would. Needs HiGHS loaded
 * (withHighsSolver); synchronous, so the simulator can call it between events.
 */
export function recommend(input: RecommendInput): Recommendation {
  const { current, baseline, explain = true } = input;
  const decision = decide(problemOf(input), {
    explain,
    ...(baseline ? { baseline } : {}),
    ...(current ? { current } : {}),
  });
  const config = configOf(decision);
  const changed = config.stages.length > 0 && !sameConfig(current, config);
  // Only a change is explained against the running config: most steps keep it and pay nothing more.
  const running = explain && changed && current && !decision.fallback ? evaluateRunning(input, current) : undefined;
  const reason =
    explain && changed
      ? changeReason(decision, {
          ...(current ? { current } : {}),
          ...(running ? { running } : {}),
          settings: input.settings,
          ...(input.previousSettings ? { previous: input.previousSettings } : {}),
        })
      : undefined;
  const shapes = Object.fromEntries(
    config.stages.map((s) => {
      const shape = findShape(input.profiles, s.shape);
      return [s.shape, { cpu: shape?.cpu ?? 0, gpu: shape?.gpu ?? 0 }];
    }),
  );
  return { load: input.load, decision, config, changed, ...(reason ? { changeReason: reason } : {}), shapes };
}

import type { Config, ShapeResources } from '../model/config.js';
import { type Baseline, configOf, type Decision } from '../model/decision.js';
import type { PlannedLoad, Settings } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { Problem } from '../model/problem.js';
import { findShape, type ProfileSet } from '../model/profileSet.js';
import { sameConfig } from '../model/sameConfig.js';
import { changeReason } from '../optimizer/changeReason.js';
import { decide } from '../optimizer/decide.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';
import { type HpaRecommendation, hpaStep } from './hpa.js';
import type { Policy } from './policy.js';
import { type PlannedAt, plannedWindow, reconfigurationOutcome } from './reconfigurationRule.js';

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
  /**
   * The policy deciding; ipa's optimum when absent. A baseline is held to `held` (or to the running
   * config once it keeps what the baseline fixes); the HPA sets replicas by its rule on `observed`.
   */
  policy?: Pick<Policy, 'name' | 'baseline' | 'held' | 'hpa'>;
  /** Requests per second observed, oldest first: what the HPA measures utilisation on. */
  observed?: readonly number[];
  /** When the step runs, ms (workflow or simulated time): the HPA's stabilisation window is timed by it. */
  atMs?: number;
  /** The HPA's recent recommendations per stage (the previous step's `hpaHistory`). */
  hpaHistory?: Record<string, HpaRecommendation[]>;
  /** The loads planned in the reconfiguration rule's window (the previous step's `plannedWindow`). */
  plannedWindow?: PlannedAt[];
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
  /** The HPA's recommendations to keep for the next step (policy hpa only). */
  hpaHistory?: Record<string, HpaRecommendation[]>;
  /** For the next step's `plannedWindow` (policies the reconfiguration rule applies to). */
  plannedWindow?: PlannedAt[];
  /** Why the running config stays although the optimizer found a better one (the reconfiguration rule). */
  keptReason?: string;
}

/** The HPA reads utilisation averaged over its sync period, 15 s by default. */
export const HPA_METRIC_SECONDS = 15;

/** What a baseline is held to: the running config once it keeps the baseline's fixed parts, else the policy's. */
function heldTo(baseline: Baseline, held: Config, current: Config | undefined): Config {
  if (!current || current.stages.length !== held.stages.length) return held;
  const keeps = held.stages.every((h, i) => {
    const c = current.stages[i];
    if (!c || c.stage !== h.stage) return false;
    if (baseline === 'fa2') return c.variant === h.variant;
    if (baseline === 'rim') return c.replicas === h.replicas;
    return sameConfig({ stages: [c] }, { stages: [h] });
  });
  return keeps ? current : held;
}

/**
 * The HPA's config: the policy's variant, shape and batch per stage, replicas by the HPA rule on the
 * observed load against what those replicas serve by the profile. A stage running something else
 * (the loop just switched to the HPA) counts as one replica, so the rule sizes it from scratch.
 */
function hpaConfig(input: RecommendInput, problem: Problem, policy: Required<Pick<Policy, 'held' | 'hpa'>>) {
  const observed = input.observed ?? [];
  const recent = observed.slice(-HPA_METRIC_SECONDS);
  const load = recent.length > 0 ? recent.reduce((t, v) => t + v, 0) / recent.length : 0;
  const history: Record<string, HpaRecommendation[]> = {};
  const reasons: string[] = [];
  const stages = policy.held.stages.map((h, i) => {
    const running = input.current?.stages[i];
    const keeps = running && running.variant === h.variant && running.shape === h.shape && running.batch === h.batch;
    const row = problem.stages[i]?.variants
      .find((v) => v.name === h.variant)
      ?.shapes.find((x) => x.name === h.shape)
      ?.batches.find((b) => b.batch === h.batch);
    if (!row) throw new Error(`hpa: ${h.variant}/${h.shape} batch ${h.batch} of stage ${h.stage} is not in the profiles`);
    const outcome = hpaStep({
      current: keeps ? running.replicas : 1,
      load,
      capacity: row.throughputRps,
      atMs: input.atMs ?? 0,
      history: input.hpaHistory?.[h.stage] ?? [],
      settings: {
        ...policy.hpa,
        maxReplicas: Math.min(policy.hpa.maxReplicas, problem.stages[i]?.maxReplicas ?? Number.POSITIVE_INFINITY),
      },
    });
    history[h.stage] = outcome.history;
    reasons.push(`${h.stage} ×${outcome.replicas}: ${outcome.reason}`);
    return { ...h, replicas: outcome.replicas };
  });
  return { config: { stages }, history, reason: `hpa at ${load.toFixed(1)} requests/s observed: ${reasons.join('; ')}` };
}

/** A config evaluated as it would run at the step's load, or another (the static baseline), or why it could not be. */
function evaluateConfig(input: RecommendInput, config: Config, load = input.load.provisioned): Decision | { error: string } {
  try {
    return decide(problemOf(input, load), { baseline: 'static', current: config, explain: false });
  } catch (err) {
    // A reason is one line: a validation error's issues are listed on lines of their own.
    return { error: (err as Error).message.replace(/:\s*\n\s*/, ': ').replace(/\s*\n\s*/g, '; ') };
  }
}

function problemOf({ spec, profiles, load, settings }: RecommendInput, at = load.provisioned) {
  return problemFromSpec(spec, profiles, at, settings);
}

/**
 * The recommender, as in the Vertical Pod Autoscaler: from the load a step plans for to the config
 * to run. The adaptation workflow (through its recommend activity) and every simulated policy call
 * it, so a policy in simulation decides exactly as the loop would. Needs HiGHS loaded
 * (withHighsSolver); synchronous, so the simulator can call it between events.
 */
export function recommend(input: RecommendInput): Recommendation {
  const { current, policy, explain = true } = input;
  const problem = problemOf(input);
  const hpa = policy?.hpa && policy.held ? hpaConfig(input, problem, { held: policy.held, hpa: policy.hpa }) : undefined;
  // The HPA's config is evaluated as it would run (the static baseline); a baseline is held to its fixed parts.
  const baseline = hpa ? 'static' : policy?.baseline;
  const held = hpa ? hpa.config : baseline && policy?.held ? heldTo(baseline, policy.held, current) : current;
  const decision = decide(problem, {
    explain,
    ...(baseline ? { baseline } : {}),
    ...(held ? { current: held } : {}),
  });
  const config = configOf(decision);
  const changed = config.stages.length > 0 && !sameConfig(current, config);
  // The rule weighs what a policy may choose: the HPA has its own stabilisation, static chooses
  // nothing, and a running config that breaks a baseline's fixed parts must go whatever it gains.
  const ruled = !hpa && baseline !== 'static' && (!baseline || held === current);
  const running = current && changed && !decision.fallback && (ruled || explain) ? evaluateConfig(input, current) : undefined;
  const window = ruled
    ? plannedWindow(input.plannedWindow ?? [], input.atMs ?? 0, input.load.provisioned, input.spec.reconfiguration.stabilizationSeconds)
    : undefined;
  if (ruled && current && running && !('error' in running) && changed && decision.feasible) {
    const peak = Math.max(...(window ?? []).map((p) => p.load));
    const atPeak = peak > input.load.provisioned ? evaluateConfig(input, config, peak) : decision;
    const outcome = reconfigurationOutcome({
      current,
      proposed: config,
      proposedObjective: decision.objective.value,
      running: { feasible: running.feasible, objective: running.objective.value },
      peak: { load: peak, holds: !('error' in atPeak) && atPeak.feasible },
      rule: input.spec.reconfiguration,
    });
    if (outcome.keep) {
      return {
        ...{ load: input.load, decision: running, config: current, changed: false, shapes: shapesOf(input, current) },
        ...(window ? { plannedWindow: window } : {}),
        keptReason: explain
          ? `${outcome.reason}; the optimum: ${changeReason(decision, { current, running, settings: input.settings })}`
          : outcome.reason,
      };
    }
  }
  return finish(input, decision, config, changed, running, { ...(hpa ? { hpa } : {}), ...(window ? { plannedWindow: window } : {}) });
}

function shapesOf(input: RecommendInput, config: Config): Record<string, ShapeResources> {
  return Object.fromEntries(
    config.stages.map((s) => {
      const shape = findShape(input.profiles, s.shape);
      return [s.shape, { cpu: shape?.cpu ?? 0, gpu: shape?.gpu ?? 0 }];
    }),
  );
}

/** A recommendation of the decided config, with the reason of a change. */
function finish(
  input: RecommendInput,
  decision: Decision,
  config: Config,
  changed: boolean,
  running: Decision | { error: string } | undefined,
  extra: { hpa?: { history: Record<string, HpaRecommendation[]>; reason: string }; plannedWindow?: PlannedAt[] },
): Recommendation {
  const { current, explain = true } = input;
  const { hpa } = extra;
  const reason = hpa
    ? changed
      ? hpa.reason
      : undefined
    : explain && changed
      ? changeReason(decision, {
          ...(current ? { current } : {}),
          ...(running ? { running } : {}),
          settings: input.settings,
          ...(input.previousSettings ? { previous: input.previousSettings } : {}),
        })
      : undefined;
  return {
    ...{ load: input.load, decision, config, changed, shapes: shapesOf(input, config) },
    ...(reason ? { changeReason: reason } : {}),
    ...(hpa ? { hpaHistory: hpa.history } : {}),
    ...(extra.plannedWindow ? { plannedWindow: extra.plannedWindow } : {}),
  };
}

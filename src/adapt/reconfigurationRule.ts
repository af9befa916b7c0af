import { grouped } from '../common/grouped.js';
import type { Config } from '../model/config.js';
import type { ReconfigurationRule } from '../model/pipelineSpec.js';

/**
 * Whether a better config is worth a reconfiguration. Every change is a rollout: new replicas start
 * (seconds on the local actuator, longer on Kubernetes) while the old ones still run and cost, and
 * a switch drops each replica's warm state. The optimizer's objective moves with every wobble of
 * the forecast, so without this rule the loop flaps: to a config that just holds the SLA at a dip
 * of the forecast, and back when the next step plans a little more.
 *
 * The rule, in the spirit of the HPA's scale-down stabilisation (which takes the highest
 * recommendation of its window): a running config that cannot hold the SLA at the planned load is
 * always replaced, so a scale-up the SLA needs is never held back. Any other change must hold the
 * SLA at the highest load planned in the last `stabilizationSeconds` too, and gain at least
 * `switchGain` of objective when it switches a stage's variant, shape, batch or batch timeout, `scaleGain` when
 * it only changes replica counts.
 */

/** A load a step planned for, at its time: the rule's window keeps those of the last stabilizationSeconds. */
export interface PlannedAt {
  atMs: number;
  load: number;
}

export interface RuleInput {
  current: Config;
  proposed: Config;
  /** The objective of the proposed config and of the running one, at the planned load. */
  proposedObjective: number;
  running: { feasible: boolean; objective: number };
  /** The highest load planned in the window, and whether the proposed config holds the SLA at it. */
  peak: { load: number; holds: boolean };
  rule: ReconfigurationRule;
}

/** Why the running config stays, or undefined when the proposed one is worth the change. */
export type RuleOutcome = { keep: false } | { keep: true; reason: string };

/** Objective differences this small are float noise. */
const TIE = 1e-9;

/** Whether any stage changes more than its replica count (a new batch timeout restarts its servers too). */
export function switchesStage(current: Config, proposed: Config): boolean {
  return proposed.stages.some((p) => {
    const c = current.stages.find((s) => s.stage === p.stage);
    return !c || c.variant !== p.variant || c.shape !== p.shape || c.batch !== p.batch || c.batchTimeoutMs !== p.batchTimeoutMs;
  });
}

/** The window after a step at `atMs` planning `load`: the loads planned within the last `seconds`, this one included. */
export function plannedWindow(previous: readonly PlannedAt[], atMs: number, load: number, seconds: number): PlannedAt[] {
  return [...previous.filter((p) => atMs - p.atMs < seconds * 1000 && p.atMs <= atMs), { atMs, load }];
}

export function reconfigurationOutcome(input: RuleInput): RuleOutcome {
  const { running, rule, peak } = input;
  if (!running.feasible) return { keep: false };
  if (!peak.holds) {
    return {
      keep: true,
      reason: `kept: the better config would not hold the SLA at ${grouped(peak.load, 1)} rps, the highest load planned in the last ${grouped(rule.stabilizationSeconds, 0)} s (reconfiguration.stabilizationSeconds)`,
    };
  }
  const switches = switchesStage(input.current, input.proposed);
  const needed = switches ? rule.switchGain : rule.scaleGain;
  const gain = input.proposedObjective - running.objective;
  if (gain < needed - TIE) {
    return {
      keep: true,
      reason: `kept: ${switches ? 'a switch' : 'a replica change'} gains ${Number(gain.toPrecision(3))} of objective, less than the ${Number(needed.toPrecision(3))} it must (reconfiguration.${switches ? 'switchGain' : 'scaleGain'})`,
    };
  }
  return { keep: false };
}

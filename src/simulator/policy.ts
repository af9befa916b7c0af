import type { Config } from '../model/config.js';
import type { Baseline } from '../model/decision.js';
import { configOf } from '../model/decision.js';
import type { Problem, ProblemStage, ProblemVariant } from '../model/problem.js';
import { decide } from '../optimizer/decide.js';

/** The policies a simulation compares (SPEC.md §7), by their report names. */
export const POLICY_NAMES = ['ipa', 'fa2-low', 'fa2-high', 'rim', 'static', 'oracle'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/**
 * How a policy decides, every interval, with the workflow's optimizer: which load it plans for
 * (`forecast`: the forecaster's, provisioned as the workflow does; `oracle`: the true peak of the
 * forecast horizon ahead; `peak`: the whole run's true peak), which baseline constrains it, and the
 * config it starts constrained by (fa2 keeps its variants, rim its replicas).
 */
export interface Policy {
  name: PolicyName;
  load: 'forecast' | 'oracle' | 'peak';
  baseline?: Baseline;
  start?: Config;
  /** Decides once, at the start, and holds that config. */
  once: boolean;
  description: string;
}

const byAccuracy = (a: ProblemVariant, b: ProblemVariant) => a.accuracy - b.accuracy;

/** A stage's least (light) or most (heavy) accurate variant on its first profiled shape. */
function variantConfig(stage: ProblemStage, which: 'light' | 'heavy', replicas = 1): Config['stages'][number] {
  const sorted = [...stage.variants].sort(byAccuracy);
  const variant = (which === 'light' ? sorted[0] : sorted[sorted.length - 1]) as ProblemVariant;
  const shape = variant.shapes.find((h) => h.batches.length > 0);
  if (!shape) throw new Error(`stage ${stage.name}: ${variant.name} has no profiled shape`);
  return { stage: stage.name, variant: variant.name, shape: shape.name, batch: 1, replicas };
}

function fixedVariants(problem: Problem, which: 'light' | 'heavy'): Config {
  return { stages: problem.stages.map((stage) => variantConfig(stage, which)) };
}

/**
 * A policy for a pipeline. `atPeak` is the optimisation problem at the run's true peak load: RIM's
 * fixed replicas are what the light variants need there (IPA's RIM: "many" replicas, enough for
 * the peak, switching variants below it), and static runs IPA's optimum for it throughout.
 */
export function policyFor(name: PolicyName, atPeak: Problem): Policy {
  switch (name) {
    case 'ipa':
      return {
        name,
        load: 'forecast',
        once: false,
        description: 'forecast, then the optimum (the running config kept among equally good ones)',
      };
    case 'oracle':
      return {
        name,
        load: 'oracle',
        once: false,
        description: 'ipa with the true peak of the forecast horizon (the next 20 s) as its forecast',
      };
    case 'fa2-low':
      return {
        name,
        load: 'forecast',
        baseline: 'fa2',
        start: fixedVariants(atPeak, 'light'),
        once: false,
        description: 'FA2 with the least accurate variant of each stage fixed; shape, batch and replicas follow the load',
      };
    case 'fa2-high':
      return {
        name,
        load: 'forecast',
        baseline: 'fa2',
        start: fixedVariants(atPeak, 'heavy'),
        once: false,
        description: 'FA2 with the most accurate variant of each stage fixed; shape, batch and replicas follow the load',
      };
    case 'rim': {
      const light = decide(atPeak, { baseline: 'fa2', current: fixedVariants(atPeak, 'light'), explain: false });
      return {
        name,
        load: 'forecast',
        baseline: 'rim',
        start: configOf(light),
        once: false,
        description:
          "RIM: each stage's replicas fixed at what its least accurate variant needs at the run's peak; variant, shape and batch switch",
      };
    }
    case 'static':
      return { name, load: 'peak', once: true, description: "ipa's optimum for the run's peak load, never changed" };
  }
}

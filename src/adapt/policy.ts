import type { Config } from '../model/config.js';
import type { Baseline } from '../model/decision.js';
import { configOf } from '../model/decision.js';
import { LOOP_POLICIES } from '../model/policyName.js';
import type { Problem, ProblemStage, ProblemVariant } from '../model/problem.js';
import { ValidationError } from '../model/validation.js';
import { decide } from '../optimizer/decide.js';
import { HPA_DEFAULTS, type HpaSettings } from './hpa.js';

/** The policies a simulation compares (SPEC.md §7), by their report names: the loop's, and the oracle. */
export const POLICY_NAMES = [...LOOP_POLICIES, 'oracle'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/**
 * How a policy decides, every interval, with the workflow's recommender: which load it plans for
 * (`forecast`: the forecaster's, provisioned as the workflow does; `oracle`: the true peak of the
 * forecast horizon ahead), which baseline constrains it, and the config it is held to (fa2 keeps
 * its variants, rim its replicas, static everything; the HPA its variants, shapes and batches while
 * its rule sets the replicas).
 */
export interface Policy {
  name: PolicyName;
  load: 'forecast' | 'oracle';
  baseline?: Baseline;
  held?: Config;
  /** The HPA's rule on each stage, with `held`'s variant, shape and batch. */
  hpa?: HpaSettings;
  description: string;
}

const byAccuracy = (a: ProblemVariant, b: ProblemVariant) => a.accuracy - b.accuracy;

/** A stage's config with one variant, on the variant's first profiled shape, batch 1. */
function variantConfig(stage: ProblemStage, variant: ProblemVariant, replicas = 1): Config['stages'][number] {
  const shape = variant.shapes.find((h) => h.batches.length > 0);
  if (!shape) throw new Error(`stage ${stage.name}: ${variant.name} has no profiled shape`);
  return { stage: stage.name, variant: variant.name, shape: shape.name, batch: 1, replicas };
}

function fixedVariants(problem: Problem, which: 'light' | 'heavy'): Config {
  return {
    stages: problem.stages.map((stage) => {
      const sorted = [...stage.variants].sort(byAccuracy);
      return variantConfig(stage, (which === 'light' ? sorted[0] : sorted[sorted.length - 1]) as ProblemVariant);
    }),
  };
}

/** Every choice of one variant per stage, most accurate first (by the sum of the stages' accuracies). */
function variantChoices(problem: Problem): Config[] {
  let choices: Config['stages'][] = [[]];
  for (const stage of problem.stages) {
    choices = choices.flatMap((prefix) => stage.variants.map((v) => [...prefix, variantConfig(stage, v)]));
  }
  const accuracy = (stages: Config['stages']) =>
    stages.reduce((sum, s, i) => sum + (problem.stages[i]?.variants.find((v) => v.name === s.variant)?.accuracy ?? 0), 0);
  return choices.sort((a, b) => accuracy(b) - accuracy(a)).map((stages) => ({ stages }));
}

/** The problem with each stage cut down to one variant on one shape. */
function restricted(problem: Problem, choice: { variant: string; shape: string }[]): Problem {
  return {
    ...problem,
    stages: problem.stages.map((stage, i) => ({
      ...stage,
      variants: stage.variants
        .filter((v) => v.name === choice[i]?.variant)
        .map((v) => ({ ...v, shapes: v.shapes.filter((h) => h.name === choice[i]?.shape) })),
    })),
  };
}

/** Every choice of one profiled shape per stage for the given variants, fewest cores first. */
function shapeChoices(problem: Problem, variants: Config): { variant: string; shape: string; cpu: number }[][] {
  let choices: { variant: string; shape: string; cpu: number }[][] = [[]];
  variants.stages.forEach((s, i) => {
    const variant = problem.stages[i]?.variants.find((v) => v.name === s.variant);
    const shapes = (variant?.shapes ?? []).filter((h) => h.batches.length > 0);
    choices = choices.flatMap((prefix) => shapes.map((h) => [...prefix, { variant: s.variant, shape: h.name, cpu: h.cpu + 10 * h.gpu }]));
  });
  const cores = (c: { cpu: number }[]) => c.reduce((t, x) => t + x.cpu, 0);
  return choices.sort((a, b) => cores(a) - cores(b));
}

/**
 * The HPA's fixed part, as a platform team would pick it: the most accurate variants whose
 * replicas can carry the peak at the HPA's target utilisation within the replica limit and the
 * SLA, each on the smallest shape that does (small pods leave the HPA room to scale), with the
 * batch the optimizer gives them there.
 */
function hpaConfig(atPeak: Problem, settings: HpaSettings): Config {
  // Its batch timeouts let a batch fill at the mean rate, as the HPA's throughput target assumes
  // full batches: a burst's shorter ones (fillRateRps) would send them out partial between bursts.
  const load = atPeak.load / settings.target;
  const sized = { ...atPeak, load, batchFillRps: load };
  for (const variants of variantChoices(sized)) {
    for (const shapes of shapeChoices(sized, variants)) {
      const decision = decide(restricted(sized, shapes), { explain: false });
      if (decision.feasible) return configOf(decision);
    }
  }
  throw new ValidationError('policy hpa', [
    {
      path: 'peakRps',
      message: `no choice of variants carries ${atPeak.load} requests/s at ${settings.target * 100} % utilisation within the limits and the SLA`,
    },
  ]);
}

/**
 * A policy for a pipeline. `atPeak` is the optimisation problem at the run's peak load: RIM's
 * fixed replicas are what the light variants need there (IPA's RIM: "many" replicas, enough for
 * the peak, switching variants below it), static runs IPA's optimum for it throughout, and the
 * HPA's variants are chosen for it.
 */
export function policyFor(name: PolicyName, atPeak: Problem, hpa: Partial<HpaSettings> = {}): Policy {
  switch (name) {
    case 'ipa':
      return { name, load: 'forecast', description: 'forecast, then the optimum (the running config kept among equally good ones)' };
    case 'oracle':
      return { name, load: 'oracle', description: 'ipa with the true peak of the forecast horizon (the next 20 s) as its forecast' };
    case 'fa2-low':
      return {
        name,
        load: 'forecast',
        baseline: 'fa2',
        held: fixedVariants(atPeak, 'light'),
        description: 'FA2 with the least accurate variant of each stage fixed; shape, batch and replicas follow the load',
      };
    case 'fa2-high':
      return {
        name,
        load: 'forecast',
        baseline: 'fa2',
        held: fixedVariants(atPeak, 'heavy'),
        description: 'FA2 with the most accurate variant of each stage fixed; shape, batch and replicas follow the load',
      };
    case 'rim': {
      const light = decide(atPeak, { baseline: 'fa2', current: fixedVariants(atPeak, 'light'), explain: false });
      return {
        name,
        load: 'forecast',
        baseline: 'rim',
        held: configOf(light),
        description:
          "RIM: each stage's replicas fixed at what its least accurate variant needs at the run's peak; variant, shape and batch switch",
      };
    }
    case 'static':
      return {
        name,
        load: 'forecast',
        baseline: 'static',
        held: configOf(decide(atPeak, { explain: false })),
        description: "ipa's optimum for the run's peak load, never changed",
      };
    case 'hpa': {
      const settings = { ...HPA_DEFAULTS, maxReplicas: atPeak.limits.maxReplicas, ...hpa };
      const held = hpaConfig(atPeak, settings);
      return {
        name,
        load: 'forecast',
        held,
        hpa: settings,
        description:
          `the Kubernetes HPA's rule on each stage at ${settings.target * 100} % of a replica's profiled throughput, ` +
          `scale-down stabilised over ${settings.stabilizationMs / 1000} s, with fixed ` +
          `${held.stages.map((s) => `${s.variant}/${s.shape} batch ${s.batch}`).join(', ')} (the most accurate variants that carry the peak, on the smallest shapes that do)`,
      };
    }
  }
}

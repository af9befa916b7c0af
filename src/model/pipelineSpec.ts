import { z } from 'zod';
import {
  dnsLabel,
  noDuplicates,
  nonNegativeNumber,
  overheadWithinSla,
  percentile,
  positiveInt,
  positiveNumber,
  variantName,
} from './fields.js';
import { findShape, findVariant, type ProfileSet } from './profileSet.js';
import { PAS_METHODS } from './settings.js';
import { parseWith, show, ValidationError, type ValidationIssue } from './validation.js';

export type { PasMethod } from './settings.js';

/** How per-stage accuracies combine into the pipeline accuracy score (PAS): one of PAS_METHODS. */
export const pasMethod = z.enum(PAS_METHODS);

/**
 * How requests arrive within a second, which decides the queueing the optimizer plans for.
 * `steady` (IPA's model): at an even rate, so a batch of b waits (b − 1)/λ to fill and replicas
 * just need λ of capacity. `poisson`: independently at rate λ (most live traffic), so batches
 * also wait for a free replica, as in an M/M/c queue at the profile's throughput, and spare
 * replicas buy that wait down. `poisson-mgc`: the same arrivals in an M/G/c queue whose batch
 * times have the profile's p50/p99 spread and mean, as the simulator serves them (M/M/c overstates
 * the wait of near-constant batch times about twice). `bursty`: a second's requests come together
 * (as IPA's load generator sends them), so a stage serves them in waves of replicas × batch, and
 * the last request of a second waits for all the waves before its own.
 */
export const arrivalPattern = z.enum(['steady', 'poisson', 'poisson-mgc', 'bursty']);
export type ArrivalPattern = z.infer<typeof arrivalPattern>;

/** Weights of `α·PAS − β·cost − γ·Σbatch`. */
export const objectiveWeights = z.strictObject({
  alpha: nonNegativeNumber.default(1),
  beta: nonNegativeNumber.default(0.01),
  gamma: nonNegativeNumber.default(1e-6),
});
export type ObjectiveWeights = z.output<typeof objectiveWeights>;

const limits = z.strictObject({
  maxReplicas: positiveInt.default(20),
  maxBatch: positiveInt.default(8),
  /** Batch timeout: a partial batch is sent after this wait, so it caps the batching delay. */
  maxBatchWaitMs: positiveNumber.default(1000),
});

/** When a better config is worth a reconfiguration (src/adapt/reconfigurationRule.ts says how). */
export const reconfigurationRule = z.strictObject({
  /** A change the SLA does not force must also hold it at the highest load planned in this many seconds (the HPA's window is 300 s). */
  stabilizationSeconds: nonNegativeNumber.default(60),
  /** The objective a change must gain when it switches a stage's variant, shape, batch or batch timeout. */
  switchGain: nonNegativeNumber.default(0.001),
  /** The objective a change of replica counts alone must gain. */
  scaleGain: nonNegativeNumber.default(0),
});
export type ReconfigurationRule = z.output<typeof reconfigurationRule>;

const stage = z.strictObject({
  name: dnsLabel,
  task: z.string().min(1),
  /** The variants the optimizer may choose from; each must be profiled for `task`. */
  variants: z
    .array(variantName)
    .min(1)
    .superRefine(noDuplicates('variant', (v) => v, { arrayPath: 'variants' })),
  /** The shapes a replica may take; all profiled shapes when absent. */
  shapes: z.array(dnsLabel).min(1).optional(),
  /** Per-stage limits override the pipeline's. */
  maxReplicas: positiveInt.optional(),
  maxBatch: positiveInt.optional(),
});

const pipelineSpecSchema = z
  .strictObject({
    name: dnsLabel,
    description: z.string().optional(),
    /** The profile set (by name) the pipeline is planned with unless a workflow names another. */
    profiles: dnsLabel.optional(),
    /** End-to-end latency bound for the whole pipeline, in ms. */
    slaMs: positiveNumber,
    /**
     * Latency the serving path adds outside the stages' model servers, at the SLA's percentile, in
     * ms: the gateway's handling, the client's HTTP and the loopback hop. Profiles time the model
     * servers alone (IPA's too), so the plan keeps this much of the SLA free.
     */
    overheadMs: nonNegativeNumber.default(0),
    latencyPercentile: percentile.default('p99'),
    arrivals: arrivalPattern.default('poisson'),
    pas: pasMethod.default('multiply'),
    objective: objectiveWeights.default({ alpha: 1, beta: 0.01, gamma: 1e-6 }),
    /** Price of one core and one GPU per replica, in the unit the objective's β weighs. */
    cost: z.strictObject({ cpu: nonNegativeNumber, gpu: nonNegativeNumber }).default({ cpu: 1, gpu: 10 }),
    limits: limits.default({ maxReplicas: 20, maxBatch: 8, maxBatchWaitMs: 1000 }),
    reconfiguration: reconfigurationRule.default({ stabilizationSeconds: 60, switchGain: 0.001, scaleGain: 0 }),
    stages: z
      .array(stage)
      .min(1, 'a pipeline needs at least one stage')
      .superRefine(noDuplicates('stage', (s) => s.name, { arrayPath: 'stages', field: 'name' })),
  })
  .superRefine(overheadWithinSla);

export type PipelineSpec = z.output<typeof pipelineSpecSchema>;
export type StageSpec = PipelineSpec['stages'][number];

export function parsePipelineSpec(input: unknown, source = 'pipeline spec'): PipelineSpec {
  return parseWith(pipelineSpecSchema, input, source);
}

/**
 * Checks that every variant and shape a spec names is in the profile set, for the stage's task:
 * a spec is only meaningful together with the profiles the optimizer will read.
 */
export function checkPipelineAgainstProfiles(spec: PipelineSpec, profiles: ProfileSet, source = 'pipeline spec'): void {
  const issues: ValidationIssue[] = [];
  spec.stages.forEach((s, i) => {
    const known = profiles.variants.filter((v) => v.task === s.task);
    if (known.length === 0) {
      const tasks = [...new Set(profiles.variants.map((v) => v.task))].join(', ');
      issues.push({ path: `stages[${i}].task`, message: `unknown task ${show(s.task)} (profile set has: ${tasks})` });
      return;
    }
    s.variants.forEach((name, j) => {
      const variant = findVariant(profiles, name);
      const path = `stages[${i}].variants[${j}]`;
      if (!variant) {
        issues.push({
          path,
          message: `unknown variant ${show(name)} (task ${show(s.task)} has: ${known.map((v) => v.variant).join(', ')})`,
        });
      } else if (variant.task !== s.task) {
        issues.push({ path, message: `variant ${show(name)} does ${show(variant.task)}, not ${show(s.task)}` });
      }
    });
    s.shapes?.forEach((name, j) => {
      if (!findShape(profiles, name)) {
        issues.push({
          path: `stages[${i}].shapes[${j}]`,
          message: `unknown shape ${show(name)} (profile set has: ${profiles.shapes.map((h) => h.name).join(', ')})`,
        });
      }
    });
  });
  if (issues.length > 0) throw new ValidationError(`${source} (against profile set ${profiles.name} ${profiles.version})`, issues);
}

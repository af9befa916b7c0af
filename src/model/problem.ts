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
import { arrivalPattern, pasMethod } from './pipelineSpec.js';
import { parseWith } from './validation.js';

/**
 * One self-contained optimisation instance: everything the optimizer reads, with latencies
 * already at the SLA's percentile. `ipa optimize --instance FILE` takes this format, and a
 * pipeline spec plus a profile set and a load are turned into it.
 */
const batchRow = z
  .strictObject({
    batch: positiveInt,
    latencyMs: positiveNumber,
    throughputRps: positiveNumber,
    /** The batch time's median and 99th percentile, one at a time: `poisson-mgc` fits its spread to them. */
    p50Ms: positiveNumber.optional(),
    p99Ms: positiveNumber.optional(),
  })
  .superRefine((row, ctx) => {
    if (row.p50Ms !== undefined && row.p99Ms !== undefined && row.p99Ms < row.p50Ms) {
      ctx.addIssue({ code: 'custom', path: ['p99Ms'], message: `p99Ms ${row.p99Ms} is below p50Ms ${row.p50Ms}` });
    }
  });

const shapeRows = z.strictObject({
  name: dnsLabel,
  cpu: nonNegativeNumber,
  gpu: nonNegativeNumber,
  /** Empty when the variant was never profiled on this shape (kept to explain why it is out). */
  batches: z.array(batchRow).superRefine((rows, ctx) => {
    rows.forEach((row, i) => {
      const previous = rows[i - 1];
      if (previous && row.batch <= previous.batch) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'batch'],
          message: `batch rows must be in increasing order, got batch ${row.batch} after ${previous.batch}`,
        });
      }
    });
  }),
});

const variantRows = z.strictObject({
  name: variantName,
  /** Accuracy in percent, as published for the variant. */
  accuracy: z.number().min(0).max(100),
  shapes: z
    .array(shapeRows)
    .min(1)
    .superRefine(noDuplicates('shape', (s) => s.name, { arrayPath: 'shapes', field: 'name' })),
});

const stage = z.strictObject({
  name: dnsLabel,
  variants: z
    .array(variantRows)
    .min(1, 'a stage needs at least one variant')
    .superRefine(noDuplicates('variant', (v) => v.name, { arrayPath: 'variants', field: 'name' })),
  maxReplicas: positiveInt.optional(),
  maxBatch: positiveInt.optional(),
});

export const problemSchema = z
  .strictObject({
    name: z.string().optional(),
    slaMs: positiveNumber,
    /** Latency of the serving path outside the stages (gateway, client HTTP) at the SLA's percentile, ms; 0 when absent. */
    overheadMs: nonNegativeNumber.optional(),
    /** Arrival rate λ in requests/s the config must sustain (the forecast). */
    load: nonNegativeNumber,
    /** `steady` when absent (IPA's model); see the pipeline spec's `arrivals`. */
    arrivals: arrivalPattern.optional(),
    /**
     * The rate (requests/s) batches are taken to fill at when each option's batch timeout is sized:
     * λ when absent, λ² with bursty arrivals (a burst starts at that rate; options.ts, fillRateRps).
     */
    batchFillRps: positiveNumber.optional(),
    /** The percentile the latencies are at (p99 when absent): queued arrivals add a queue wait at the same one. */
    latencyPercentile: percentile.optional(),
    objective: z.strictObject({
      alpha: nonNegativeNumber,
      beta: nonNegativeNumber,
      gamma: nonNegativeNumber,
      accuracy: pasMethod,
    }),
    limits: z.strictObject({
      maxReplicas: positiveInt,
      maxBatch: positiveInt,
      maxBatchWaitMs: nonNegativeNumber,
    }),
    cost: z.strictObject({ cpu: nonNegativeNumber, gpu: nonNegativeNumber }),
    stages: z
      .array(stage)
      .min(1, 'a pipeline needs at least one stage')
      .superRefine(noDuplicates('stage', (s) => s.name, { arrayPath: 'stages', field: 'name' })),
  })
  .superRefine((problem, ctx) => {
    overheadWithinSla(problem, ctx);
    if (problem.arrivals !== 'poisson-mgc') return;
    for (const [s, stage] of problem.stages.entries()) {
      for (const [v, variant] of stage.variants.entries()) {
        for (const [h, shape] of variant.shapes.entries()) {
          for (const [b, row] of shape.batches.entries()) {
            for (const field of ['p50Ms', 'p99Ms'] as const) {
              if (row[field] !== undefined) continue;
              ctx.addIssue({
                code: 'custom',
                path: ['stages', s, 'variants', v, 'shapes', h, 'batches', b, field],
                message: `arrivals poisson-mgc fits the batch time to p50Ms and p99Ms; ${variant.name}/${shape.name} batch ${row.batch} has no ${field}`,
              });
            }
          }
        }
      }
    }
  });

export type Problem = z.output<typeof problemSchema>;
export type ProblemStage = Problem['stages'][number];
export type ProblemVariant = ProblemStage['variants'][number];
export type ProblemShape = ProblemVariant['shapes'][number];

export function parseProblem(input: unknown, source = 'optimisation instance'): Problem {
  return parseWith(problemSchema, input, source);
}

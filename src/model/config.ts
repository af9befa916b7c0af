import { z } from 'zod';
import { dnsLabel, noDuplicates, nonNegativeNumber, positiveInt, variantName } from './fields.js';
import { parseWith } from './validation.js';

/** What runs (or should run) for one stage. */
const stageConfig = z.strictObject({
  stage: dnsLabel,
  variant: variantName,
  shape: dnsLabel,
  batch: positiveInt,
  replicas: positiveInt,
  /**
   * How long a partial batch waits before it is served, ms: the optimizer's choice for a batch
   * above 1. Absent (batch 1, or a config written by hand or before ipa chose it): the spec's
   * `limits.maxBatchWaitMs`.
   */
  batchTimeoutMs: nonNegativeNumber.optional(),
});

/** A config: the chosen option and replica count of every stage, in pipeline order. */
export const configSchema = z.strictObject({
  stages: z
    .array(stageConfig)
    .min(1)
    .superRefine(noDuplicates('stage', (s) => s.stage, { arrayPath: 'stages', field: 'stage' })),
});

export type Config = z.output<typeof configSchema>;
export type StageConfig = Config['stages'][number];

/** Per-replica resources of a shape, as the profile set describes it (what Kubernetes requests per pod). */
export interface ShapeResources {
  cpu: number;
  gpu: number;
}

export function parseConfig(input: unknown, source = 'config'): Config {
  return parseWith(configSchema, input, source);
}

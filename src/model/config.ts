import { z } from 'zod';
import { dnsLabel, noDuplicates, positiveInt, variantName } from './fields.js';
import { parseWith } from './validation.js';

/** What runs (or should run) for one stage. */
const stageConfig = z.strictObject({
  stage: dnsLabel,
  variant: variantName,
  shape: dnsLabel,
  batch: positiveInt,
  replicas: positiveInt,
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

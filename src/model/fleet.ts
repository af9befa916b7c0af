import { z } from 'zod';
import { nonNegativeNumber, positiveNumber } from './fields.js';
import { problemSchema } from './problem.js';
import { parseWith } from './validation.js';

/** A pipeline of a fleet: a full instance, or a spec and profile set by name at a load. */
const fleetPipeline = z.union([
  problemSchema,
  z.strictObject({
    pipeline: z.string().min(1),
    profiles: z.string().min(1).optional(),
    load: nonNegativeNumber,
    slaMs: positiveNumber.optional(),
  }),
]);

/** Several pipelines sharing one cluster's capacity (`ipa optimize --fleet FILE`). */
export const fleetSchema = z.strictObject({
  capacity: z.strictObject({ cpu: nonNegativeNumber, gpu: nonNegativeNumber }),
  pipelines: z.array(fleetPipeline).min(1, 'a fleet needs at least one pipeline'),
});

export type FleetFile = z.output<typeof fleetSchema>;
export type FleetPipelineRef = Extract<FleetFile['pipelines'][number], { pipeline: string }>;

export function parseFleet(input: unknown, source = 'fleet'): FleetFile {
  return parseWith(fleetSchema, input, source);
}

import { z } from 'zod';
import { TASK_QUEUES } from '../temporal/taskQueues.js';
import { dnsLabel, noDuplicates, percentile, positiveInt, positiveNumber, variantName } from './fields.js';
import type { ProfileRow, Shape } from './profileSet.js';
import { parseWith } from './validation.js';

/**
 * `cpu-N` (N whole cores), `cpu-Nm` (N millicores, a CPU limit as Kubernetes spells it: cpu-250m
 * is a quarter core) or `gpu-NAME` (one accelerator NAME): the resource shapes a profile can be
 * measured on.
 */
export const shapeName = z
  .string()
  .regex(
    /^(cpu-[1-9][0-9]*m?|gpu-[a-z0-9]([a-z0-9-]*[a-z0-9])?)$/,
    'must be "cpu-N" (N cores), "cpu-Nm" (N millicores) or "gpu-NAME" (one GPU)',
  );

/** An inference server someone else runs (Triton, KServe, MLServer…), profiled as it is. */
export const endpointSpec = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1),
  /** It is meant to be running already: a short wait covers a restart, a long one only delays the failure. */
  readyTimeoutSeconds: positiveNumber.default(30),
});
export type EndpointSpec = z.output<typeof endpointSpec>;

/** How one variant is measured; shared by every (variant, shape) child of a run. */
export const measurementSettings = z.strictObject({
  /** Batch sizes to measure: one row each. A request carries a whole batch, so the model sees exactly that batch. */
  batches: z
    .array(positiveInt)
    .min(1)
    .default([1, 2, 4, 8])
    .superRefine(noDuplicates('batch', (b) => String(b), { arrayPath: 'batches' })),
  /** The latency percentile that must stay within the bound at the reported rate. */
  percentile: percentile.default('p99'),
  latencyBoundMs: positiveNumber.default(1000),
  /** Length of each load probe of the rate search. */
  probeSeconds: positiveNumber.max(600).default(5),
  warmupSeconds: z.number().min(0).max(600).default(2),
  /** Open-loop probes per batch size after the saturation run. */
  searchSteps: positiveInt.max(20).default(5),
  /** Model-server settings for servers ipa starts (the testbed): MLServer adaptive batching and readiness. */
  server: z
    .strictObject({
      maxBatchSize: positiveInt.default(1),
      batchTimeoutMs: z.number().min(0).default(0),
      readyTimeoutSeconds: positiveNumber.default(120),
    })
    .default({ maxBatchSize: 1, batchTimeoutMs: 0, readyTimeoutSeconds: 120 }),
  /** Attempts per variant before it is reported as failed. */
  attempts: positiveInt.max(20).default(3),
});
export type MeasurementSettings = z.output<typeof measurementSettings>;

export const profilingRequestSchema = z
  .strictObject({
    /** Pipeline spec: a name under profiles/pipelines, a path, or the spec itself. */
    pipeline: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    shapes: z
      .array(shapeName)
      .min(1)
      .default(['cpu-1'])
      .superRefine(noDuplicates('shape', (s) => s, { arrayPath: 'shapes' })),
    /** Only these variants (all the pipeline's when absent). */
    variants: z.array(variantName).min(1).optional(),
    /** Variants served elsewhere; every other variant is served from the MLServer testbed. */
    endpoints: z.record(variantName, endpointSpec).default({}),
    /** Accuracy (%) of variants that are neither in the testbed nor in an earlier profile set. */
    accuracy: z.record(variantName, z.number().min(0).max(100)).default({}),
    /** Children measuring at once per hardware queue: more than 1 shares a node's cores between measurements. */
    parallelism: z.strictObject({ cpu: positiveInt.default(1), gpu: positiveInt.default(1) }).default({ cpu: 1, gpu: 1 }),
    /** Name of the profile set written; the pipeline's `profiles`, else its name. */
    name: dnsLabel.optional(),
    /** Send `reloadProfiles` to the running adaptPipeline workflows of the pipeline. */
    reload: z.boolean().default(true),
  })
  .extend(measurementSettings.shape);

export type ProfilingRequestFields = z.input<typeof profilingRequestSchema>;
export type ProfilingRequest = z.output<typeof profilingRequestSchema>;

export function parseProfilingRequest(input: unknown, source = 'profilePipeline input'): ProfilingRequest {
  return parseWith(profilingRequestSchema, input, source);
}

/** One child of a profiling run: a variant on a shape, measured on the queue that has the hardware. */
export interface ProfileJob {
  stage: string;
  task: string;
  variant: string;
  shape: string;
  queue: string;
  endpoint?: EndpointSpec;
  settings: MeasurementSettings;
}

/** A batch size whose latency bound could not be met at any rate tried. */
export interface SkippedBatch {
  batch: number;
  reason: string;
}

export interface HostInfo {
  name: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  gpu?: string;
}

/** What a profileVariant child returns. */
export interface VariantMeasurement {
  stage: string;
  task: string;
  variant: string;
  shape: string;
  rows: ProfileRow[];
  skipped: SkippedBatch[];
  /** Held-out accuracy, when the server is ipa's testbed (other servers' variants take it from the request or an earlier set). */
  accuracy?: { percent: number; metric: string };
  /** Facts a reader of the profile needs, e.g. that a GPU shape was measured without a GPU. */
  notes: string[];
  /** Where it ran: queue, worker identity, host, the model server's name and version. */
  measuredBy: { queue: string; worker: string; host: HostInfo; server: { name: string; version: string } };
}

export interface FailedJob {
  stage: string;
  variant: string;
  shape: string;
  error: string;
}

/** The shape a name stands for; a GPU shape also gets 4 cores, as on the measured H200 nodes. */
export function shapeFromName(name: string): Shape {
  const cores = /^cpu-([0-9]+)(m?)$/.exec(name);
  if (cores) return { name, cpu: Number(cores[1]) / (cores[2] ? 1000 : 1), gpu: 0 };
  return { name, cpu: 4, gpu: 1, accelerator: name.slice('gpu-'.length) };
}

/** GPU shapes are measured by workers on GPU nodes (`ipa worker --queues profile-gpu`). */
export function queueOfShape(shape: string): string {
  return shape.startsWith('gpu-') ? TASK_QUEUES['profile-gpu'] : TASK_QUEUES['profile-cpu'];
}

/** A profile set a run wrote: where, under which version, how much it holds. */
export interface WrittenProfileSet {
  name: string;
  version: string;
  path: string;
  variants: number;
  rows: number;
}

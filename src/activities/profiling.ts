import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { pipelineSpecOf, resolveProfileSet } from '../io/load.js';
import type { ProfileSet } from '../model/profileSet.js';
import {
  type HostInfo,
  type ProfileJob,
  parseProfilingRequest,
  queueOfShape,
  shapeFromName,
  type VariantMeasurement,
} from '../model/profilingRun.js';
import { ValidationError } from '../model/validation.js';
import { profileSetsDir } from '../paths.js';
import { type InferenceEndpoint, waitUntilReady } from '../profiling/inferenceEndpoint.js';
import { type BatchProgress, measureBatches } from '../profiling/measureVariant.js';
import { mergeProfileSet, type ProfilingOutcome } from '../profiling/profileSetMerge.js';
import { ensureTestbed, startModelServer } from '../profiling/testbed.js';
import { ipaVersion } from '../version.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** A profiling run checked and broken into children; what the parent workflow iterates over. */
export interface ProfilingPlan {
  pipeline: string;
  /** The profile set written. */
  name: string;
  jobs: ProfileJob[];
  parallelism: { cpu: number; gpu: number };
  accuracy: Record<string, number>;
  reload: boolean;
}

/** Validates a profilePipeline input and lists its (stage, variant, shape) children. */
export async function planProfiling(input: unknown): Promise<ProfilingPlan> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const { pipeline, shapes, variants, endpoints, accuracy, parallelism, name, reload, ...settings } = parseProfilingRequest(input);
    const spec = await pipelineSpecOf(pipeline);
    const inPipeline = new Set(spec.stages.flatMap((s) => s.variants));
    const issues = [
      ...(variants ?? [])
        .filter((v) => !inPipeline.has(v))
        .map((v) => ({ path: 'variants', message: `${JSON.stringify(v)} is not a variant of pipeline ${spec.name}` })),
      ...Object.keys(endpoints)
        .filter((v) => !inPipeline.has(v))
        .map((v) => ({ path: `endpoints.${v}`, message: `${JSON.stringify(v)} is not a variant of pipeline ${spec.name}` })),
    ];
    if (issues.length > 0) throw new ValidationError('profilePipeline input', issues);
    const wanted = variants ? new Set(variants) : inPipeline;
    const jobs = spec.stages.flatMap((stage) =>
      stage.variants
        .filter((variant) => wanted.has(variant))
        .flatMap((variant) =>
          shapes.map(
            (shape): ProfileJob => ({
              stage: stage.name,
              task: stage.task,
              variant,
              shape,
              queue: queueOfShape(shape),
              ...(endpoints[variant] ? { endpoint: endpoints[variant] } : {}),
              settings,
            }),
          ),
        ),
    );
    return { pipeline: spec.name, name: name ?? spec.profiles ?? spec.name, jobs, parallelism, accuracy, reload };
  });
}

function hostInfo(): HostInfo {
  const cores = cpus();
  return {
    name: hostname(),
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The OIP v2 server metadata (`GET /v2`): its name and version go into the profile's software list. */
async function serverMetadata(baseUrl: string): Promise<{ name: string; version: string }> {
  try {
    const response = await fetch(`${baseUrl}/v2`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { name?: string; version?: string };
    return { name: body.name ?? 'unknown', version: body.version ?? 'unknown' };
  } catch {
    return { name: 'unknown', version: 'unknown' };
  }
}

interface Served {
  endpoint: InferenceEndpoint;
  accuracy?: VariantMeasurement['accuracy'];
  stop(): Promise<void>;
}

/** Waits for someone else's server; it is theirs, so stopping it is a no-op. */
async function attach(job: ProfileJob, signal: AbortSignal): Promise<Served> {
  const { url, model, readyTimeoutSeconds } = job.endpoint as NonNullable<ProfileJob['endpoint']>;
  const endpoint = { baseUrl: url.replace(/\/+$/, ''), model };
  if (!(await waitUntilReady(endpoint, { timeoutMs: readyTimeoutSeconds * 1000, signal }))) {
    throw new Error(`model ${model} at ${url} was not ready within ${readyTimeoutSeconds} s`);
  }
  return { endpoint, stop: async () => {} };
}

/** Starts the testbed's server for the variant on the shape's cores. */
async function serve(job: ProfileJob, cores: number[] | undefined, signal: AbortSignal): Promise<Served> {
  const bed = await ensureTestbed();
  const known = bed.variants.find((v) => v.name === job.variant);
  if (!known) {
    throw new ValidationError(`profile ${job.variant}`, [
      {
        path: 'variant',
        message: `${JSON.stringify(job.variant)} is not served by the testbed (${bed.variants.map((v) => v.name).join(', ')}); give its server with endpoints`,
      },
    ]);
  }
  const { metric } = JSON.parse(await readFile(join(bed.modelsDir, job.variant, 'accuracy.json'), 'utf8')) as { metric: string };
  const server = await startModelServer({
    variant: job.variant,
    maxBatchSize: job.settings.server.maxBatchSize,
    maxBatchTimeMs: job.settings.server.batchTimeoutMs,
    readyTimeoutMs: job.settings.server.readyTimeoutSeconds * 1000,
    ...(cores ? { cores } : {}),
    signal,
  });
  return { endpoint: { baseUrl: server.url, model: server.model }, accuracy: { percent: known.accuracy, metric }, stop: server.stop };
}

/** The cores a `cpu-N` shape is pinned to: the first N, or an error naming what this host has. */
function coresOf(shape: string, notes: string[]): number[] | undefined {
  const wanted = shapeFromName(shape);
  if (wanted.gpu > 0) {
    // No GPU on this host (and the testbed is CPU-only): the numbers are the CPU's, and say so.
    notes.push(`measured on ${hostname()} without a GPU: the CPU testbed stands in for ${wanted.accelerator}`);
    return undefined;
  }
  const have = availableParallelism();
  if (wanted.cpu > have) {
    throw ApplicationFailure.nonRetryable(
      `shape ${shape} needs ${wanted.cpu} cores; worker host ${hostname()} has ${have}`,
      FAILURE_TYPES.invalidInput,
    );
  }
  return Array.from({ length: wanted.cpu }, (_, i) => i);
}

/**
 * One variant on one shape: start (or attach to) its server, wait until ready, measure every
 * batch size, and stop the server whatever happens: success, failure or cancellation. It is one
 * activity because the server is a process of this worker: split over activities, a retry could
 * land on another node than the server. Heartbeats carry the finished rows, so a retry after a
 * crash measures only what is missing.
 */
export async function measureVariant(job: ProfileJob): Promise<VariantMeasurement> {
  const context = Context.current();
  const done = context.info.heartbeatDetails as BatchProgress | undefined;
  let progress: Partial<BatchProgress> = { phase: 'starting server', rows: done?.rows ?? [], skipped: done?.skipped ?? [] };
  // Heartbeats also deliver cancellation, so they keep going while the server starts.
  const beat = setInterval(() => context.heartbeat(progress), 1000);
  const notes: string[] = [];
  try {
    const cores = coresOf(job.shape, notes);
    const served = job.endpoint ? await attach(job, context.cancellationSignal) : await serve(job, cores, context.cancellationSignal);
    try {
      const server = await serverMetadata(served.endpoint.baseUrl);
      const { rows, skipped } = await measureBatches({
        endpoint: served.endpoint,
        settings: job.settings,
        ...(done ? { done } : {}),
        signal: context.cancellationSignal,
        onProgress: (p) => {
          progress = p;
          context.heartbeat(p);
        },
      });
      if (cores) notes.push(`server pinned to cores ${cores.join(',')}`);
      return {
        stage: job.stage,
        task: job.task,
        variant: job.variant,
        shape: job.shape,
        rows,
        skipped,
        ...(served.accuracy ? { accuracy: served.accuracy } : {}),
        notes,
        measuredBy: { queue: context.info.taskQueue, worker: `${process.pid}@${hostname()}`, host: hostInfo(), server },
      };
    } finally {
      await served.stop();
    }
  } catch (err) {
    // After a cancellation request, whatever broke is the cancellation.
    context.cancellationSignal.throwIfAborted();
    if (err instanceof ValidationError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.invalidInput);
    throw err;
  } finally {
    clearInterval(beat);
  }
}

export interface WrittenProfileSet {
  name: string;
  version: string;
  path: string;
  variants: number;
  rows: number;
}

/** Merges a run's measurements into a new version of the named set and writes it to the store. */
export async function writeProfileSet(outcome: ProfilingOutcome): Promise<WrittenProfileSet> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const previous: ProfileSet | undefined = await resolveProfileSet(outcome.name).catch(() => undefined);
    const set = mergeProfileSet(previous, outcome, { ipa: ipaVersion, node: process.version });
    const path = join(profileSetsDir, `${set.name}.${set.version}.json`);
    await writeFile(path, `${JSON.stringify(set, null, 2)}\n`);
    const rows = set.variants.reduce((n, v) => n + v.profiles.reduce((m, p) => m + p.rows.length, 0), 0);
    return { name: set.name, version: set.version, path, variants: set.variants.length, rows };
  });
}

/** Running adaptPipeline workflows of a pipeline, found by the IpaPipeline search attribute. */
export async function adaptWorkflowsOf(pipeline: string): Promise<string[]> {
  const ids: string[] = [];
  const query = `WorkflowType = 'adaptPipeline' AND ExecutionStatus = 'Running' AND IpaPipeline = '${pipeline.replace(/'/g, '')}'`;
  for await (const workflow of Context.current().client.workflow.list({ query })) ids.push(workflow.workflowId);
  return ids;
}

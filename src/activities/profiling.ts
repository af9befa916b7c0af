import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ProfileJob, VariantMeasurement, WrittenProfileSet } from '../model/profilingRun.js';
import { ValidationError } from '../model/validation.js';
import { type BatchProgress, measureBatches } from '../profiling/measureVariant.js';
import type { ProfilingOutcome } from '../profiling/profileSetMerge.js';
import { storeProfileSet } from '../profiling/profileStore.js';
import { hostInfo, placementOf } from '../profiling/profilingHost.js';
import { type ProfilingPlan, profilingPlanOf } from '../profiling/profilingPlan.js';
import { attach, serve, serverMetadata } from '../profiling/variantServer.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

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
    const placement = placementOf(job.shape, notes);
    const served = job.endpoint ? await attach(job, context.cancellationSignal) : await serve(job, placement, context.cancellationSignal);
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
      if (placement.cores) notes.push(`server pinned to cores ${placement.cores.join(',')}`);
      if (placement.cpuLimit) notes.push(`server limited to ${placement.cpuLimit} cores (CFS quota, 10 ms period)`);
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

/** Validates a profilePipeline input and lists its (stage, variant, shape) children. */
export function planProfiling(input: unknown): Promise<ProfilingPlan> {
  return failingFast(FAILURE_TYPES.invalidInput, () => profilingPlanOf(input));
}

/** Merges a run's measurements into a new version of the named set and writes it to the store. */
export function writeProfileSet(outcome: ProfilingOutcome): Promise<WrittenProfileSet> {
  return failingFast(FAILURE_TYPES.invalidInput, () => storeProfileSet(outcome));
}

/** Running adaptPipeline workflows of a pipeline, found by the IpaPipeline search attribute. */
export async function adaptWorkflowsOf(pipeline: string): Promise<string[]> {
  const ids: string[] = [];
  const query = `WorkflowType = 'adaptPipeline' AND ExecutionStatus = 'Running' AND IpaPipeline = '${pipeline.replace(/'/g, '')}'`;
  for await (const workflow of Context.current().client.workflow.list({ query })) ids.push(workflow.workflowId);
  return ids;
}

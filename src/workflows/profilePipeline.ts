import {
  ApplicationFailure,
  ChildWorkflowCancellationType,
  defineQuery,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ProfilingActivities } from '../activities/index.js';
import { FAILURE_TYPES } from '../model/failureTypes.js';
import type { FailedJob, ProfileJob, ProfilingRequestFields, VariantMeasurement, WrittenProfileSet } from '../model/profilingRun.js';
import { TASK_QUEUES } from '../temporal/taskQueues.js';
import { markdownText } from './currentDetails.js';
import { failureMessage } from './failureMessage.js';
import { reloadProfilesSignal } from './messages.js';
import { profileVariant } from './profileVariant.js';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';

export interface JobProgress {
  stage: string;
  variant: string;
  shape: string;
  queue: string;
  status: JobStatus;
  rows?: number;
  error?: string;
}

export interface ProfilingProgress {
  pipeline: string;
  total: number;
  done: number;
  failed: number;
  jobs: JobProgress[];
  written?: WrittenProfileSet;
}

export interface ProfilingResult {
  profileSet: WrittenProfileSet;
  measurements: VariantMeasurement[];
  failed: FailedJob[];
  /** adaptPipeline workflows told to reload the new set. */
  reloaded: string[];
}

export const progress = defineQuery<ProfilingProgress>('progress');

const { planProfiling, writeProfileSet, adaptWorkflowsOf } = proxyActivities<ProfilingActivities>({
  startToCloseTimeout: '2m',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [FAILURE_TYPES.invalidInput] },
});

/** Runs `run` over `items`, at most `limit` at a time, in order. */
async function bounded<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Profiles every variant of a pipeline on every shape asked for: one profileVariant child per
 * (stage, variant, shape) on the queue of the hardware, a bounded number at a time per queue,
 * then one new version of the profile set from all that succeeded, and a reloadProfiles to the
 * pipeline's running adaptation loops.
 */
export async function profilePipeline(input: ProfilingRequestFields): Promise<ProfilingResult> {
  const plan = await planProfiling(input);
  const jobs: JobProgress[] = plan.jobs.map(({ stage, variant, shape, queue }) => ({ stage, variant, shape, queue, status: 'pending' }));
  const state: ProfilingProgress = { pipeline: plan.pipeline, total: jobs.length, done: 0, failed: 0, jobs };
  setHandler(progress, () => state, {
    description:
      'Profiling progress: per (stage, variant, shape) job its queue and status (pending, running, done, failed), and the profile set written.',
  });
  const show = () =>
    setCurrentDetails(
      `Profiling **${plan.pipeline}** into profile set **${plan.name}**: ${state.done} of ${state.total} done, ${state.failed} failed\n\n` +
        jobs.map((j) => `- ${j.variant} on ${j.shape} (${j.queue}): ${j.status}${j.error ? `: ${markdownText(j.error)}` : ''}`).join('\n'),
    );
  show();

  const measurements: VariantMeasurement[] = [];
  const failed: FailedJob[] = [];
  const measure = async (index: number) => {
    const job = plan.jobs[index] as ProfileJob;
    const entry = jobs[index] as JobProgress;
    entry.status = 'running';
    show();
    try {
      const measurement = await executeChild(profileVariant, {
        args: [job],
        taskQueue: job.queue,
        workflowId: `${workflowInfo().workflowId}/${job.variant}/${job.shape}`,
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      });
      measurements.push(measurement);
      Object.assign(entry, { status: 'done', rows: measurement.rows.length });
      state.done++;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // One variant that cannot be measured must not cost the others' rows.
      const error = failureMessage(err);
      failed.push({ stage: job.stage, variant: job.variant, shape: job.shape, error });
      Object.assign(entry, { status: 'failed', error });
      state.failed++;
    }
    show();
  };
  const byQueue = (queue: string) => plan.jobs.flatMap((job, i) => (job.queue === queue ? [i] : []));
  await Promise.all([
    bounded(byQueue(TASK_QUEUES['profile-cpu']), plan.parallelism.cpu, measure),
    bounded(byQueue(TASK_QUEUES['profile-gpu']), plan.parallelism.gpu, measure),
  ]);

  if (measurements.every((m) => m.rows.length === 0)) {
    throw ApplicationFailure.nonRetryable(
      `no variant of ${plan.pipeline} was measured: ${failed.map((f) => `${f.variant} on ${f.shape}: ${f.error}`).join('; ') || 'every batch size missed the latency bound'}`,
      'ProfilingFailed',
    );
  }
  const settings = plan.jobs[0]?.settings;
  const written = await writeProfileSet({
    name: plan.name,
    measuredAt: new Date().toISOString(),
    percentile: settings?.percentile ?? 'p99',
    measurements,
    failed,
    accuracy: plan.accuracy,
    method: settings
      ? `profilePipeline ${workflowInfo().workflowId}: per batch size, the highest open-loop Poisson rate whose ${settings.percentile} stayed within ${settings.latencyBoundMs} ms ` +
        `(${settings.searchSteps} probes of ${settings.probeSeconds} s after ${settings.warmupSeconds} s warm-up); each request carries one whole batch; throughput is items/s at that rate`
      : 'profilePipeline',
  });
  state.written = written;
  show();

  const reloaded = plan.reload ? await adaptWorkflowsOf(plan.pipeline) : [];
  for (const id of reloaded) await getExternalWorkflowHandle(id).signal(reloadProfilesSignal, { version: written.version });
  return { profileSet: written, measurements, failed, reloaded };
}

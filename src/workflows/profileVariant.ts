import { ActivityCancellationType, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { ProfilingActivities } from '../activities/index.js';
import { FAILURE_TYPES } from '../model/failureTypes.js';
import type { ProfileJob, VariantMeasurement } from '../model/profilingRun.js';

/** An upper bound on one attempt: the server start plus every probe of every batch, twice over. */
function attemptSeconds(job: ProfileJob): number {
  const { batches, warmupSeconds, probeSeconds, searchSteps, server } = job.settings;
  return server.readyTimeoutSeconds + 2 * batches.length * (warmupSeconds + probeSeconds * (searchSteps + 1) + 10) + 60;
}

/**
 * Measures one variant on one shape. It runs on the queue of the node type that has the hardware
 * (ipa-profile-cpu or ipa-profile-gpu), so its activity runs where the model server can.
 */
export async function profileVariant(job: ProfileJob): Promise<VariantMeasurement> {
  setCurrentDetails(`Measuring **${job.variant}** (stage ${job.stage}) on **${job.shape}**, batches ${job.settings.batches.join(', ')}`);
  const { measureVariant } = proxyActivities<ProfilingActivities>({
    startToCloseTimeout: `${attemptSeconds(job)}s`,
    heartbeatTimeout: '30s',
    // A cancelled child waits until the activity has stopped its model server.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: job.settings.attempts,
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      nonRetryableErrorTypes: [FAILURE_TYPES.invalidInput],
    },
  });
  return measureVariant(job);
}

import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { WorkerDescription } from '../activities/describeWorker.js';
import type { Activities } from '../activities/index.js';

export interface PingInput {
  /** The queue whose worker should run the activity; the workflow's own queue when absent. */
  activityQueue?: string;
}

export interface PingResult {
  workflowQueue: string;
  activityWorker: WorkerDescription;
}

/** Round trip through a workflow task and an activity task: proves that workers serve the queues. */
export async function ping(input: PingInput = {}): Promise<PingResult> {
  const { describeWorker } = proxyActivities<Activities>({
    startToCloseTimeout: '10s',
    scheduleToCloseTimeout: '30s',
    ...(input.activityQueue ? { taskQueue: input.activityQueue } : {}),
  });
  return { workflowQueue: workflowInfo().taskQueue, activityWorker: await describeWorker() };
}

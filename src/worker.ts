import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type NativeConnection, Worker } from '@temporalio/worker';
import { activitiesFor } from './activities/index.js';
import { type QueueName, TASK_QUEUES } from './taskQueues.js';
import { sdkLogger } from './temporal/runtime.js';

/** One worker per task queue, sharing one connection and one workflow bundle. */
export async function createWorkers(connection: NativeConnection, namespace: string, queues: QueueName[]): Promise<Worker[]> {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/index.js', import.meta.url)),
    logger: sdkLogger,
  });
  return Promise.all(
    queues.map((queue) =>
      Worker.create({ connection, namespace, taskQueue: TASK_QUEUES[queue], workflowBundle, activities: activitiesFor(queue) }),
    ),
  );
}

/** Runs the workers until `stop` settles, then lets them finish their current tasks. */
export async function runWorkers(workers: Worker[], stop: Promise<unknown>): Promise<void> {
  await Promise.all(workers.map((worker) => worker.runUntil(stop)));
}

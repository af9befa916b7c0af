import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type NativeConnection, Worker } from '@temporalio/worker';
import { activitiesFor } from '../activities/index.js';
import { sdkLogger } from './runtime.js';
import { type QueueName, TASK_QUEUES } from './taskQueues.js';

export interface WorkerTuning {
  /** Sticky cache size: one entry per running workflow avoids replaying histories (default 2000). */
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  /** Replaces activities by name, e.g. to instrument them in a benchmark. */
  activities?: Record<string, (...args: never[]) => Promise<unknown>>;
  /** Another build of the workflows (its index.js): the upgrade test runs a changed one. */
  workflowsPath?: string;
}

/** One worker per task queue, sharing one connection and one workflow bundle. */
export async function createWorkers(
  connection: NativeConnection,
  namespace: string,
  queues: QueueName[],
  tuning: WorkerTuning = {},
): Promise<Worker[]> {
  const { activities, workflowsPath, ...limits } = tuning;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: workflowsPath ?? fileURLToPath(new URL('../workflows/index.js', import.meta.url)),
    logger: sdkLogger,
  });
  return Promise.all(
    queues.map((queue) =>
      Worker.create({
        connection,
        namespace,
        taskQueue: TASK_QUEUES[queue],
        workflowBundle,
        activities: { ...activitiesFor(queue), ...activities },
        // Tuned with bench:adapt: steps are short workflow tasks whose local activities (forecast,
        // optimize, record) take a few ms, so more tasks in flight and more pollers keep a
        // 2-core worker busy instead of waiting on round trips.
        maxCachedWorkflows: 2000,
        maxConcurrentWorkflowTaskExecutions: 200,
        maxConcurrentWorkflowTaskPolls: 40,
        maxConcurrentActivityTaskExecutions: 200,
        maxConcurrentActivityTaskPolls: 20,
        maxConcurrentLocalActivityExecutions: 200,
        workflowThreadPoolSize: 2,
        // After a worker dies, a loop whose last step ran there gets its next timer's task on that
        // worker's sticky queue, and it waits there this long before another worker takes it: with
        // the SDK's 10 s a loop at the default 10-s interval stepped just over two intervals after
        // the kill. 5 s keeps it within two; 3 s did too, but under overload (1,000 loops on 2 cores,
        // step lag ~3 s) it moved tasks off the worker that caches them and lengthened the lag.
        stickyQueueScheduleToStartTimeout: '5s',
        ...limits,
      }),
    ),
  );
}

/** Runs the workers until `stop` settles, then lets them finish their current tasks. */
export async function runWorkers(workers: Worker[], stop: Promise<unknown>): Promise<void> {
  await Promise.all(workers.map((worker) => worker.runUntil(stop)));
}

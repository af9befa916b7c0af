import type { QueueName } from '../taskQueues.js';
import { describeWorker } from './describeWorker.js';

export { describeWorker };

/** The activities each task queue's worker registers. */
export function activitiesFor(_queue: QueueName) {
  return { describeWorker };
}

export type Activities = ReturnType<typeof activitiesFor>;

import type { QueueName } from '../temporal/taskQueues.js';
import { apply, readRunningConfig, release } from './apply.js';
import { describeWorker } from './describeWorker.js';
import { observe } from './observe.js';
import { preparePipeline, resolveProfiles } from './preparePipeline.js';
import { adaptWorkflowsOf, measureVariant, planProfiling, writeProfileSet } from './profiling.js';
import { recommend } from './recommend.js';
import { record } from './record.js';

/** The adapt queue also runs the profiling parent's activities: planning, writing the set, finding loops to reload. */
const adaptActivities = {
  describeWorker,
  preparePipeline,
  resolveProfiles,
  readRunningConfig,
  observe,
  recommend,
  apply,
  release,
  record,
  planProfiling,
  writeProfileSet,
  adaptWorkflowsOf,
};

/** Profiling nodes run the model servers. */
const profileActivities = { describeWorker, measureVariant };

/** The activities each task queue's worker registers. */
export function activitiesFor(queue: QueueName): Record<string, (...args: never[]) => Promise<unknown>> {
  return queue === 'adapt' ? adaptActivities : profileActivities;
}

export type Activities = typeof adaptActivities;
export type ProfilingActivities = typeof adaptActivities & typeof profileActivities;

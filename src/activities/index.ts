import type { QueueName } from '../taskQueues.js';
import { apply, readRunningConfig } from './apply.js';
import { describeWorker } from './describeWorker.js';
import { forecast } from './forecast.js';
import { observe } from './observe.js';
import { optimize } from './optimize.js';
import { preparePipeline, resolveProfiles } from './preparePipeline.js';
import { record } from './record.js';

const adaptActivities = { describeWorker, preparePipeline, resolveProfiles, readRunningConfig, observe, forecast, optimize, apply, record };

/** The activities each task queue's worker registers. */
export function activitiesFor(queue: QueueName) {
  return queue === 'adapt' ? adaptActivities : { describeWorker };
}

export type Activities = typeof adaptActivities;

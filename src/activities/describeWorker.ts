import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ipaVersion } from '../common/version.js';

export interface WorkerDescription {
  hostname: string;
  pid: number;
  taskQueue: string;
  ipaVersion: string;
  node: string;
}

/** Says which worker process picked the task up: the end-to-end check that a queue is served. */
export async function describeWorker(): Promise<WorkerDescription> {
  return {
    hostname: hostname(),
    pid: process.pid,
    taskQueue: Context.current().info.taskQueue,
    ipaVersion,
    node: process.version,
  };
}

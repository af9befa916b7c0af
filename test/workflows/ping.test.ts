import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { ping } from '../../src/workflows/ping.js';
import { startTestServer, startWorkers } from '../helpers/temporal.js';

describe('ping workflow on a real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startWorkers>>;

  before(async () => {
    env = await startTestServer();
    workers = await startWorkers(env, ['adapt', 'profile-cpu']);
  });

  after(async () => {
    await workers?.stop();
    await env?.teardown();
  });

  it('runs the workflow on ipa-adapt and its activity on the same queue', async () => {
    const result = await env.client.workflow.execute(ping, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'ping-adapt',
      args: [{}],
    });
    assert.equal(result.workflowQueue, 'ipa-adapt');
    assert.equal(result.activityWorker.taskQueue, 'ipa-adapt');
    assert.equal(result.activityWorker.pid, process.pid);
  });

  it('routes the activity to the profiling queue when asked', async () => {
    const result = await env.client.workflow.execute(ping, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'ping-profile-cpu',
      args: [{ activityQueue: TASK_QUEUES['profile-cpu'] }],
    });
    assert.equal(result.activityWorker.taskQueue, 'ipa-profile-cpu');
  });

  it('records the run in the server history', async () => {
    const handle = env.client.workflow.getHandle('ping-adapt');
    const description = await handle.describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.taskQueue, 'ipa-adapt');
  });
});

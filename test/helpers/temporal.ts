import { after, before } from 'node:test';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { installRuntime } from '../../src/temporal/runtime.js';
import { type QueueName, TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { createWorkers, runWorkers } from '../../src/temporal/worker.js';
import { findTemporalCli, findTemporalTestServer } from '../../src/tooling/cliBinary.js';
import { type AdaptInput, adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/searchAttributes.js';

/**
 * A real Temporal dev server from the project's own CLI binary (no download by the SDK). The SDK
 * gives the server a fixed 5 s to listen; on a busy 2-core machine (a test before still stopping
 * its model servers) a start can take longer, so a start that timed out is tried again, twice.
 */
export async function startTestServer(): Promise<TestWorkflowEnvironment> {
  // Before anything creates the SDK's runtime: logs go to pino, signals stay ipa's.
  installRuntime();
  const path = await findTemporalCli();
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path },
          ip: '127.0.0.1',
          searchAttributes: SEARCH_ATTRIBUTE_KEYS,
        },
      });
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test((err as Error).message)) throw err;
    }
  }
}

/** Temporal's time-skipping test server, from the pinned PyPI package. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  const path = await findTemporalTestServer();
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

type RunningWorkers = { stop(): Promise<void> };

async function runInProcess(
  connection: NativeConnection,
  namespace: string,
  queues: QueueName[],
  close?: () => Promise<void>,
): Promise<RunningWorkers> {
  installRuntime();
  const workers = await createWorkers(connection, namespace, queues);
  let release = () => {};
  const running = runWorkers(workers, new Promise<void>((resolve) => (release = resolve)));
  return {
    stop: async () => {
      release();
      await running;
      await close?.();
    },
  };
}

/** ipa's workers on `queues`, running in this process against `env` until `stop()`. */
export function startWorkers(env: TestWorkflowEnvironment, queues: QueueName[] = ['adapt']): Promise<RunningWorkers> {
  return runInProcess(env.nativeConnection, env.namespace ?? 'default', queues);
}

/** ipa's workers on `queues` against a server at `address` (e.g. a dev server with its Web UI), until `stop()`. */
export async function startWorkersAt(address: string, namespace = 'default', queues: QueueName[] = ['adapt']): Promise<RunningWorkers> {
  installRuntime();
  const connection = await NativeConnection.connect({ address });
  return runInProcess(connection, namespace, queues, () => connection.close());
}

/**
 * A dev server and ipa's workers on `queues` for the enclosing describe block: started before its
 * tests, stopped after them. Read `env` inside the tests.
 */
export function serverWithWorkers(queues: QueueName[] = ['adapt']): { readonly env: TestWorkflowEnvironment } {
  const state: { env?: TestWorkflowEnvironment; workers?: RunningWorkers } = {};
  before(async () => {
    state.env = await startTestServer();
    state.workers = await startWorkers(state.env, queues);
  });
  after(async () => {
    await state.workers?.stop();
    await state.env?.teardown();
  });
  return {
    get env() {
      if (!state.env) throw new Error('the test server is not started yet: read env inside a test');
      return state.env;
    },
  };
}

/**
 * The loop a test of the workflow itself starts: the video pipeline on a steady trace of 30
 * requests/s, a step every second, the simulated actuator; `fields` override any of it.
 */
export function startTraceLoop(client: Client, workflowId: string, fields: Partial<AdaptInput> = {}) {
  return client.workflow.start(adaptPipeline, {
    taskQueue: TASK_QUEUES.adapt,
    workflowId,
    args: [
      {
        pipeline: 'video',
        intervalSeconds: 1,
        observe: { kind: 'trace', loads: Array<number>(400).fill(30), start: 150 },
        actuator: { kind: 'simulated' },
        ...fields,
      },
    ],
  });
}

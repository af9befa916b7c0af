import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { QueueName } from '../../src/taskQueues.js';
import { findTemporalCli, findTemporalTestServer } from '../../src/temporal/cliBinary.js';
import { installRuntime } from '../../src/temporal/runtime.js';
import { createWorkers, runWorkers } from '../../src/worker.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/searchAttributes.js';

/** A real Temporal dev server from the project's own CLI binary (no download by the SDK). */
export async function startTestServer(): Promise<TestWorkflowEnvironment> {
  // Before anything creates the SDK's runtime: logs go to pino, signals stay ipa's.
  installRuntime();
  const path = await findTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
    },
  });
}

/** Temporal's time-skipping test server, from the pinned PyPI package. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  const path = await findTemporalTestServer();
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

/** ipa's workers on `queues`, running in this process against `env` until `stop()`. */
export async function startWorkers(env: TestWorkflowEnvironment, queues: QueueName[] = ['adapt']): Promise<{ stop(): Promise<void> }> {
  installRuntime();
  const workers = await createWorkers(env.nativeConnection, env.namespace ?? 'default', queues);
  let release = () => {};
  const running = runWorkers(workers, new Promise<void>((resolve) => (release = resolve)));
  return {
    stop: async () => {
      release();
      await running;
    },
  };
}

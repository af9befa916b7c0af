/**
 * Records the histories the replay test replays (test/histories/*.json): real runs of the
 * workflows on a dev server, exported with `temporal workflow show --output json`, as a user
 * would export a history from a running deployment. Run it (after `npm run build`) when the
 * workflow code is meant to change how it runs, with the version that still has the old code:
 *
 *   node dist/test/histories/recordHistories.js
 *
 * Each run is a scenario the loop meets in production: a plain run, signals, an update,
 * pause/resume, a refused apply, continue-as-new, and a profiling run with a failed child. The
 * scenario NAME runs as workflow `history-NAME` and is written to NAME.json; the replay uses that id.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { projectRoot } from '../../src/common/paths.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { findTemporalCli } from '../../src/tooling/cliBinary.js';
import type { adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import {
  pauseSignal,
  reloadProfilesSignal,
  resumeSignal,
  setObjectiveSignal,
  setSlaSignal,
  slaUpdate,
  statusQuery,
} from '../../src/workflows/messages.js';
import { profilePipeline } from '../../src/workflows/profilePipeline.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startTestServer, startTraceLoop, startWorkers } from '../helpers/temporal.js';

const run = promisify(execFile);

/** Where the histories live: the source tree's test/histories, not dist's. */
export const HISTORIES_DIR = join(projectRoot, 'test', 'histories');

async function stepsReach(handle: WorkflowHandle<typeof adaptPipeline>, steps: number): Promise<void> {
  const ok = await waitUntilAsync(async () => ((await handle.query(statusQuery).catch(() => undefined))?.step ?? 0) >= steps, 60_000);
  if (!ok) throw new Error(`${handle.workflowId} did not reach step ${steps} within 60 s`);
}

/** Cancels a loop and waits for its end, so its history is whole. */
async function cancelled(handle: WorkflowHandle<typeof adaptPipeline>): Promise<void> {
  await handle.cancel();
  await handle.result().catch(() => undefined);
}

type Scenario = (client: Client, dir: string) => Promise<{ workflowId: string; runId?: string }>;

const SCENARIOS: Record<string, Scenario> = {
  'adapt-plain': async (client) => {
    const handle = await startTraceLoop(client, 'history-adapt-plain');
    await stepsReach(handle, 4);
    await cancelled(handle);
    return { workflowId: handle.workflowId };
  },
  'adapt-signals': async (client) => {
    const handle = await startTraceLoop(client, 'history-adapt-signals', { intervalSeconds: 2 });
    await stepsReach(handle, 2);
    await handle.signal(setSlaSignal, { slaMs: 250 });
    await handle.signal(setSlaSignal, { slaMs: -1 });
    await handle.signal(setObjectiveSignal, { beta: 0.002 });
    await handle.signal(reloadProfilesSignal);
    await stepsReach(handle, 4);
    await handle.executeUpdate(slaUpdate, { args: [{ slaMs: 280 }] });
    await handle.signal(pauseSignal);
    await waitUntilAsync(async () => (await handle.query(statusQuery)).paused === true, 10_000);
    await handle.signal(resumeSignal);
    const step = (await handle.query(statusQuery)).step;
    await stepsReach(handle, step + 2);
    await cancelled(handle);
    return { workflowId: handle.workflowId };
  },
  'adapt-apply-failure': async (client, dir) => {
    // A directory where the dry-run log should be: every apply is refused (EISDIR), the loop goes on.
    const handle = await startTraceLoop(client, 'history-adapt-apply-failure', { actuator: { kind: 'dry-run', log: dir } });
    await stepsReach(handle, 3);
    await cancelled(handle);
    return { workflowId: handle.workflowId };
  },
  'adapt-continue-as-new': async (client) => {
    const handle = await startTraceLoop(client, 'history-adapt-continue-as-new', { maxStepsPerRun: 3 });
    const first = (await handle.describe()).runId;
    // The first run's history ends in ContinuedAsNew: that is the one replayed.
    const ok = await waitUntilAsync(
      async () => (await client.workflow.getHandle(handle.workflowId, first).describe()).status.name !== 'RUNNING',
      60_000,
    );
    if (!ok) throw new Error('no continue-as-new within 60 s');
    await cancelled(client.workflow.getHandle(handle.workflowId));
    return { workflowId: handle.workflowId, runId: first };
  },
  'profile-failed-child': async (client) => {
    // A variant served at an address nothing answers: its child fails, the run reports it.
    const handle = await client.workflow.start(profilePipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'history-profile-failed-child',
      args: [
        {
          pipeline: 'testbed',
          variants: ['classify-logreg'],
          endpoints: { 'classify-logreg': { url: 'http://127.0.0.1:9', model: 'classify-logreg', readyTimeoutSeconds: 1 } },
          batches: [1],
          attempts: 1,
          name: 'history-failed-child',
          reload: false,
        },
      ],
    });
    await handle.result().catch(() => undefined);
    return { workflowId: handle.workflowId };
  },
};

async function main(): Promise<void> {
  const env = await startTestServer();
  const workers = await startWorkers(env, ['adapt', 'profile-cpu']);
  const temporal = await findTemporalCli();
  const scratch = mkdtempSync(join(tmpdir(), 'ipa-record-histories-'));
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const { workflowId, runId } = await scenario(env.client, scratch);
      const { stdout } = await run(
        temporal,
        [
          'workflow',
          'show',
          '--address',
          env.address,
          '--namespace',
          env.namespace ?? 'default',
          '--workflow-id',
          workflowId,
          ...(runId ? ['--run-id', runId] : []),
          '--output',
          'json',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      const events = (JSON.parse(stdout) as { events: unknown[] }).events.length;
      writeFileSync(join(HISTORIES_DIR, `${name}.json`), stdout);
      console.log(`${name}: ${events} events → test/histories/${name}.json`);
    }
  } finally {
    await workers.stop();
    await env.teardown();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) await main();

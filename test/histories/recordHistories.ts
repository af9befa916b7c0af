/**
 * Records the histories the replay test replays (test/histories/*.json): real runs of the
 * workflows on a dev server, exported with `temporal workflow show --output json`, as a user
 * would export a history from a running deployment. Run it (after `npm run build`) on each
 * version whose loops may run when a later one is deployed, before the workflow code changes:
 *
 *   node dist/test/histories/recordHistories.js [VERSION]
 *
 * Each run is a scenario the loop meets in production: a plain run, signals, an update,
 * pause/resume, a refused apply, continue-as-new, and a profiling run with a failed child. The
 * scenario NAME runs as workflow `history-NAME` and is written to VERSION/NAME.json (VERSION: the
 * commit, by default); the replay uses that id. A version already recorded is left alone.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { HISTORIES_DIR, scenarioWorkflowId } from './recordedHistories.js';

const run = promisify(execFile);

async function stepsReach(handle: WorkflowHandle<typeof adaptPipeline>, steps: number): Promise<void> {
  const ok = await waitUntilAsync(async () => ((await handle.query(statusQuery).catch(() => undefined))?.step ?? 0) >= steps, 60_000);
  if (!ok) throw new Error(`${handle.workflowId} did not reach step ${steps} within 60 s`);
}

/** Cancels a loop and waits for its end, so its history is whole. */
async function cancelled(handle: WorkflowHandle<typeof adaptPipeline>): Promise<void> {
  await handle.cancel();
  await handle.result().catch(() => undefined);
}

/** Runs under `workflowId` and gives the run to export: the last one, unless it names another. */
type Scenario = (client: Client, workflowId: string, dir: string) => Promise<{ runId?: string }>;

const SCENARIOS: Record<string, Scenario> = {
  'adapt-plain': async (client, workflowId) => {
    const handle = await startTraceLoop(client, workflowId);
    await stepsReach(handle, 4);
    await cancelled(handle);
    return {};
  },
  'adapt-signals': async (client, workflowId) => {
    const handle = await startTraceLoop(client, workflowId, { intervalSeconds: 2 });
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
    return {};
  },
  'adapt-apply-failure': async (client, workflowId, dir) => {
    // A directory where the dry-run log should be: every apply is refused (EISDIR), the loop goes on.
    const handle = await startTraceLoop(client, workflowId, { actuator: { kind: 'dry-run', log: dir } });
    await stepsReach(handle, 3);
    await cancelled(handle);
    return {};
  },
  'adapt-continue-as-new': async (client, workflowId) => {
    const handle = await startTraceLoop(client, workflowId, { maxStepsPerRun: 3 });
    const first = (await handle.describe()).runId;
    // The first run's history ends in ContinuedAsNew: that is the one replayed.
    const ok = await waitUntilAsync(
      async () => (await client.workflow.getHandle(handle.workflowId, first).describe()).status.name !== 'RUNNING',
      60_000,
    );
    if (!ok) throw new Error('no continue-as-new within 60 s');
    await cancelled(client.workflow.getHandle(handle.workflowId));
    return { runId: first };
  },
  'profile-failed-child': async (client, workflowId) => {
    // A variant served at an address nothing answers: its child fails, the run reports it.
    const handle = await client.workflow.start(profilePipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId,
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
    return {};
  },
};

/** The scenarios whose histories every recorded version must have. */
export const SCENARIO_NAMES = Object.keys(SCENARIOS);

async function main(): Promise<void> {
  const version = process.argv[2] ?? (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot })).stdout.trim();
  const out = join(HISTORIES_DIR, version);
  if (existsSync(out)) throw new Error(`version: test/histories/${version} is recorded already; name another`);
  const env = await startTestServer();
  const workers = await startWorkers(env, ['adapt', 'profile-cpu']);
  const temporal = await findTemporalCli();
  const scratch = mkdtempSync(join(tmpdir(), 'ipa-record-histories-'));
  const histories: Array<[string, string]> = [];
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const workflowId = scenarioWorkflowId(name);
      const { runId } = await scenario(env.client, workflowId, scratch);
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
      histories.push([name, stdout]);
      console.log(`${name}: ${(JSON.parse(stdout) as { events: unknown[] }).events.length} events`);
    }
    // Written only once every scenario ran: a version's folder is whole or absent.
    mkdirSync(out);
    for (const [name, text] of histories) writeFileSync(join(out, `${name}.json`), text);
    console.log(`wrote ${histories.length} histories to test/histories/${version}/`);
  } finally {
    await workers.stop();
    await env.teardown();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) await main();

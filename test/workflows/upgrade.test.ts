import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { installRuntime } from '../../src/temporal/runtime.js';
import { createWorkers, runWorkers } from '../../src/temporal/worker.js';
import type { adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startTestServer, startTraceLoop } from '../helpers/temporal.js';
import { recordedHistories } from '../histories/recordedHistories.js';

/**
 * "Upgrading ipa" shown once: a later build adds a command to every step (a 1-ms timer after
 * it). Unguarded, that build cannot replay what the current one recorded; behind
 * `patched('ipa-upgrade-demo')` it replays every recorded history, and loops started on the
 * current build keep stepping once its worker is replaced by the new one, new steps taking the
 * new path. The builds are the compiled workflows with that one change, next to the real ones
 * so their imports resolve.
 */
const WORKFLOWS = fileURLToPath(new URL('../../src/workflows/', import.meta.url));
const STEP = 'await step(trigger);';
const IMPORT = "} from '@temporalio/workflow';";

function build(name: string, change: string): string {
  const dir = join(WORKFLOWS, '..', `workflows-${name}-${process.pid}`);
  cpSync(WORKFLOWS, dir, { recursive: true });
  const file = join(dir, 'adaptPipeline.js');
  const code = readFileSync(file, 'utf8');
  assert.equal(code.split(STEP).length, 2, 'one step call in the loop');
  // Aliased, so the change's names never clash with what the workflow imports itself.
  writeFileSync(file, code.replace(IMPORT, `patched as demoPatched, sleep as demoSleep, ${IMPORT}`).replace(STEP, `${STEP} ${change}`));
  return dir;
}

const histories = () => recordedHistories((scenario) => scenario.startsWith('adapt-'));

async function replayErrors(dir: string): Promise<string[]> {
  const errors: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath: join(dir, 'index.js'), replayName: 'ipa-upgrade' }, histories())) {
    if (result.error) errors.push(`${result.workflowId}: ${result.error.message}`);
  }
  return errors;
}

describe('upgrading the workflow code under running loops', { timeout: 300_000 }, () => {
  let patchedBuild: string;
  let unguardedBuild: string;
  before(() => {
    installRuntime();
    patchedBuild = build('patched', "if (demoPatched('ipa-upgrade-demo')) await demoSleep(1);");
    unguardedBuild = build('unguarded', 'await demoSleep(1);');
  });
  after(() => {
    for (const dir of [patchedBuild, unguardedBuild]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an unguarded change breaks the recorded histories; behind patched() they all replay', async () => {
    const unguarded = await replayErrors(unguardedBuild);
    assert.ok(
      unguarded.length > 0 && unguarded.every((e) => /[Nn]ondeterminism/.test(e)),
      `non-determinism errors:\n${unguarded.join('\n')}`,
    );
    assert.deepEqual(await replayErrors(patchedBuild), []);
  });

  describe('on a dev server', () => {
    let env: TestWorkflowEnvironment;
    before(async () => {
      env = await startTestServer();
    });
    after(async () => {
      await env?.teardown();
    });

    it('loops started on the current build keep stepping on the patched one, without a workflow task failure', async () => {
      const connection = await NativeConnection.connect({ address: env.address });
      const namespace = env.namespace ?? 'default';
      const steps = async (h: WorkflowHandle<typeof adaptPipeline>) => (await h.query(statusQuery).catch(() => undefined))?.step ?? 0;
      try {
        // The current build: five loops, a step a second.
        let release = () => {};
        const current = runWorkers(await createWorkers(connection, namespace, ['adapt']), new Promise<void>((r) => (release = r)));
        const loops = await Promise.all([1, 2, 3, 4, 5].map((i) => startTraceLoop(env.client, `upgrade-${i}`)));
        assert.ok(await waitUntilAsync(async () => (await Promise.all(loops.map(steps))).every((n) => n >= 2), 60_000));
        release();
        await current;
        const before = await Promise.all(loops.map(steps));

        // The patched build takes over: it replays each loop's history, then goes on.
        let releasePatched = () => {};
        const patched = runWorkers(
          await createWorkers(connection, namespace, ['adapt'], { workflowsPath: join(patchedBuild, 'index.js') }),
          new Promise<void>((r) => (releasePatched = r)),
        );
        try {
          assert.ok(
            await waitUntilAsync(async () => (await Promise.all(loops.map(steps))).every((n, i) => n >= (before[i] as number) + 3), 60_000),
            'every loop steps on after the upgrade',
          );
        } finally {
          releasePatched();
          await patched;
        }
        for (const loop of loops) {
          const { events } = await loop.fetchHistory();
          assert.equal((await loop.describe()).status.name, 'RUNNING', loop.workflowId);
          const failed = (events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
          assert.equal(failed.length, 0, `${loop.workflowId}: no workflow task failed`);
          const markers = (events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
          assert.ok(markers.length > 0, `${loop.workflowId}: new steps took the patched path`);
          await loop.terminate('test done');
        }
      } finally {
        await connection.close();
      }
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { installRuntime } from '../../src/temporal/runtime.js';
import { historyVersions, recordedHistories } from '../histories/recordedHistories.js';
import { SCENARIO_NAMES } from '../histories/recordHistories.js';

/**
 * Every recorded history (test/histories/VERSION/, real runs exported with `temporal workflow
 * show --output json`, a folder per version whose loops may still run) replays against today's
 * workflow code without a non-determinism error: a deploy of this code would not break the loops
 * those runs stand for. A change that must alter the command sequence goes behind `patched()`
 * (README, "Upgrading ipa"), and these still pass.
 */
const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.js', import.meta.url));

describe('recorded histories replay on the current workflow code', { timeout: 300_000 }, () => {
  it('has the histories of every scenario, for each recorded version', () => {
    const versions = historyVersions();
    assert.ok(versions.length >= 2, `versions recorded: ${versions.join(', ')}`);
    const histories = recordedHistories();
    for (const version of versions) {
      assert.deepEqual(
        histories.filter((h) => h.version === version).map((h) => h.scenario),
        [...SCENARIO_NAMES].sort(),
        `test/histories/${version}`,
      );
    }
  });

  it('replays each without a non-determinism error', async () => {
    installRuntime();
    const histories = recordedHistories();
    const results = Worker.runReplayHistories({ workflowsPath, replayName: 'ipa-replay' }, histories);
    let replayed = 0;
    for await (const result of results) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed += 1;
    }
    assert.equal(replayed, histories.length);
  });
});

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { installRuntime } from '../../src/temporal/runtime.js';
import { HISTORIES_DIR } from '../histories/recordHistories.js';

/**
 * Every recorded history (test/histories/, real runs exported with `temporal workflow show
 * --output json`) replays against today's workflow code without a non-determinism error: a
 * deploy of this code would not break the loops those runs stand for. A change that must alter
 * the command sequence goes behind `patched()` (README, "Upgrading ipa"), and these still pass.
 */
const files = readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.js', import.meta.url));

/**
 * A history as `temporal workflow show --output json` wrote it (the SDK reads that JSON), under
 * the workflow id it ran with: child ids derive from it, so a replay under another id would differ.
 */
const history = (file: string) => ({
  workflowId: `history-${file.replace(/\.json$/, '')}`,
  history: JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as unknown,
});

describe('recorded histories replay on the current workflow code', { timeout: 300_000 }, () => {
  it('has the histories of every scenario', () => {
    assert.deepEqual(files, [
      'adapt-apply-failure.json',
      'adapt-continue-as-new.json',
      'adapt-plain.json',
      'adapt-signals.json',
      'profile-failed-child.json',
    ]);
  });

  it('replays each without a non-determinism error', async () => {
    installRuntime();
    const results = Worker.runReplayHistories({ workflowsPath, replayName: 'ipa-replay' }, files.map(history));
    let replayed = 0;
    for await (const result of results) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed += 1;
    }
    assert.equal(replayed, files.length);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pollUntil } from '../../src/common/pollUntil.js';

describe('pollUntil', () => {
  test('done once the probe says yes, probing again every interval', async () => {
    let calls = 0;
    assert.equal(await pollUntil(() => ++calls === 3, { timeoutMs: 5_000, everyMs: 1 }), 'done');
    assert.equal(calls, 3);
  });

  test('a timeout still probes once at the deadline, and once at least with no time at all', async () => {
    let calls = 0;
    assert.equal(await pollUntil(() => ++calls < 0, { timeoutMs: 30, everyMs: 20 }), 'timeout');
    assert.ok(calls >= 2, `probed ${calls} times`);
    let once = 0;
    assert.equal(await pollUntil(async () => ++once === 1, { timeoutMs: 0, everyMs: 10 }), 'done');
  });

  test('stopped before the probe when there is no point going on; an aborted signal rejects', async () => {
    let probed = false;
    const stopped = await pollUntil(
      () => {
        probed = true;
        return true;
      },
      { timeoutMs: 1_000, everyMs: 10, stopped: () => true },
    );
    assert.deepEqual([stopped, probed], ['stopped', false]);
    await assert.rejects(
      pollUntil(() => false, { timeoutMs: 1_000, everyMs: 10, signal: AbortSignal.abort(new Error('cancelled')) }),
      /cancelled/,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DroppedError, StageQueue } from '../../src/live/stageQueue.js';

const replica = (key: string, maxInFlight = 1) => ({ key, maxInFlight });

describe('stage queue', () => {
  test('least outstanding first, FIFO when all are busy, drops past the deadline', async () => {
    const queue = new StageQueue<{ key: string; maxInFlight: number }>('classify');
    queue.setReplicas([replica('a', 2), replica('b')]);
    queue.setReady('a', true);
    queue.setReady('b', true);
    const l1 = await queue.acquire(Date.now() + 1000);
    const l2 = await queue.acquire(Date.now() + 1000);
    const l3 = await queue.acquire(Date.now() + 1000);
    assert.deepEqual([l1, l2, l3].map((l) => l.replica.key).sort(), ['a', 'a', 'b']);

    const w1 = queue.acquire(Date.now() + 1000);
    const dropped = assert.rejects(queue.acquire(Date.now() + 20), (e) => e instanceof DroppedError && /stage classify/.test(e.message));
    const w3 = queue.acquire(Date.now() + 1000);
    assert.equal(queue.queueLength, 3);
    await dropped;
    assert.equal(queue.queueLength, 2);
    const onB = [l1, l2, l3].find((l) => l.replica.key === 'b');
    onB?.release();
    onB?.release(); // twice is harmless
    assert.equal((await w1).replica.key, 'b', 'the oldest waiting request gets the freed replica');
    l1.release();
    assert.equal((await w3).replica.key, 'a');
    assert.equal(queue.queueLength, 0);
  });

  test('a removed replica takes no new request and is gone when its last one finishes', async () => {
    const queue = new StageQueue<{ key: string; maxInFlight: number }>('reduce');
    const gone: string[] = [];
    queue.onGone = (r) => gone.push(r.key);
    queue.setReplicas([replica('a')]);
    const waiting = queue.acquire(Date.now() + 1000);
    await sleep(5);
    assert.equal(queue.queueLength, 1, 'not ready yet: the request waits');
    queue.setReady('a', true);
    const lease = await waiting;
    queue.setReplicas([replica('b')]);
    assert.deepEqual(
      queue.allReplicas().map((r) => [r.replica.key, r.active, r.inFlight]),
      [
        ['a', false, 1],
        ['b', true, 0],
      ],
    );
    const next = queue.acquire(Date.now() + 1000);
    lease.release();
    assert.deepEqual(gone, ['a']);
    queue.setReady('b', true);
    assert.equal((await next).replica.key, 'b');
    assert.deepEqual(
      queue.allReplicas().map((r) => r.replica.key),
      ['b'],
    );
  });
});

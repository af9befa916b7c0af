import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BatchQueue, erlangC, queueWaitMs } from '../../src/optimizer/queueing.js';

/** Erlang C from its textbook sum, for small c where it cannot overflow. */
function erlangCBySum(c: number, a: number): number {
  let sum = 0;
  let term = 1;
  for (let k = 0; k < c; k++) {
    sum += term;
    term = (term * a) / (k + 1);
  }
  const last = (term * c) / (c - a);
  return last / (sum + last);
}

/** An M/M/c queue of batches: `throughputRps` requests/s per replica in batches of `batch`. */
const mm = (load: number, replicas: number, batch: number, throughputRps: number): BatchQueue => ({
  load,
  replicas,
  batch,
  batchesPerSecond: throughputRps / batch,
});

describe('queueing', () => {
  it('Erlang C matches its textbook sum, and M/M/1 waits with probability ρ', () => {
    for (const [c, a] of [
      [1, 0.5],
      [2, 1.2],
      [3, 2.1],
      [8, 6.5],
      [12, 3],
    ] as const) {
      assert.ok(Math.abs(erlangC(c, a) - erlangCBySum(c, a)) < 1e-12, `C(${c}, ${a})`);
    }
    assert.ok(Math.abs(erlangC(1, 0.7) - 0.7) < 1e-12);
    assert.equal(erlangC(4, 4), 1);
    assert.equal(erlangC(3, 5), 1, 'overloaded: every arrival waits');
    assert.equal(erlangC(4, 0), 0);
    assert.ok(Number.isFinite(erlangC(400, 390)) && erlangC(400, 390) < 1, 'stable for hundreds of servers');
  });

  it('the wait quantile solves P(wait > t) = C·exp(−(cμ − λ)t), in batches', () => {
    // M/M/1 at λ 8/s, μ 10/s: P(W > t) = 0.8·exp(−2t), so the p99 is ln(80)/2 s.
    assert.ok(Math.abs(queueWaitMs(mm(8, 1, 1, 10), 0.99) - (Math.log(80) / 2) * 1000) < 1e-9);
    // Batches of 4 at 40 requests/s per replica are 10 batches/s: the same queue, in batches of 4.
    assert.ok(Math.abs(queueWaitMs(mm(32, 1, 4, 40), 0.99) - (Math.log(80) / 2) * 1000) < 1e-9);
    assert.equal(queueWaitMs(mm(1, 10, 1, 10), 0.99), 0, 'a wait rarer than the quantile counts as none');
    assert.equal(queueWaitMs(mm(0, 1, 1, 10), 0.99), 0);
    assert.equal(queueWaitMs(mm(20, 2, 1, 10), 0.99), Number.POSITIVE_INFINITY, 'no capacity to spare');
    assert.equal(queueWaitMs(mm(30, 2, 1, 10), 0.99), Number.POSITIVE_INFINITY, 'less capacity than load');
    assert.ok(queueWaitMs(mm(25, 3, 1, 10), 0.99) > queueWaitMs(mm(25, 4, 1, 10), 0.99), 'a replica more waits less');
  });

  it("general batch times scale the wait's decay by (1 + scv)/2 (Allen–Cunneen), with the safety margins", () => {
    // M/D/1 at λ 8/s, μ 10/s: P(W > t) ≈ 0.8·exp(−2·2t), so the p99 is ln(80)/4 s, half of M/M/1's;
    // 10 % more is 1.1·ln(80)/4 s = 1205 ms, above ln(80)/4 s + 0.15 of a 100-ms batch.
    assert.ok(Math.abs(queueWaitMs({ ...mm(8, 1, 1, 10), scv: 0 }, 0.99) - 1.1 * (Math.log(80) / 4) * 1000) < 1e-9);
    // scv 0.5: the decay rate is 2·2/1.5, so the p99 is 1.1·ln(80)·0.75/2 s.
    assert.ok(Math.abs(queueWaitMs({ ...mm(8, 1, 1, 10), scv: 0.5 }, 0.99) - 1.1 * ((Math.log(80) * 0.75) / 2) * 1000) < 1e-9);
    // 4 replicas at 10/s each and 12/s: C(4, 1.2) = 0.0370, the p99 is ln(3.70)/28·0.5 s = 23.4 ms;
    // 0.15 batch times (15 ms) more is 38.4 ms, more than 1.1×.
    const c = erlangC(4, 1.2);
    assert.ok(Math.abs(queueWaitMs({ ...mm(12, 4, 1, 10), scv: 0 }, 0.99) - ((Math.log(c / 0.01) / 28) * 0.5 + 0.015) * 1000) < 1e-9);
    assert.equal(queueWaitMs({ ...mm(1, 10, 1, 10), scv: 0 }, 0.99), 0, 'the chance to wait at all is still Erlang C');
  });
});

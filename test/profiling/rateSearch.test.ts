import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadResult } from '../../src/profiling/loadGenerator.js';
import { answeredRate, highestSustainableRate, probeFailure } from '../../src/profiling/rateSearch.js';

/** A probe's result with latencies well inside the bound. */
function probeResult(fields: Pick<LoadResult, 'sent' | 'ok' | 'elapsedMs'>): LoadResult {
  return {
    mode: 'open',
    errors: 0,
    timeouts: 0,
    throughput: fields.ok / (fields.elapsedMs / 1000),
    p50Ms: 300,
    p95Ms: 320,
    p99Ms: 330,
    meanMs: 305,
    maxMs: 340,
    errorSamples: [],
    ...fields,
  };
}

const bounds = { percentile: 'p99', boundMs: 1000, probeMs: 1000 } as const;

describe('rate search', () => {
  it('a server that keeps up is not failed for answering its last request one service time after the probe', () => {
    // 4 requests offered in a 1 s probe of a 300 ms model: the last, sent at 0.9 s, is answered at 1.2 s.
    const kept = probeResult({ sent: 4, ok: 4, elapsedMs: 1200 });
    assert.equal(answeredRate(kept, { probeMs: 1000, serviceMs: 300 }), 4); // 4 answers over max(1 s, 1.2 − 0.3 s)
    assert.equal(probeFailure(4, kept, { ...bounds, serviceMs: 300 }), undefined);
    // Counted over the whole 1.2 s it reads 3.33 of 4 offered: the false failure the discount removes.
    assert.match(probeFailure(4, kept, { ...bounds, serviceMs: 0 }) ?? '', /answered 3\.333 req\/s of 4 offered/);
  });

  it('a server building a queue still fails: its answers lag by more than one service time', () => {
    // 120 offered to a 10 ms model that serves 100/s: the queue ends 200 ms deep.
    const lagging = probeResult({ sent: 120, ok: 120, elapsedMs: 1200 });
    assert.match(probeFailure(120, lagging, { ...bounds, serviceMs: 10 }) ?? '', /answered 100\.84 req\/s of 120 offered/);
  });

  it('bisects to the highest rate the server keeps up with', async () => {
    // A server that answers 40 requests/s: above that its last answer comes rate/40 s in, plus its
    // 300 ms. A probe passes while the answers keep within 10 % of the offer, so up to 44.4/s.
    const probe = async (rate: number) =>
      probeResult(rate <= 40 ? { sent: rate, ok: rate, elapsedMs: 1000 } : { sent: rate, ok: rate, elapsedMs: 1000 * (rate / 40) + 300 });
    const search = await highestSustainableRate({ ...bounds, serviceMs: 300, saturationRate: 60, steps: 8, probe });
    assert.ok(search.best, JSON.stringify(search.probes));
    assert.ok(search.best.rate <= 40 / 0.9 && search.best.rate >= 38, `best ${search.best.rate}`);
    assert.ok(search.probes.some((p) => p.failure !== undefined && p.rate > 40 / 0.9));
  });
});

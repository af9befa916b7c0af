import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latencyCdf } from '../../src/simulator/latencyCdf.js';

describe('latencyCdf', () => {
  it('counts unanswered requests in the total, so the curve ends at the share answered', () => {
    const cdf = latencyCdf(Float64Array.from([30, 10, Number.NaN, 20]));
    assert.deepEqual(cdf, [
      [10, 0.25],
      [20, 0.5],
      [30, 0.75],
    ]);
  });

  it('keeps about `points` points, the last one the slowest answer', () => {
    const latencies = Float64Array.from({ length: 10_000 }, (_, i) => i + 1);
    const cdf = latencyCdf(latencies, 100);
    assert.ok(cdf.length >= 100 && cdf.length <= 102, `${cdf.length} points`);
    assert.deepEqual(cdf.at(-1), [10_000, 1]);
    for (let i = 1; i < cdf.length; i++) assert.ok((cdf[i]?.[0] as number) >= (cdf[i - 1]?.[0] as number), 'sorted by latency');
    assert.deepEqual(latencyCdf(Float64Array.from([Number.NaN])), []);
  });
});

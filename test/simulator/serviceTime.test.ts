import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nearestRank } from '../../src/common/nearestRank.js';
import { RandomVariates } from '../../src/simulator/randomVariates.js';
import { meanServiceMs, ServiceTable, serviceTimesFromProfile } from '../../src/simulator/serviceTime.js';

const row = (batch: number, p50Ms: number, p99Ms: number) => ({ batch, p50Ms, p95Ms: p99Ms, p99Ms, throughputRps: (1000 * batch) / p50Ms });

describe('service times from profiles', () => {
  it("draws batch times whose p50 and p99 are the profile row's (lognormal fit), within 1.5 %", () => {
    const table = new ServiceTable(serviceTimesFromProfile([row(1, 148.2, 173.9)], 1));
    const random = new RandomVariates(3);
    const samples = Float64Array.from({ length: 200_000 }, () => table.sample(1, random)).sort();
    for (const [q, expected] of [
      [0.5, 148.2],
      [0.99, 173.9],
    ] as const) {
      const got = nearestRank(samples, q);
      assert.ok(Math.abs(got / expected - 1) < 0.015, `q${q}: ${got} vs ${expected}`);
    }
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    assert.ok(Math.abs(mean / meanServiceMs({ kind: 'lognormal', p50Ms: 148.2, p99Ms: 173.9 }) - 1) < 0.005, `mean ${mean}`);
  });

  it('times a partial batch of k like the smallest profiled batch holding k', () => {
    const times = serviceTimesFromProfile([row(1, 10, 12), row(4, 20, 25), row(8, 30, 40)], 8);
    assert.deepEqual(
      times.map((t) => (t.kind === 'lognormal' ? t.p50Ms : Number.NaN)),
      [10, 20, 20, 20, 30, 30, 30, 30],
    );
    assert.throws(() => serviceTimesFromProfile([row(1, 10, 12)], 2), /no profile row for a batch of 2 \(profiled batches: 1\)/);
  });

  it('rejects percentiles no distribution has', () => {
    assert.throws(() => new ServiceTable([{ kind: 'lognormal', p50Ms: 20, p99Ms: 10 }]), /0 < p50 ≤ p99, got p50 20 ms, p99 10 ms/);
    assert.throws(() => new ServiceTable([{ kind: 'exponential', meanMs: 0 }]), /mean > 0/);
  });
});

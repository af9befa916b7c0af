import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import type { ReplayRecord } from '../../src/live/loadReplay.js';
import { type AppliedStep, rolloutWindows, simulateServing, splitByRollouts } from '../../src/live/servingReplay.js';
import type { Config } from '../../src/model/config.js';
import type { PipelineSpec } from '../../src/model/pipelineSpec.js';
import type { ProfileSet } from '../../src/model/profileSet.js';

/** The testbed's profiles with a few rows made deterministic (p50 = p99), so every latency is known. */
function withFixedTimes(profiles: ProfileSet, fixed: Record<string, number>): ProfileSet {
  const copy: ProfileSet = structuredClone(profiles);
  for (const variant of copy.variants) {
    for (const profile of variant.profiles) {
      const ms = fixed[`${variant.variant}/${profile.shape}`];
      if (ms === undefined) continue;
      for (const row of profile.rows) Object.assign(row, { p50Ms: ms, p95Ms: ms, p99Ms: ms });
    }
  }
  return copy;
}

const config = (reduce: string): Config => ({
  stages: [
    { stage: 'reduce', variant: reduce, shape: 'cpu-1', batch: 1, replicas: 1 },
    { stage: 'classify', variant: 'classify-logreg', shape: 'cpu-1', batch: 1, replicas: 1 },
  ],
});

/** A request of a replay sent at `atMs`, answered after `latencyMs`. */
const request = (i: number, atMs: number, latencyMs: number, outcome: ReplayRecord['outcome'] = 'ok'): ReplayRecord => ({
  i,
  sentAt: 1_700_000_000_000 + atMs,
  scheduledMs: atMs,
  sentMs: atMs,
  latencyMs,
  status: outcome === 'ok' ? 200 : 503,
  outcome,
});

describe("the simulator serving a live run's own configs", () => {
  let spec: PipelineSpec;
  let profiles: ProfileSet;
  before(async () => {
    spec = await resolvePipelineSpec('testbed');
    // A fast reduce (10 ms), a slow one (250 ms) and a 10-ms classifier: a request alone takes 20 or 260 ms.
    profiles = withFixedTimes(await resolveProfileSet('testbed'), {
      'reduce-pca8/cpu-1': 10,
      'reduce-kpca1200/cpu-1': 250,
      'classify-logreg/cpu-1': 10,
    });
  });

  // 20 requests, one every 500 ms from 250 ms: never two in a replica at once.
  const sendAtMs = Float64Array.from({ length: 20 }, (_, i) => 250 + 500 * i);

  test('each config serves from its step plus the delay; the first from the start', () => {
    const steps: AppliedStep[] = [
      { t: -3, config: config('reduce-pca8') },
      { t: 2, config: config('reduce-pca8') },
      { t: 5, config: config('reduce-kpca1200'), servingMs: 900 },
    ];
    const figures = simulateServing({ spec, profiles, sendAtMs, durationMs: 10_000, steps, reconfigurationDelaySeconds: 1, seed: 1 });
    // The switch at 5 s serves from 6 s: the 12 requests before take 20 ms, the 8 after 260 ms (> the 200-ms SLA).
    assert.deepEqual(figures, { requests: 20, violationsPct: 40, p50Ms: 20, p99Ms: 260 });
  });

  test('steps are taken in time order, and a run with no config is refused', () => {
    const steps: AppliedStep[] = [
      { t: 5, config: config('reduce-kpca1200') },
      { t: -1, config: config('reduce-pca8') },
    ];
    const figures = simulateServing({ spec, profiles, sendAtMs, durationMs: 10_000, steps, reconfigurationDelaySeconds: 0, seed: 1 });
    // No delay: from 5 s on, 10 requests at 260 ms.
    assert.equal(figures.violationsPct, 50);
    assert.throws(
      () => simulateServing({ spec, profiles, sendAtMs, durationMs: 10_000, steps: [{ t: 0 }], reconfigurationDelaySeconds: 1, seed: 1 }),
      /the live run of testbed recorded no config to serve/,
    );
  });
});

describe('requests sent during rollouts', () => {
  test('a rollout runs from its step to its replicas serving; steps that started nothing have none', () => {
    assert.deepEqual(rolloutWindows([{ t: -2, servingMs: 1500 }, { t: 10 }, { t: 20, servingMs: 4000 }]), [
      [-2000, -500],
      [20_000, 24_000],
    ]);
  });

  test('the measured requests split by send time, each figure over its own part', () => {
    const records = [
      request(0, 100, 50),
      request(1, 1000, 300),
      request(2, 1500, 90, 'dropped'),
      request(3, 2999, 120),
      request(4, 3000, 40),
    ];
    const { during, outside } = splitByRollouts(records, [[1000, 3000]], 200);
    // During: 300 ms (late), a drop and 120 ms: 2 of 3 violate; the ok answers' p50 and p99.
    assert.equal(during.requests, 3);
    assert.equal(during.violationsPct, 66.667);
    assert.equal(during.p99Ms, 300);
    assert.deepEqual(outside, { requests: 2, violationsPct: 0, p50Ms: 40, p99Ms: 50 });
  });
});

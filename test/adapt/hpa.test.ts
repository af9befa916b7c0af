import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HPA_DEFAULTS, type HpaRecommendation, hpaStep } from '../../src/adapt/hpa.js';

// Hand-computed against the HPA's documented rule: desired = ceil(current × current/target metric).
describe('the HPA rule for one stage', () => {
  const settings = HPA_DEFAULTS;

  it('scales up at once: 3 replicas of 10 rps at 30 rps is 100 % against 70 %, ceil(3 × 1.4286) = 5', () => {
    const out = hpaStep({ current: 3, load: 30, capacity: 10, atMs: 0, history: [], settings });
    assert.equal(out.replicas, 5);
    assert.match(out.reason, /utilisation 100 % against the 70 % target: ceil\(3 × 1\.429\) = 5/);
  });

  it('keeps the replicas within the 10 % tolerance: 75 % against 70 % is a ratio of 1.071', () => {
    const out = hpaStep({ current: 4, load: 30, capacity: 10, atMs: 0, history: [], settings });
    assert.equal(out.replicas, 4);
    assert.match(out.reason, /within 10 % of the 70 % target/);
    // 80 % is a ratio of 1.143: outside, ceil(4 × 1.143) = 5.
    assert.equal(hpaStep({ current: 4, load: 32, capacity: 10, atMs: 0, history: [], settings }).replicas, 5);
  });

  it('holds a scale-down for the stabilisation window, then lets it through', () => {
    let history: HpaRecommendation[] = [];
    let current = 6;
    // At 42 rps: 6 × 10 rps at 70 % exactly.
    ({ history } = hpaStep({ current, load: 42, capacity: 10, atMs: 0, history, settings }));
    // At 13 rps: ceil(6 × (13/60)/0.7) = ceil(1.857) = 2, but the window holds the 6 of t = 0.
    const held = hpaStep({ current, load: 13, capacity: 10, atMs: 100_000, history, settings });
    assert.equal(held.replicas, 6);
    assert.match(held.reason, /held at 6 by the scale-down stabilisation window \(300 s\)/);
    history = held.history;
    current = held.replicas;
    // 301 s after the 6 was recommended it leaves the window: the highest left is 2.
    const later = hpaStep({ current, load: 13, capacity: 10, atMs: 301_000, history, settings });
    // And exactly 2: 6 × (14/60)/0.7 is 2.0000000000000004 in floating point, still 2 replicas.
    assert.equal(hpaStep({ current, load: 14, capacity: 10, atMs: 301_000, history, settings }).replicas, 2);
    assert.equal(later.replicas, 2);
    assert.deepEqual(
      later.history.map((h) => h.atMs),
      [100_000, 301_000],
    );
  });

  it('scales the window with the run speed and clamps to the replica limits', () => {
    const fast = { ...settings, stabilizationMs: 300_000 / 10 };
    const first = hpaStep({ current: 5, load: 35, capacity: 10, atMs: 0, history: [], settings: fast });
    assert.equal(hpaStep({ current: 5, load: 6, capacity: 10, atMs: 31_000, history: first.history, settings: fast }).replicas, 1);
    const capped = hpaStep({ current: 4, load: 200, capacity: 10, atMs: 0, history: [], settings: { ...settings, maxReplicas: 8 } });
    assert.equal(capped.replicas, 8);
    assert.match(capped.reason, /clamped to 1\.\.8/);
    const floor = hpaStep({ current: 2, load: 0, capacity: 10, atMs: 0, history: [], settings: { ...settings, minReplicas: 1 } });
    assert.equal(floor.replicas, 1);
  });
});

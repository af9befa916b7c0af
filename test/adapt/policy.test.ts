import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { preparePipeline } from '../../src/activities/preparePipeline.js';
import { policyFor } from '../../src/adapt/policy.js';
import { recommend } from '../../src/adapt/recommend.js';
import { plannedLoad } from '../../src/forecast/forecast.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { parseAdaptInput } from '../../src/model/adaptInput.js';
import type { Config } from '../../src/model/config.js';
import type { PipelineSpec } from '../../src/model/pipelineSpec.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { settingsOf } from '../../src/model/settings.js';
import { decide } from '../../src/optimizer/decide.js';
import { loadHighsSolver } from '../../src/optimizer/highsSolver.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';

/** The loop's policies on the testbed pipeline and its profiles, through the one recommender. */
describe('policies in the recommender', () => {
  let spec: PipelineSpec;
  let profiles: ProfileSet;
  const PEAK = 40;

  before(async () => {
    await loadHighsSolver();
    profiles = await resolveProfileSet('testbed');
    spec = await resolvePipelineSpec('testbed', profiles);
  });

  const at = (load: number, policy: ReturnType<typeof policyFor>, current?: Config, extra: object = {}) =>
    recommend({
      spec,
      profiles,
      load: plannedLoad({ forecast: load, upper: load, method: 'max', reason: 'test' }, 'forecast'),
      settings: settingsOf(spec),
      explain: false,
      policy,
      ...(current ? { current } : {}),
      ...extra,
    });

  it('picks for the HPA the most accurate variants that carry the peak at its target, as brute force does', () => {
    const atPeak = problemFromSpec(spec, profiles, PEAK);
    const hpa = policyFor('hpa', atPeak);
    const sized = { ...atPeak, load: PEAK / 0.7 };
    let best = Number.NEGATIVE_INFINITY;
    const [first, second] = sized.stages;
    for (const a of first?.variants ?? [])
      for (const b of second?.variants ?? []) {
        const current = {
          stages: [a, b].map((v, i) => ({
            stage: sized.stages[i]?.name as string,
            variant: v.name,
            shape: v.shapes[0]?.name as string,
            batch: 1,
            replicas: 1,
          })),
        };
        if (decide(sized, { baseline: 'fa2', current, explain: false }).feasible) best = Math.max(best, a.accuracy + b.accuracy);
      }
    const chosen = (hpa.held?.stages ?? []).reduce(
      (sum, s, i) => sum + (sized.stages[i]?.variants.find((v) => v.name === s.variant)?.accuracy ?? 0),
      0,
    );
    assert.equal(chosen, best);
    assert.match(hpa.description, /most accurate variants that carry the peak/);
  });

  it('sizes HPA replicas by ceil(load / (70 % of a replica’s throughput)) and keeps them within the window', () => {
    const atPeak = problemFromSpec(spec, profiles, PEAK);
    const hpa = policyFor('hpa', atPeak, { stabilizationMs: 60_000 });
    const held = hpa.held as Config;
    const capacity = held.stages.map(
      (h, i) =>
        atPeak.stages[i]?.variants
          .find((v) => v.name === h.variant)
          ?.shapes.find((x) => x.name === h.shape)
          ?.batches.find((b) => b.batch === h.batch)?.throughputRps as number,
    );
    // The HPA averages the last 15 s: the busier 45 s before them do not count.
    const high = at(30, hpa, undefined, { observed: [...Array(45).fill(400), ...Array(15).fill(30)], atMs: 0 });
    high.config.stages.forEach((s, i) => {
      assert.equal(s.replicas, Math.ceil(30 / (0.7 * (capacity[i] as number)) - 1e-9), s.stage);
    });
    assert.match(
      high.changeReason ?? '',
      new RegExp(`^hpa at 30\\.0 requests/s observed: ${high.config.stages.map((s) => `${s.stage} ×${s.replicas}: .+`).join('; ')}$`),
    );
    // Nothing observed yet: no load, one replica a stage.
    assert.deepEqual(
      at(30, hpa, undefined, { observed: [], atMs: 0 }).config.stages.map((s) => s.replicas),
      held.stages.map(() => 1),
    );
    // Load falls: within 60 s the replicas stay; after it they follow.
    const held30 = at(5, hpa, high.config, { observed: Array(15).fill(5), atMs: 30_000, hpaHistory: high.hpaHistory });
    assert.deepEqual(
      held30.config.stages.map((s) => s.replicas),
      high.config.stages.map((s) => s.replicas),
    );
    assert.equal(held30.changed, false);
    const later = at(5, hpa, held30.config, { observed: Array(15).fill(5), atMs: 90_000, hpaHistory: held30.hpaHistory });
    later.config.stages.forEach((s, i) => {
      assert.equal(s.replicas, Math.max(1, Math.ceil(5 / (0.7 * (capacity[i] as number)) - 1e-9)), s.stage);
    });
  });

  it('holds fa2’s variants, rim’s replicas and static’s whole config whatever runs before', () => {
    const atPeak = problemFromSpec(spec, profiles, PEAK);
    const ipaAtLow = at(3, policyFor('ipa', atPeak)).config;
    for (const name of ['fa2-low', 'fa2-high'] as const) {
      const policy = policyFor(name, atPeak);
      const config = at(20, policy, ipaAtLow).config;
      assert.deepEqual(
        config.stages.map((s) => s.variant),
        policy.held?.stages.map((s) => s.variant),
        name,
      );
    }
    const rim = policyFor('rim', atPeak);
    assert.deepEqual(
      at(3, rim, ipaAtLow).config.stages.map((s) => s.replicas),
      rim.held?.stages.map((s) => s.replicas),
    );
    const fixed = policyFor('static', atPeak);
    assert.deepEqual(at(3, fixed, ipaAtLow).config, fixed.held);
  });

  it('rejects policy input that cannot start, naming the field and value', async () => {
    assert.throws(() => parseAdaptInput({ pipeline: 'testbed', policy: 'hpa' }), /peakRps: required by policy hpa/);
    assert.throws(() => parseAdaptInput({ pipeline: 'testbed', policy: 'magic' }), /policy/);
    assert.throws(() => parseAdaptInput({ pipeline: 'testbed', hpa: { target: 0.5 } }), /hpa: only for policy hpa, got policy "ipa"/);
    assert.throws(
      () => parseAdaptInput({ pipeline: 'testbed', policy: 'hpa', peakRps: 10, hpa: { minReplicas: 4, maxReplicas: 2 } }),
      /hpa.minReplicas: must be ≤ hpa.maxReplicas \(2\), got 4/,
    );
    await assert.rejects(
      preparePipeline({ pipeline: 'testbed', policy: 'hpa', peakRps: 100_000 }),
      /peakRps: no choice of variants carries/,
    );
    const prepared = await preparePipeline({ pipeline: 'testbed', policy: 'rim', peakRps: PEAK });
    assert.equal(prepared.policy?.baseline, 'rim');
  });
});

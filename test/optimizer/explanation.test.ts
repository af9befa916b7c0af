import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Config } from '../../src/model/config.js';
import type { Problem } from '../../src/model/problem.js';
import { decide } from '../../src/optimizer/decide.js';
import { loadHighsSolver } from '../../src/optimizer/highsSolver.js';
import { classify, classifyWith, cpu, row } from './handInstance.js';

/**
 * A decision explains itself: which limit binds and what lifting it would gain, the best config
 * on another variant, why nothing is feasible and what runs instead. One stage worked by hand.
 */

const running = (variant: string, replicas = 1): Config => ({
  stages: [{ stage: 'classify', variant, shape: 'cpu-1', batch: 1, replicas }],
});
const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9;

describe('the explanation of a decision', () => {
  before(loadHighsSolver);

  it('names every limit that binds, with what lifting it would gain', () => {
    // Within 45 ms only small fits (0.69). Without the SLA: large ×3 (0.87); without maxReplicas:
    // huge ×6 (0.90); without maxBatch: large b2 (0.89).
    const d = decide(classify(45));
    assert.deepEqual(
      d.config.map((c) => `${c.variant} b${c.batch} ×${c.replicas}`),
      ['small b1 ×1'],
    );
    assert.equal(d.explanation.summary, 'binding: sla, maxReplicas, maxBatch');
    const gains = Object.fromEntries(d.explanation.binding.map((b) => [b.constraint, b.objectiveCost]));
    assert.ok(near(gains.sla, 0.18) && near(gains.maxReplicas, 0.21) && near(gains.maxBatch, 0.2), JSON.stringify(gains));
    assert.deepEqual(
      d.explanation.binding.map((b) => b.detail),
      [
        'SLA 45 ms binds: predicted latency 10 ms; without it the objective would be 0.18 higher',
        'maxReplicas binds: without it the objective would be 0.21 higher',
        'maxBatch binds: without it the objective would be 0.2 higher',
      ],
    );
    assert.deepEqual(d.explanation.alternatives, [
      { stage: 'classify', reason: 'no feasible config runs classify on a variant other than small' },
    ]);
    assert.deepEqual(d.explanation.infeasible, []);
    assert.equal(d.config[0]?.accuracy, 70);
    // Two options within the limits; the presolve drops large, over the SLA alone.
    assert.deepEqual([d.solver.optionsConsidered, d.solver.optionsAfterPruning], [2, 1]);
  });

  it('gives the best config on another variant and what it loses', () => {
    // Within 55 ms large ×3 (0.87) is best, small (0.69) the best on another variant.
    const d = decide(classify(55));
    assert.equal(d.config[0]?.variant, 'large');
    assert.equal(
      d.explanation.binding.find((b) => b.constraint === 'sla'),
      undefined,
      'nothing better past the SLA within the limits',
    );
    const [alternative] = d.explanation.alternatives;
    assert.deepEqual(alternative?.option, { variant: 'small', shape: 'cpu-1', batch: 1, replicas: 1 });
    assert.ok(near(alternative?.objectiveLoss, 0.18));
    assert.equal(alternative?.reason, 'best with another variant: small/cpu-1 batch 1 ×1 loses 0.18 objective');
  });

  it('rules out a stage’s variant in that stage only when it looks for the alternative', () => {
    // Two copies of the stage in one pipeline, within 110 ms: large ×3 twice (100 ms, 1.74). The
    // alternative of each stage runs small there and keeps large in the other: 1.56, a loss of 0.18.
    const one = classify(110);
    const twice: Problem = { ...one, stages: [one.stages[0], { ...one.stages[0], name: 'again' }] as Problem['stages'] };
    const d = decide(twice);
    assert.deepEqual(
      d.config.map((c) => `${c.stage} ${c.variant} ×${c.replicas}`),
      ['classify large ×3', 'again large ×3'],
    );
    assert.deepEqual(
      d.explanation.alternatives.map((a) => [a.stage, a.option?.variant, Number(a.objectiveLoss?.toFixed(9))]),
      [
        ['classify', 'small', 0.18],
        ['again', 'small', 0.18],
      ],
    );
  });

  it('a baseline says what its constraint costs against ipa, and that it fixed the variant', () => {
    const d = decide(classify(55), { baseline: 'fa2', current: running('small') });
    assert.equal(d.config[0]?.variant, 'small');
    assert.equal(d.baseline, 'fa2');
    const baseline = d.explanation.binding.find((b) => b.constraint === 'baseline');
    assert.ok(near(baseline?.objectiveCost, 0.18));
    assert.equal(baseline?.detail, "the fa2 baseline's constraint costs 0.18 objective against ipa");
    assert.deepEqual(d.explanation.alternatives, [{ stage: 'classify', reason: 'variant fixed by the fa2 baseline' }]);
    // rim holds the replicas: at ×3 only large b1 and small run, and large is better.
    const rim = decide(classify(55), { baseline: 'rim', current: running('small', 3) });
    assert.deepEqual(
      rim.config.map((c) => `${c.variant} ×${c.replicas}`),
      ['large ×3'],
    );
  });

  it('without explain, no alternatives and no binding are computed', () => {
    const d = decide(classify(45), { explain: false });
    assert.deepEqual(d.explanation, { summary: '', binding: [], alternatives: [], infeasible: [] });
    assert.equal(decide(classify(55)).explanation.summary.startsWith('binding: '), true);
    assert.equal(
      decide({ ...classify(1000), limits: { maxReplicas: 9, maxBatch: 2, maxBatchWaitMs: 50 } }).explanation.summary,
      'no constraint binds: every stage runs its best option for the objective',
    );
  });

  it('when no option can carry the load, names the closest and runs the fastest within the limits', () => {
    // 300 rps: small needs 10 replicas, large b1 30, huge 60, all over 3; small is the closest.
    const d = decide(classify(1000, 300));
    assert.equal(d.feasible, false);
    assert.equal(d.fallback, true);
    assert.deepEqual(d.explanation.infeasible, [
      'stage classify: no option is possible; closest: 300 rps needs 10 replicas of small/cpu-1 batch 1 > maxReplicas 3',
    ]);
    assert.equal(d.explanation.summary, `infeasible: ${d.explanation.infeasible[0]}; fallback config applied`);
    // The highest throughput within maxBatch is small's 30 rps (large b2's 40 is over it), at the cap.
    assert.deepEqual(
      d.config.map((c) => `${c.variant} b${c.batch} ×${c.replicas}`),
      ['small b1 ×3'],
    );
  });

  it('among equally good configs keeps the one running, at the replicas this load needs', () => {
    const twins = classifyWith([
      { name: 'a', accuracy: 80, shapes: cpu([row(1, 10, 20)]) },
      { name: 'b', accuracy: 80, shapes: cpu([row(1, 10, 20)]) },
    ]);
    assert.equal(decide(twins).config[0]?.variant, 'a');
    const kept = decide(twins, { current: running('b', 1) });
    assert.deepEqual(
      kept.config.map((c) => `${c.variant} ×${c.replicas}`),
      ['b ×2'],
    );
    // A running config over the SLA, or of another pipeline's shape, is not kept.
    assert.equal(decide({ ...twins, slaMs: 9 }, { current: running('b', 1) }).feasible, false);
    assert.equal(decide(twins, { current: { stages: [] } }).config[0]?.variant, 'a');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Problem } from '../../src/model/problem.js';
import {
  buildOptions,
  type Exclusion,
  type Relaxation,
  removeDominated,
  type StageOptions,
  type StageRestriction,
} from '../../src/optimizer/options.js';
import { row } from './handInstance.js';

/**
 * Which options a stage is offered and why every other one is left out: referenceModel.test.ts
 * checks the numbers of the options offered; this checks the set, the reasons a decision explains
 * itself with, and the limits and constraints that shape it.
 */

/**
 * One stage at 30 requests/s, steady, at most 3 replicas and batch 4. Rows are listed out of
 * batch order on purpose, and some shapes lack rows the others have.
 */
function classify(stage: Partial<Problem['stages'][number]> = {}): Problem {
  return {
    slaMs: 500,
    load: 30,
    arrivals: 'steady',
    latencyPercentile: 'p99',
    objective: { alpha: 1, beta: 0.01, gamma: 0.001, accuracy: 'sum' },
    limits: { maxReplicas: 3, maxBatch: 4, maxBatchWaitMs: 50 },
    cost: { cpu: 1, gpu: 10 },
    stages: [
      {
        name: 'classify',
        variants: [
          {
            name: 'small',
            accuracy: 70,
            shapes: [
              { name: 'cpu-1', cpu: 1, gpu: 0, batches: [row(8, 40, 100), row(1, 10, 20), row(2, 15, 30)] },
              { name: 'gpu', cpu: 1, gpu: 1, batches: [] },
            ],
          },
          {
            name: 'large',
            accuracy: 90,
            shapes: [
              { name: 'cpu-1', cpu: 1, gpu: 0, batches: [row(2, 60, 15), row(1, 50, 5)] },
              { name: 'cpu-2', cpu: 2, gpu: 0, batches: [row(1, 30, 12)] },
            ],
          },
        ],
        ...stage,
      },
    ],
  };
}

const offered = (stage: StageOptions) => stage.options.map((o) => `${o.variant}/${o.shape} b${o.batch} ×${o.replicas}`);
const leftOut = (stage: StageOptions) =>
  stage.excluded.map(
    (e: Exclusion) => `${e.stage} ${e.variant}/${e.shape}${e.batch === undefined ? '' : ` b${e.batch}`} ${e.reason}: ${e.detail}`,
  );

function stageOf(problem: Problem, restriction?: StageRestriction, relax?: Relaxation): StageOptions {
  return buildOptions(problem, [restriction], relax)[0] as StageOptions;
}

describe('the options of a stage', () => {
  it('offers each profiled row at the fewest replicas for the load, and says why every other is left out', () => {
    const stage = stageOf(classify());
    // small/cpu-1: 30 rps ÷ 20 rps = 1.5, so ×2; 30 ÷ 30 = 1 exactly, and steady arrivals need no
    // spare, so ×1. large/cpu-1 b2: 30 ÷ 15 = ×2; large/cpu-2: 30 ÷ 12 = 2.5, so ×3.
    assert.deepEqual(offered(stage), ['small/cpu-1 b1 ×2', 'small/cpu-1 b2 ×1', 'large/cpu-1 b2 ×2', 'large/cpu-2 b1 ×3']);
    // The profiled batches of the stage are 1, 2 and 8; a shape without one of them says so, in
    // batch order. large/cpu-1 b1 needs 30 ÷ 5 = 6 replicas, over the limit of 3.
    assert.deepEqual(leftOut(stage), [
      '0 small/cpu-1 b8 over-max-batch: batch 8 > maxBatch 4',
      '0 small/gpu missing-profile: small/gpu has no profile',
      '0 large/cpu-1 b8 missing-profile: large/cpu-1 has no profile row for batch 8',
      '0 large/cpu-1 b1 over-max-replicas: 30 rps needs 6 replicas of large/cpu-1 batch 1 > maxReplicas 3',
      '0 large/cpu-2 b2 missing-profile: large/cpu-2 has no profile row for batch 2',
      '0 large/cpu-2 b8 missing-profile: large/cpu-2 has no profile row for batch 8',
    ]);
    const over = stage.excluded.find((e) => e.reason === 'over-max-replicas');
    assert.equal(over?.replicasNeeded, 6);
    assert.equal(over?.throughputRps, 5);
    assert.equal(stage.name, 'classify');
    assert.equal(stage.maxReplicas, 3);
  });

  it('queued arrivals need capacity strictly above the load: an exact multiple takes a replica more', () => {
    const stage = stageOf({ ...classify(), arrivals: 'poisson' });
    // small/cpu-1 b2: 1 × 30 rps = 30 rps would queue without bound, so ×2 is the fewest; ×3 is
    // offered too while a replica more still shortens the queue wait.
    assert.ok(offered(stage).includes('small/cpu-1 b2 ×2'));
    assert.ok(!offered(stage).includes('small/cpu-1 b2 ×1'));
  });

  it('constraints rule out variants, shapes, batches and replica counts, and say so', () => {
    const constrained = (restriction: StageRestriction) => {
      const stage = stageOf(classify(), restriction);
      return { offered: offered(stage), constrained: leftOut(stage).filter((e) => !e.includes('missing-profile')) };
    };
    assert.deepEqual(constrained({ variant: 'large' }), {
      offered: ['large/cpu-1 b2 ×2', 'large/cpu-2 b1 ×3'],
      constrained: [
        '0 small/cpu-1 constrained: small/cpu-1 is ruled out by the constraint',
        '0 small/gpu constrained: small/gpu is ruled out by the constraint',
        '0 large/cpu-1 b1 over-max-replicas: 30 rps needs 6 replicas of large/cpu-1 batch 1 > maxReplicas 3',
      ],
    });
    assert.deepEqual(constrained({ excludeVariant: 'large' }), {
      offered: ['small/cpu-1 b1 ×2', 'small/cpu-1 b2 ×1'],
      constrained: [
        '0 small/cpu-1 b8 over-max-batch: batch 8 > maxBatch 4',
        '0 large/cpu-1 constrained: large/cpu-1 is ruled out by the constraint',
        '0 large/cpu-2 constrained: large/cpu-2 is ruled out by the constraint',
      ],
    });
    assert.deepEqual(constrained({ shape: 'cpu-2' }).offered, ['large/cpu-2 b1 ×3']);
    // The batch constraint comes before the batch limit: b8 is constrained, not over the limit.
    assert.deepEqual(constrained({ batch: 2 }), {
      offered: ['small/cpu-1 b2 ×1', 'large/cpu-1 b2 ×2'],
      constrained: [
        '0 small/cpu-1 b8 constrained: small/cpu-1 batch 8 is ruled out by the constraint',
        '0 small/cpu-1 b1 constrained: small/cpu-1 batch 1 is ruled out by the constraint',
        '0 large/cpu-1 b1 constrained: large/cpu-1 batch 1 is ruled out by the constraint',
        '0 large/cpu-2 b1 constrained: large/cpu-2 batch 1 is ruled out by the constraint',
      ],
    });
    // Fixed replicas (rim) are offered as they are, never more, and too few for the load say so.
    assert.deepEqual(constrained({ replicas: 2 }), {
      offered: ['small/cpu-1 b1 ×2', 'small/cpu-1 b2 ×2', 'large/cpu-1 b2 ×2'],
      constrained: [
        '0 small/cpu-1 b8 over-max-batch: batch 8 > maxBatch 4',
        '0 large/cpu-1 b1 under-replicated: 2 replicas × 5 rps of large/cpu-1 batch 1 < 30 rps',
        '0 large/cpu-2 b1 under-replicated: 2 replicas × 12 rps of large/cpu-2 batch 1 < 30 rps',
      ],
    });
  });

  it("limits: a stage's own replace the pipeline's, and a relaxation replaces both", () => {
    const own = stageOf(classify({ maxReplicas: 2, maxBatch: 1 }));
    assert.equal(own.maxReplicas, 2);
    assert.deepEqual(offered(own), ['small/cpu-1 b1 ×2']);
    assert.ok(leftOut(own).includes('0 large/cpu-2 b1 over-max-replicas: 30 rps needs 3 replicas of large/cpu-2 batch 1 > maxReplicas 2'));
    assert.ok(leftOut(own).includes('0 small/cpu-1 b2 over-max-batch: batch 2 > maxBatch 1'));
    const relaxed = stageOf(classify({ maxReplicas: 2, maxBatch: 1 }), undefined, { maxReplicas: 6, maxBatch: 8 });
    assert.equal(relaxed.maxReplicas, 6);
    assert.deepEqual(offered(relaxed), [
      'small/cpu-1 b8 ×1',
      'small/cpu-1 b1 ×2',
      'small/cpu-1 b2 ×1',
      'large/cpu-1 b2 ×2',
      'large/cpu-1 b1 ×6',
      'large/cpu-2 b1 ×3',
    ]);
  });

  it('poisson-mgc without a row’s spread is an error naming the batch and the missing field', () => {
    const problem = classify();
    const shape = problem.stages[0]?.variants[0]?.shapes[0];
    assert.ok(shape);
    for (const [spread, missing] of [
      [{ p50Ms: 9 }, 'p50Ms 9, p99Ms undefined'],
      [{ p99Ms: 30 }, 'p50Ms undefined, p99Ms 30'],
    ] as const) {
      shape.batches = [{ ...row(1, 10, 20), ...spread }];
      assert.throws(
        () => buildOptions({ ...problem, arrivals: 'poisson-mgc' }),
        new RegExp(`poisson-mgc needs each batch row's p50Ms and p99Ms; batch 1 has ${missing}`),
      );
    }
  });
});

describe('dominated options', () => {
  /** The worked instance's four options, scored on two criteria by a table (larger is better). */
  function scored(scores: Record<string, number[]>) {
    const stage = stageOf(classify());
    const criteria = (o: StageOptions['options'][number]) => scores[`${o.variant}/${o.shape} b${o.batch}`] as number[];
    return removeDominated(stage, criteria);
  }

  it('are removed whatever their order, ties keep the first, and the exclusions before stay', () => {
    const pruned = scored({
      // Listed before what dominates it, so a single pass in list order would keep it.
      'small/cpu-1 b1': [1, 1],
      'small/cpu-1 b2': [2, 2],
      // A tie with the one before: the first of the two is kept.
      'large/cpu-1 b2': [2, 2],
      // Better in one criterion: kept.
      'large/cpu-2 b1': [3, 0],
    });
    assert.deepEqual(offered(pruned), ['small/cpu-1 b2 ×1', 'large/cpu-2 b1 ×3']);
    const dominated = pruned.excluded.filter((e) => e.reason === 'dominated');
    assert.deepEqual(
      dominated.map(
        (e) => `${e.variant}/${e.shape} b${e.batch} by ${e.dominatedBy?.variant}/${e.dominatedBy?.shape} b${e.dominatedBy?.batch}`,
      ),
      ['small/cpu-1 b1 by small/cpu-1 b2', 'large/cpu-1 b2 by small/cpu-1 b2'],
    );
    assert.equal(pruned.excluded.length, 6 + 2, 'the six exclusions of buildOptions are kept');
  });

  it('compare every criterion: the second decides where the first ties', () => {
    const pruned = scored({
      'small/cpu-1 b1': [1, 0],
      'small/cpu-1 b2': [1, 5],
      'large/cpu-1 b2': [0, 9],
      'large/cpu-2 b1': [0, 1],
    });
    assert.deepEqual(offered(pruned), ['small/cpu-1 b2 ×1', 'large/cpu-1 b2 ×2']);
  });
});

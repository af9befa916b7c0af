import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Problem } from '../../src/model/problem.js';
import { decideWithHighs } from '../../src/optimizer/decide.js';
import { loadHighsSolver } from '../../src/optimizer/highsSolver.js';
import { buildOptions, type Option } from '../../src/optimizer/options.js';
import {
  erlangCBySum,
  type ReferenceOption,
  referenceLatency,
  referenceObjective,
  referenceOptimum,
  referenceOption,
  referenceOptions,
  referencePas,
} from './referenceModel.js';

/**
 * The optimizer's options and decisions against an evaluator written separately from DESIGN.md's
 * formulas (./referenceModel.ts). exactness.test.ts proves the search exact over the options the
 * optimizer builds; this proves the options right.
 */

const FIELDS = ['accuracy', 'batchWaitMs', 'queueMs', 'latencyMs', 'cost', 'penalty'] as const;
const close = (a: number, b: number, relative = 1e-9) => Math.abs(a - b) <= relative * Math.max(1, Math.abs(b));
const nameOf = (o: { stage: number; variant: string; shape: string; batch: number; replicas: number }) =>
  `stage ${o.stage} ${o.variant}/${o.shape} batch ${o.batch} ×${o.replicas}`;

/** Every option the optimizer builds is the reference's, with the reference's numbers, and none is missing. */
function assertOptionsMatch(problem: Problem): void {
  const built = buildOptions(problem);
  const expected = referenceOptions(problem);
  built.forEach((stage, s) => {
    const reference = new Map((expected[s] as ReferenceOption[]).map((o) => [nameOf(o), o]));
    const got = new Map(stage.options.map((o) => [nameOf(o), o]));
    for (const name of reference.keys())
      assert.ok(got.has(name), `${name}: the reference has this option, the optimizer does not build it`);
    for (const [name, option] of got) {
      const want = reference.get(name);
      if (!want) {
        const counts = [...reference.values()].filter(
          (o) => o.variant === option.variant && o.shape === option.shape && o.batch === option.batch,
        );
        assert.fail(
          `${name}: the optimizer builds this option; the reference offers ${counts.length > 0 ? `×${counts.map((o) => o.replicas).join(', ×')}` : 'none'} of it`,
        );
      }
      for (const field of FIELDS) {
        assert.ok(
          close(option[field], want[field]),
          `${name}: ${field} ${option[field]}, the reference says ${want[field]} (arrivals ${problem.arrivals ?? 'steady'}, load ${problem.load})`,
        );
      }
    }
  });
}

/** A problem of one stage, one variant and one shape: the hand-worked instances below. */
function oneRow(
  arrivals: Problem['arrivals'],
  row: Problem['stages'][number]['variants'][number]['shapes'][number]['batches'][number],
  load: number,
  maxBatchWaitMs = 50,
): Problem {
  return {
    slaMs: 200,
    load,
    arrivals,
    latencyPercentile: 'p99',
    objective: { alpha: 1, beta: 0.01, gamma: 0.001, accuracy: 'sum' },
    limits: { maxReplicas: 10, maxBatch: 8, maxBatchWaitMs },
    cost: { cpu: 1, gpu: 10 },
    stages: [{ name: 's', variants: [{ name: 'v', accuracy: 80, shapes: [{ name: 'cpu-1', cpu: 1, gpu: 0, batches: [row] }] }] }],
  };
}

/** Option numbers by replica count: what the hand arithmetic gives, to 0.01 ms. */
function assertByHand(
  problem: Problem,
  expected: Record<number, { batchWaitMs: number; queueMs: number; latencyMs: number; cost: number }>,
) {
  const built = buildOptions(problem)[0]?.options ?? [];
  const reference = referenceOptions(problem)[0] ?? [];
  const counts = Object.keys(expected).map(Number);
  for (const [options, who] of [
    [built, 'optimizer'],
    [reference, 'reference'],
  ] as const) {
    const got = options.map((o) => o.replicas);
    assert.deepEqual(got, counts, `the ${who} offers replica counts ×${got.join(', ×')}, by hand ×${counts.join(', ×')}`);
    for (const o of options as (Option | ReferenceOption)[]) {
      const want = expected[o.replicas] as (typeof expected)[number];
      for (const field of ['batchWaitMs', 'queueMs', 'latencyMs', 'cost'] as const) {
        assert.ok(Math.abs(o[field] - want[field]) < 0.01, `${who} ×${o.replicas}: ${field} ${o[field]}, by hand ${want[field]}`);
      }
    }
  }
}

describe('the optimizer model against an independent reference', () => {
  before(loadHighsSolver);

  it('Erlang C by the textbook sum gives the closed forms: C(1, ρ) = ρ, C(2, 1) = 1/3', () => {
    assert.ok(close(erlangCBySum(1, 0.25), 0.25));
    assert.ok(close(erlangCBySum(2, 1), 1 / 3));
    assert.ok(close(erlangCBySum(3, 1), 1 / 11));
  });

  it('steady arrivals, worked by hand', () => {
    // λ = 30. Batch 1 (L 20 ms, T 25/s): n = ⌈30/25⌉ = ⌈1.2⌉ = 2, no batching wait, cost 2 × 1.
    assertByHand(oneRow('steady', { batch: 1, latencyMs: 20, throughputRps: 25 }, 30), {
      2: { batchWaitMs: 0, queueMs: 0, latencyMs: 20, cost: 2 },
    });
    // Batch 4 (L 40 ms, T 40/s): n = ⌈30/40⌉ = 1; the batch fills in (4 − 1)/30 s = 100 ms, capped
    // by the 50 ms timeout, so 40 + 50 = 90 ms.
    assertByHand(oneRow('steady', { batch: 4, latencyMs: 40, throughputRps: 40 }, 30), {
      1: { batchWaitMs: 50, queueMs: 0, latencyMs: 90, cost: 1 },
    });
    // At λ = 100 the fill takes 3/100 s = 30 ms, under the timeout: n = ⌈100/40⌉ = 3, 40 + 30 = 70.
    assertByHand(oneRow('steady', { batch: 4, latencyMs: 40, throughputRps: 40 }, 100), {
      3: { batchWaitMs: 30, queueMs: 0, latencyMs: 70, cost: 3 },
    });
  });

  it('poisson arrivals (M/M/c of batches), worked by hand', () => {
    // λ = 10, batch 1, T 10/s: a = λ/μ = 1. n = ⌈10/10⌉ = 1 has capacity = λ, not above it: 2.
    // C(2, 1) = (1/2 · 2/1) / (1 + 1 + 1) = 1/3;  p99 wait = ln((1/3)/0.01)/(2·10 − 10) s
    //   = 3.506558/10 = 350.66 ms.
    // C(3, 1) = (1/6 · 3/2) / (1 + 1 + 1/2 + 1/4) = 0.25/2.75 = 1/11; ln(9.0909)/20 = 110.36 ms.
    // C(4, 1) = (1/24 · 4/3) / (2.5 + 1/6 + 1/18) = 1/49; ln(2.0408)/30 = 23.78 ms.
    // C(5, 1) = (1/120 · 5/4) / (2.6667 + 1/24 + 1/96) = 1/261 ≤ 0.01: no wait at p99, the last count.
    assertByHand(oneRow('poisson', { batch: 1, latencyMs: 20, throughputRps: 10 }, 10), {
      2: { batchWaitMs: 0, queueMs: 350.66, latencyMs: 370.66, cost: 2 },
      3: { batchWaitMs: 0, queueMs: 110.36, latencyMs: 130.36, cost: 3 },
      4: { batchWaitMs: 0, queueMs: 23.78, latencyMs: 43.78, cost: 4 },
      5: { batchWaitMs: 0, queueMs: 0, latencyMs: 20, cost: 5 },
    });
    // Batch 4, T 40/s: batches arrive at λ/4 = 2.5/s, a replica serves 10/s, a = 0.25, n = 1.
    // Fill, with a 500 ms timeout: min(3/10 s, 500 ms) = 300 ms. C(1, 0.25) = 0.25: ln(25)/(10 − 2.5) = 3.218876/7.5 = 429.18 ms.
    // C(2, 0.25) = (0.03125 · 2/1.75)/(1.25 + 0.035714) = 1/36: ln(2.7778)/(20 − 2.5) = 58.38 ms.
    // C(3, 0.25) = 0.0022 ≤ 0.01: no wait.
    assertByHand(oneRow('poisson', { batch: 4, latencyMs: 40, throughputRps: 40 }, 10, 500), {
      1: { batchWaitMs: 300, queueMs: 429.18, latencyMs: 769.18, cost: 1 },
      2: { batchWaitMs: 300, queueMs: 58.38, latencyMs: 398.38, cost: 2 },
      3: { batchWaitMs: 300, queueMs: 0, latencyMs: 340, cost: 3 },
    });
  });

  it('poisson-mgc arrivals (M/G/c, Allen–Cunneen with its margins), worked by hand', () => {
    // p50 = p99 = 100 ms: a constant batch time, mean 100 ms, scv 0, so a replica serves 10/s
    // (the profile's throughput, 7/s here, is not used). λ = 10: n = 2 as in M/M/c above.
    // M/M/c's waits (350.66, 110.36, 23.78 ms) × (1 + 0)/2, then the larger of × 1.1 and + 15 ms
    // (0.15 of a batch time):
    //   n = 2: 175.33 → max(192.86, 190.33) = 192.86;  n = 3: 55.18 → max(60.70, 70.18) = 70.18;
    //   n = 4: 11.89 → max(13.08, 26.89) = 26.89;  n = 5: C ≤ 0.01, no wait.
    assertByHand(oneRow('poisson-mgc', { batch: 1, latencyMs: 100, throughputRps: 7, p50Ms: 100, p99Ms: 100 }, 10), {
      2: { batchWaitMs: 0, queueMs: 192.86, latencyMs: 292.86, cost: 2 },
      3: { batchWaitMs: 0, queueMs: 70.18, latencyMs: 170.18, cost: 3 },
      4: { batchWaitMs: 0, queueMs: 26.89, latencyMs: 126.89, cost: 4 },
      5: { batchWaitMs: 0, queueMs: 0, latencyMs: 100, cost: 5 },
    });
  });

  it('bursty arrivals (waves), worked by hand', () => {
    // λ = 30 at once, batch 4 (L 40 ms, T 40/s): n = ⌈30/40⌉ = 1 serves ⌈30/4⌉ = 8 waves. The burst
    // starts at λ² = 900/s, where a batch of 4 fills in 3/900 s = 3.3 ms: twice that is 6.7 ms, so
    // a 10 ms timeout (the limit is 50). The last, partial batch leaves at the timeout or after the
    // 7 waves before it (280 ms), the later: 40 + max(10, 280) = 320 ms, i.e. wait 10 + queue 270.
    // Counts that take a wave off: 2 (4 waves), 3 (3), 4 (2), 8 (1); 5–7 still need 2 waves and
    // 9–10 still 1.
    //   n = 2: 40 + max(10, 3 × 40) = 160;  n = 3: 40 + 80 = 120;  n = 4: 40 + 40 = 80;  n = 8: 40 + 10 = 50.
    assertByHand(oneRow('bursty', { batch: 4, latencyMs: 40, throughputRps: 40 }, 30), {
      1: { batchWaitMs: 10, queueMs: 270, latencyMs: 320, cost: 1 },
      2: { batchWaitMs: 10, queueMs: 110, latencyMs: 160, cost: 2 },
      3: { batchWaitMs: 10, queueMs: 70, latencyMs: 120, cost: 3 },
      4: { batchWaitMs: 10, queueMs: 30, latencyMs: 80, cost: 4 },
      8: { batchWaitMs: 10, queueMs: 0, latencyMs: 50, cost: 8 },
    });
  });

  it('the batch timeout, worked by hand: the shortest choice of twice the fill time, within the limit', () => {
    // Bursty, batch 4 (L 10 ms, T 400/s) at λ = 80 with a 200 ms limit: the burst starts at
    // λ² = 6,400/s and fills the batch in 3/6400 s = 0.47 ms; twice that is under 5 ms, so 5 ms.
    // The second's last batch leaves at 5 ms or after the waves before it: n = 1 has ⌈80/4⌉ = 20
    // waves, 10 + max(5, 190) = 200; the counts that save a wave, n = 2, 3, 4, 5, 7, 10 (10, 7, 5,
    // 4, 3, 2 waves), take 10 + 90, 60, 40, 30, 20, 10.
    const waves = { 2: 90, 3: 60, 4: 40, 5: 30, 7: 20, 10: 10 };
    assertByHand(oneRow('bursty', { batch: 4, latencyMs: 10, throughputRps: 400 }, 80, 200), {
      1: { batchWaitMs: 5, queueMs: 185, latencyMs: 200, cost: 1 },
      ...Object.fromEntries(
        Object.entries(waves).map(([n, q]) => [n, { batchWaitMs: 5, queueMs: q - 5, latencyMs: 10 + q, cost: Number(n) }]),
      ),
    });
    // Sized for the mean rate instead (batchFillRps 80, as the HPA's are): the batch fills in
    // 3/80 s = 37.5 ms, twice that is 75 ms, so 100 ms, which every count but n = 1 waits out:
    // 10 + max(100, 190) = 200 and 10 + 100 = 110. (With the limit as the timeout: 210 ms.)
    assertByHand(
      { ...oneRow('bursty', { batch: 4, latencyMs: 10, throughputRps: 400 }, 80, 200), batchFillRps: 80 },
      {
        1: { batchWaitMs: 100, queueMs: 90, latencyMs: 200, cost: 1 },
        ...Object.fromEntries([2, 3, 4, 5, 7, 10].map((n) => [n, { batchWaitMs: 100, queueMs: 0, latencyMs: 110, cost: n }])),
      },
    );
    // Steady, the same row at λ = 100 with a 500 ms limit: fill 30 ms, twice 60 ms, so 100 ms;
    // the wait is the fill, 30 ms, and the config says 100.
    const problem = oneRow('steady', { batch: 4, latencyMs: 40, throughputRps: 40 }, 100, 500);
    assertByHand(problem, { 3: { batchWaitMs: 30, queueMs: 0, latencyMs: 70, cost: 3 } });
    const [option] = buildOptions(problem)[0]?.options ?? [];
    assert.equal(option?.batchTimeoutMs, 100);
    // Past every choice (fill 300 ms at λ = 10): the limit, as before.
    assert.equal(
      buildOptions(oneRow('steady', { batch: 4, latencyMs: 40, throughputRps: 40 }, 10, 500))[0]?.options[0]?.batchTimeoutMs,
      500,
    );
  });

  it('the decision on a worked instance: the cheapest count within the SLA', async () => {
    // Poisson, batch 1 at λ = 10 under 200 ms: ×2 (370.66 ms) breaks it; ×3 (130.36 ms) is the
    // cheapest that holds: objective 0.8 − 0.01 × 3 − 0.001 × 1 = 0.769.
    const decision = await decideWithHighs(oneRow('poisson', { batch: 1, latencyMs: 20, throughputRps: 10 }, 10), { explain: false });
    assert.equal(decision.config[0]?.replicas, 3);
    assert.ok(close(decision.objective.value, 0.769), `objective ${decision.objective.value}`);
  });

  it('on random small instances every option and every decision carry the reference numbers, and the decision is its optimum', async () => {
    let feasible = 0;
    let runs = 0;
    const details = await fc.check(
      fc.asyncProperty(smallProblem(), async (problem) => {
        runs += 1;
        assertOptionsMatch(problem);
        const optimum = referenceOptimum(problem);
        const decision = await decideWithHighs(problem, { explain: false });
        assert.equal(decision.feasible, optimum !== undefined, `feasible ${decision.feasible}, the reference ${optimum !== undefined}`);
        if (!optimum) return;
        feasible += 1;
        const picked = decision.config.map((c, s) => referenceOption(problem, s, c.variant, c.shape, c.batch, c.replicas));
        for (const [s, c] of decision.config.entries()) {
          const want = picked[s] as ReferenceOption;
          for (const field of ['batchWaitMs', 'queueMs', 'latencyMs', 'cost'] as const) {
            assert.ok(close(c[field], want[field]), `decision ${nameOf(want)}: ${field} ${c[field]}, the reference says ${want[field]}`);
          }
        }
        assert.ok(
          referenceLatency(picked) <= problem.slaMs * (1 + 1e-12),
          `decision's latency ${referenceLatency(picked)} > SLA ${problem.slaMs}`,
        );
        assert.ok(
          close(decision.latencyMs, referenceLatency(picked)),
          `latency ${decision.latencyMs}, the reference ${referenceLatency(picked)}`,
        );
        assert.ok(
          close(decision.pas, referencePas(problem, picked)),
          `PAS ${decision.pas}, the reference ${referencePas(problem, picked)}`,
        );
        assert.ok(
          close(decision.objective.value, referenceObjective(problem, picked)),
          `objective ${decision.objective.value}, the reference ${referenceObjective(problem, picked)}`,
        );
        assert.ok(
          close(decision.objective.value, optimum.value),
          `objective ${decision.objective.value}, the reference optimum ${optimum.value} (${optimum.config.map(nameOf).join(', ')})`,
        );
      }),
      { numRuns: 300, seed: 21 },
    );
    // fast-check keeps the assertion as the cause, which the test reporter does not print: say it.
    if (details.failed) {
      const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      assert.fail(`${why}\non the smallest instance found (seed ${details.seed}): ${JSON.stringify(details.counterexample?.[0])}`);
    }
    // Both outcomes, or the comparison proves little.
    assert.ok(feasible > runs / 5 && feasible < runs, `feasible instances: ${feasible} of ${runs}`);
  });
});

/** Instances small enough to search exhaustively: up to 3 stages × 2 variants × 2 shapes × 3 batches × 5 counts. */
function smallProblem(): fc.Arbitrary<Problem> {
  const row = (batch: number) =>
    fc
      .record({
        latencyMs: fc.integer({ min: 5, max: 120 }),
        perItemRps: fc.integer({ min: 2, max: 40 }),
        spread: fc.double({ min: 1, max: 4, noNaN: true }),
      })
      .map(({ latencyMs, perItemRps, spread }) => ({
        batch,
        latencyMs: latencyMs * (1 + batch / 4),
        throughputRps: perItemRps * Math.sqrt(batch),
        p50Ms: (latencyMs * (1 + batch / 4)) / spread,
        p99Ms: latencyMs * (1 + batch / 4),
      }));
  const batches = fc
    .subarray([1, 2, 4, 8], { minLength: 1, maxLength: 3 })
    .chain((list) => fc.tuple(...list.sort((a, b) => a - b).map(row)));
  const shape = (name: string, gpu: number) => batches.map((rows) => ({ name, cpu: 1, gpu, batches: rows }));
  const variant = (name: string) =>
    fc.record({
      name: fc.constant(name),
      accuracy: fc.integer({ min: 40, max: 99 }),
      shapes: fc.oneof(fc.tuple(shape('cpu-1', 0)), fc.tuple(shape('gpu', 1)), fc.tuple(shape('cpu-1', 0), shape('gpu', 1))),
    });
  const stage = (name: string) =>
    fc.record({
      name: fc.constant(name),
      variants: fc.oneof(fc.tuple(variant('a')), fc.tuple(variant('a'), variant('b'))),
    });
  return fc.record({
    slaMs: fc.integer({ min: 30, max: 600 }),
    load: fc.oneof(fc.constant(0), fc.double({ min: 0.5, max: 60, noNaN: true })),
    arrivals: fc.constantFrom('steady', 'poisson', 'poisson-mgc', 'bursty'),
    latencyPercentile: fc.constantFrom('p50', 'p95', 'p99'),
    objective: fc.record({
      alpha: fc.double({ min: 0, max: 2, noNaN: true }),
      beta: fc.double({ min: 0, max: 0.1, noNaN: true }),
      gamma: fc.double({ min: 0, max: 0.01, noNaN: true }),
      accuracy: fc.constantFrom('sum', 'average', 'multiply'),
    }),
    limits: fc.record({
      maxReplicas: fc.integer({ min: 1, max: 5 }),
      maxBatch: fc.constantFrom(1, 2, 4, 8),
      maxBatchWaitMs: fc.integer({ min: 0, max: 200 }),
    }),
    cost: fc.record({ cpu: fc.double({ min: 0, max: 2, noNaN: true }), gpu: fc.double({ min: 0, max: 20, noNaN: true }) }),
    stages: fc.oneof(fc.tuple(stage('s1')), fc.tuple(stage('s1'), stage('s2')), fc.tuple(stage('s1'), stage('s2'), stage('s3'))),
  }) as fc.Arbitrary<Problem>;
}

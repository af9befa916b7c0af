import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import type { Problem } from '../../src/model/problem.js';
import { parseProblem } from '../../src/model/problem.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { settingsOf } from '../../src/model/settings.js';
import { ValidationError } from '../../src/model/validation.js';
import { decideWithHighs } from '../../src/optimizer/decide.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';

/** A one-stage problem with the given variants, each one shape and one batch row. */
function tiny(
  variants: { name: string; accuracy: number; latencyMs: number; throughputRps: number; batch?: number }[],
  slaMs: number,
  load = 10,
): Problem {
  return parseProblem({
    slaMs,
    load,
    objective: { alpha: 1, beta: 0.01, gamma: 1e-6, accuracy: 'sum' },
    limits: { maxReplicas: 10, maxBatch: 8, maxBatchWaitMs: 50 },
    cost: { cpu: 1, gpu: 10 },
    stages: [
      {
        name: 'only',
        variants: variants.map((v) => ({
          name: v.name,
          accuracy: v.accuracy,
          shapes: [
            { name: 'cpu-1', cpu: 1, gpu: 0, batches: [{ batch: v.batch ?? 1, latencyMs: v.latencyMs, throughputRps: v.throughputRps }] },
          ],
        })),
      },
    ],
  });
}

describe('decisions', () => {
  let profiles: ProfileSet;
  before(async () => {
    profiles = await resolveProfileSet('measured-h200');
  });

  it('picks, explains and predicts for the video pipeline', async () => {
    const spec = await resolvePipelineSpec('video', profiles);
    const d = await decideWithHighs(problemFromSpec(spec, profiles, 100));
    assert.equal(d.feasible, true);
    assert.equal(d.fallback, false);
    assert.deepEqual(
      d.config.map((c) => c.stage),
      ['detect', 'classify'],
    );
    for (const c of d.config) assert.ok(c.throughputRps >= 100, `${c.stage} covers the load`);
    assert.ok(d.latencyMs <= d.slaMs);
    assert.ok(Math.abs(d.slackMs - (d.slaMs - d.latencyMs)) < 1e-9);
    assert.ok(Math.abs(d.objective.value - (d.objective.accuracy - d.objective.cost - d.objective.batch)) < 1e-12);
    assert.equal(d.solver.status, 'optimal');
    assert.equal(d.solver.method, 'branch-and-bound');
    assert.equal(d.explanation.alternatives.length, 2);
    for (const alt of d.explanation.alternatives) {
      assert.ok(alt.objectiveLoss === undefined || alt.objectiveLoss >= -1e-12, alt.reason);
      assert.notEqual(alt.option?.variant, d.config.find((c) => c.stage === alt.stage)?.variant);
    }
  });

  it('says which constraint binds', async () => {
    const spec = await resolvePipelineSpec('video', profiles);
    const sumSpec = { ...spec, pas: 'sum' as const };
    const d = await decideWithHighs(problemFromSpec(sumSpec, profiles, 100, settingsOf(sumSpec, { slaMs: 40 })));
    assert.equal(d.feasible, true);
    const sla = d.explanation.binding.find((b) => b.constraint === 'sla');
    assert.ok(sla, JSON.stringify(d.explanation));
    assert.ok(sla.objectiveCost > 0);
    assert.match(sla.detail, /SLA 40 ms binds/);
  });

  it('explains an SLA nothing meets and returns a marked fallback', async () => {
    const spec = await resolvePipelineSpec('video', profiles);
    const d = await decideWithHighs(problemFromSpec(spec, profiles, 100, settingsOf(spec, { slaMs: 5 })));
    assert.equal(d.feasible, false);
    assert.equal(d.fallback, true);
    assert.match(d.explanation.infeasible[0] ?? '', /^fastest options need [\d.]+ ms > SLA 5 ms \(detect: .*, classify: .*\)$/);
    assert.equal(d.config.length, 2);
  });

  it('explains a load over maxReplicas with the replicas it would need', async () => {
    const spec = await resolvePipelineSpec('video', profiles);
    const narrow = { ...spec, limits: { ...spec.limits, maxReplicas: 3 } };
    const d = await decideWithHighs(problemFromSpec(narrow, profiles, 5000));
    assert.equal(d.feasible, false);
    assert.match(
      d.explanation.infeasible.join('\n'),
      /stage detect: no option is possible; closest: 5,000 rps needs \d+ replicas of .* > maxReplicas 3/,
    );
    // The fallback runs the highest-throughput option at the cap.
    const detect = d.config[0];
    assert.equal(detect?.replicas, 3);
  });

  it('load 0: one replica, batching waits the full timeout', async () => {
    const p = tiny(
      [
        { name: 'a', accuracy: 70, latencyMs: 10, throughputRps: 100, batch: 1 },
        { name: 'b', accuracy: 80, latencyMs: 10, throughputRps: 100, batch: 4 },
      ],
      100,
      0,
    );
    const d = await decideWithHighs(p);
    assert.equal(d.config[0]?.replicas, 1);
    assert.equal(d.config[0]?.variant, 'b');
    assert.equal(d.config[0]?.batchWaitMs, 50);
    assert.equal(d.latencyMs, 60);
  });

  it('an SLA exactly on an option latency is met', async () => {
    const d = await decideWithHighs(tiny([{ name: 'a', accuracy: 70, latencyMs: 12.3, throughputRps: 100 }], 12.3));
    assert.equal(d.feasible, true);
    assert.equal(d.slackMs, 0);
    const late = await decideWithHighs(tiny([{ name: 'a', accuracy: 70, latencyMs: 12.3, throughputRps: 100 }], 12.299999));
    assert.equal(late.feasible, false);
  });

  it('one option, and ties between identical options', async () => {
    const one = await decideWithHighs(tiny([{ name: 'a', accuracy: 70, latencyMs: 5, throughputRps: 100 }], 50));
    assert.equal(one.config[0]?.variant, 'a');
    for (const method of ['highs', 'bnb', 'brute'] as const) {
      const tie = await decideWithHighs(
        tiny(
          [
            { name: 'a', accuracy: 70, latencyMs: 5, throughputRps: 100 },
            { name: 'b', accuracy: 70, latencyMs: 5, throughputRps: 100 },
          ],
          50,
        ),
        { method },
      );
      assert.ok(['a', 'b'].includes(tie.config[0]?.variant ?? ''));
      assert.ok(Math.abs(tie.objective.value - (0.7 - 0.01 - 1e-6)) < 1e-12);
    }
  });

  it('baselines constrain the same model: fa2 keeps variants, rim keeps replicas, static evaluates', async () => {
    const spec = await resolvePipelineSpec('video', profiles);
    const problem = problemFromSpec(spec, profiles, 50);
    const current = {
      stages: [
        { stage: 'detect', variant: 'fasterrcnn_mobilenet_v3_large_fpn', shape: 'gpu-h200', batch: 1, replicas: 2 },
        { stage: 'classify', variant: 'resnet18', shape: 'cpu-8', batch: 1, replicas: 3 },
      ],
    };
    const ipa = await decideWithHighs(problem);
    const fa2 = await decideWithHighs(problem, { baseline: 'fa2', current });
    assert.deepEqual(
      fa2.config.map((c) => c.variant),
      current.stages.map((c) => c.variant),
    );
    assert.ok(fa2.objective.value <= ipa.objective.value + 1e-12);
    const rim = await decideWithHighs(problem, { baseline: 'rim', current });
    assert.deepEqual(
      rim.config.map((c) => c.replicas),
      [2, 3],
    );
    const fixed = await decideWithHighs(problem, { baseline: 'static', current });
    assert.equal(fixed.solver.method, 'evaluate');
    assert.deepEqual(
      fixed.config.map((c) => [c.variant, c.shape, c.batch, c.replicas]),
      current.stages.map((c) => [c.variant, c.shape, c.batch, c.replicas]),
    );
    // 3 replicas of resnet18 on cpu-8 carry 3 × 82 rps: at 400 rps the static config is infeasible.
    const overload = await decideWithHighs(problemFromSpec(spec, profiles, 400), { baseline: 'static', current });
    assert.equal(overload.feasible, false);
    assert.match(overload.explanation.infeasible.join(' '), /3 replicas × .* rps of resnet18\/cpu-8 batch 1 < 400 rps/);
  });

  it('rejects a current config that does not fit the pipeline', async () => {
    const spec = await resolvePipelineSpec('video', profiles);
    const problem = problemFromSpec(spec, profiles, 50);
    await assert.rejects(
      decideWithHighs(problem, {
        baseline: 'fa2',
        current: { stages: [{ stage: 'detect', variant: 'yolo', shape: 'gpu-h200', batch: 1, replicas: 1 }] },
      }),
      (err: unknown) =>
        err instanceof ValidationError &&
        /current.stages: expected 2 stages, got 1/.test(err.message) &&
        /current.stages\[0\].variant: unknown variant "yolo"/.test(err.message),
    );
    await assert.rejects(decideWithHighs(problem, { baseline: 'rim' }), /baseline rim needs the current config/);
    const [detect, classify] = (await decideWithHighs(problem)).config.map(({ stage, variant, shape, batch, replicas }) => ({
      ...{ stage, variant, shape, batch, replicas },
    }));
    assert.ok(detect && classify);
    await assert.rejects(
      decideWithHighs(problem, {
        baseline: 'static',
        current: {
          stages: [
            { ...detect, stage: 'find' },
            { ...classify, shape: 'tpu-9' },
          ],
        },
      }),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.message.includes('current.stages[0].stage: expected "detect", got "find"') &&
        err.message.includes(`current.stages[1].shape: unknown shape "tpu-9" for ${classify.variant}`) &&
        !err.message.includes('current.stages[0].shape'),
    );
  });

  it("keeps the serving path's overhead of the SLA free for the stages, for every solver", async () => {
    const variants = [
      { name: 'slow', accuracy: 0.9, latencyMs: 35, throughputRps: 100 },
      { name: 'fast', accuracy: 0.8, latencyMs: 10, throughputRps: 100 },
    ];
    const bare = await decideWithHighs(tiny(variants, 40));
    assert.deepEqual([bare.config[0]?.variant, bare.latencyMs], ['slow', 35]);
    const withPath = { ...tiny(variants, 40), overheadMs: 10 };
    for (const method of ['auto', 'brute'] as const) {
      const d = await decideWithHighs(withPath, { method });
      assert.equal(d.config[0]?.variant, 'fast', `${method}: slow's 35 ms and the path's 10 do not fit 40`);
      assert.equal(d.latencyMs, 20, `${method}: the stage's 10 ms and the path's 10`);
      assert.equal(d.slackMs, 20);
    }
    const none = await decideWithHighs({ ...tiny(variants, 15), overheadMs: 10 });
    assert.equal(none.feasible, false);
    assert.match(none.explanation.infeasible[0] ?? '', /^fastest options need 20 ms with the serving path's 10 ms > SLA 15 ms/);
    assert.throws(
      () => parseProblem({ ...tiny(variants, 40), overheadMs: 40 }),
      (err) => err instanceof ValidationError && /overheadMs 40 leaves nothing of slaMs 40/.test(err.message),
    );
  });

  it('names the closest option out of reach, and the fastest options when the SLA is out of reach', async () => {
    // Only batch 16 is profiled, over maxBatch 8: the stage has no option; the fallback runs it anyway.
    const overBatch = await decideWithHighs(tiny([{ name: 'big', accuracy: 0.9, latencyMs: 20, throughputRps: 100, batch: 16 }], 1000));
    const infeasible = ['stage only: no option is possible; closest: batch 16 > maxBatch 8'];
    assert.deepEqual(overBatch.explanation, {
      summary: `infeasible: ${infeasible.join('; ')}; fallback config applied`,
      binding: [],
      alternatives: [],
      infeasible,
    });
    assert.deepEqual(
      overBatch.config.map((c) => [c.variant, c.batch]),
      [['big', 16]],
    );
    // Two variants over a 5 ms SLA: the message names the faster one of each stage.
    const slow = await decideWithHighs(
      tiny(
        [
          { name: 'slow', accuracy: 0.9, latencyMs: 30, throughputRps: 100 },
          { name: 'fast', accuracy: 0.8, latencyMs: 10, throughputRps: 100 },
        ],
        5,
      ),
    );
    assert.match(
      slow.explanation.infeasible[0] ?? '',
      /^fastest options need [\d.]+ ms > SLA 5 ms \(only: fast\/cpu-1 batch 1 [\d.]+ ms\)$/,
    );
  });
});

describe('bad optimisation instances', () => {
  const valid = () => ({
    slaMs: 100,
    load: 10,
    objective: { alpha: 1, beta: 0.01, gamma: 1e-6, accuracy: 'sum' },
    limits: { maxReplicas: 10, maxBatch: 8, maxBatchWaitMs: 50 },
    cost: { cpu: 1, gpu: 10 },
    stages: [
      {
        name: 's',
        variants: [
          {
            name: 'v',
            accuracy: 70,
            shapes: [{ name: 'cpu-1', cpu: 1, gpu: 0, batches: [{ batch: 1, latencyMs: 5, throughputRps: 10 }] }],
          },
        ],
      },
    ],
  });
  const cases: [string, (p: any) => void, string, RegExp][] = [
    [
      'NaN latency',
      (p) => (p.stages[0].variants[0].shapes[0].batches[0].latencyMs = Number.NaN),
      'stages[0].variants[0].shapes[0].batches[0].latencyMs',
      /NaN/,
    ],
    [
      'negative latency',
      (p) => (p.stages[0].variants[0].shapes[0].batches[0].latencyMs = -3),
      'stages[0].variants[0].shapes[0].batches[0].latencyMs',
      /got -3/,
    ],
    [
      'zero throughput',
      (p) => (p.stages[0].variants[0].shapes[0].batches[0].throughputRps = 0),
      'stages[0].variants[0].shapes[0].batches[0].throughputRps',
      /got 0/,
    ],
    ['empty stage', (p) => (p.stages[0].variants = []), 'stages[0].variants', /at least one variant/],
    ['unknown accuracy method', (p) => (p.objective.accuracy = 'geometric'), 'objective.accuracy', /got "geometric"/],
    ['SLA 0', (p) => (p.slaMs = 0), 'slaMs', /got 0/],
    ['negative SLA', (p) => (p.slaMs = -100), 'slaMs', /got -100/],
    ['negative load', (p) => (p.load = -1), 'load', /got -1/],
    [
      'poisson-mgc without the spread',
      (p) => (p.arrivals = 'poisson-mgc'),
      'stages[0].variants[0].shapes[0].batches[0].p50Ms',
      /arrivals poisson-mgc fits the batch time to p50Ms and p99Ms; v\/cpu-1 batch 1 has no p50Ms/,
    ],
    [
      'p99 below p50',
      (p) => Object.assign(p.stages[0].variants[0].shapes[0].batches[0], { p50Ms: 5, p99Ms: 4 }),
      'stages[0].variants[0].shapes[0].batches[0].p99Ms',
      /p99Ms 4 is below p50Ms 5/,
    ],
  ];
  for (const [name, mutate, path, message] of cases) {
    it(`rejects ${name}, naming ${path}`, () => {
      const p = valid();
      mutate(p);
      assert.throws(
        () => parseProblem(p),
        (err: unknown) => err instanceof ValidationError && err.issues.some((i) => i.path === path && message.test(i.message)),
      );
    });
  }
});

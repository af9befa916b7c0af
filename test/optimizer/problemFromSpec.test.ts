import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import type { PipelineSpec } from '../../src/model/pipelineSpec.js';
import { findShape, findVariant, type ProfileSet } from '../../src/model/profileSet.js';
import { settingsOf } from '../../src/model/settings.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';

describe('the problem a spec makes', () => {
  let profiles: ProfileSet;
  let video: PipelineSpec;
  before(async () => {
    profiles = await resolveProfileSet('measured-h200');
    video = await resolvePipelineSpec('video', profiles);
  });

  it('takes each row’s latency at the spec’s percentile, with its p50 and p99 beside it', () => {
    for (const percentile of ['p50', 'p95', 'p99'] as const) {
      const problem = problemFromSpec({ ...video, latencyPercentile: percentile }, profiles, 10);
      assert.equal(problem.latencyPercentile, percentile);
      let rows = 0;
      for (const stage of problem.stages)
        for (const variant of stage.variants)
          for (const shape of variant.shapes) {
            const profiled = findVariant(profiles, variant.name)?.profiles.find((p) => p.shape === shape.name)?.rows ?? [];
            assert.deepEqual(
              shape.batches,
              profiled.map((r) => ({
                batch: r.batch,
                latencyMs: { p50: r.p50Ms, p95: r.p95Ms, p99: r.p99Ms }[percentile],
                throughputRps: r.throughputRps,
                p50Ms: r.p50Ms,
                p99Ms: r.p99Ms,
              })),
              `${percentile}: ${variant.name} on ${shape.name}`,
            );
            rows += profiled.length;
          }
      assert.ok(rows > 20, `${rows} rows compared`);
    }
  });

  it('carries a stage’s own limits only when the spec sets them, and the shapes’ resources', () => {
    const [detect, classify] = video.stages as [PipelineSpec['stages'][number], PipelineSpec['stages'][number]];
    const spec: PipelineSpec = {
      ...video,
      stages: [
        { ...detect, maxReplicas: 3, maxBatch: 2 },
        { ...classify, maxReplicas: undefined, maxBatch: undefined },
      ],
    };
    const [first, second] = problemFromSpec(spec, profiles, 10).stages;
    assert.equal(first?.maxReplicas, 3);
    assert.equal(first?.maxBatch, 2);
    assert.ok(second && !('maxReplicas' in second) && !('maxBatch' in second), 'no per-stage limits: the pipeline’s apply');
    for (const shape of first?.variants.flatMap((v) => v.shapes) ?? []) {
      const known = findShape(profiles, shape.name);
      assert.deepEqual([shape.cpu, shape.gpu], [known?.cpu, known?.gpu], shape.name);
    }
  });

  it('uses the spec’s settings unless given others, and the load it is asked for', () => {
    const own = problemFromSpec(video, profiles, 42);
    const settings = settingsOf(video);
    assert.equal(own.load, 42);
    assert.equal(own.name, video.name);
    assert.deepEqual(
      [own.slaMs, own.objective],
      [settings.slaMs, { alpha: settings.alpha, beta: settings.beta, gamma: settings.gamma, accuracy: settings.accuracy }],
    );
    const other = problemFromSpec(video, profiles, 42, settingsOf(video, { slaMs: 123, beta: 0.5, accuracy: 'sum' }));
    assert.deepEqual([other.slaMs, other.objective.beta, other.objective.accuracy], [123, 0.5, 'sum']);
    assert.deepEqual([other.limits, other.cost, other.arrivals], [video.limits, video.cost, video.arrivals]);
  });
});

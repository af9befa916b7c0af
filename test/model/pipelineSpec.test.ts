import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPipelineSpec, resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { checkPipelineAgainstProfiles, parsePipelineSpec } from '../../src/model/pipelineSpec.js';
import { ValidationError } from '../../src/model/validation.js';
import { pipelineJson } from '../helpers/files.js';

function issuesOf(fn: () => unknown): Map<string, string> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return new Map(err.issues.map((i) => [i.path, i.message]));
  }
  assert.fail('expected a ValidationError');
}

function video(mutate: (spec: any) => void = () => {}): unknown {
  const spec = pipelineJson('video');
  mutate(spec);
  return spec;
}

describe('pipeline spec', () => {
  it('loads both example pipelines and checks them against their profile set', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    const videoSpec = await resolvePipelineSpec('video', profiles);
    assert.deepEqual(
      videoSpec.stages.map((s) => [s.name, s.task]),
      [
        ['detect', 'detection'],
        ['classify', 'classification'],
      ],
    );
    const text = await resolvePipelineSpec('text', profiles);
    assert.equal(text.stages[0]?.task, 'text-classification');
  });

  it('fills defaults for what a spec leaves out', () => {
    const spec = parsePipelineSpec({ name: 'p', slaMs: 100, stages: [{ name: 's', task: 'classification', variants: ['resnet18'] }] });
    assert.equal(spec.pas, 'multiply');
    assert.equal(spec.latencyPercentile, 'p99');
    assert.deepEqual(spec.objective, { alpha: 1, beta: 0.01, gamma: 1e-6 });
    assert.equal(spec.limits.maxReplicas, 20);
  });

  it('rejects a serving-path overhead that leaves the stages no part of the SLA', () => {
    const issues = issuesOf(() => parsePipelineSpec(video((s) => (s.overheadMs = s.slaMs))));
    assert.match(issues.get('overheadMs') ?? '', /^overheadMs \d+ leaves nothing of slaMs \d+ for the stages$/);
    assert.equal(parsePipelineSpec(video()).overheadMs, 0);
  });

  it('rejects a missing or empty stage list', () => {
    const missing = issuesOf(() => parsePipelineSpec(video((s) => delete s.stages)));
    assert.match(missing.get('stages') ?? '', /required/);
    const empty = issuesOf(() => parsePipelineSpec(video((s) => (s.stages = []))));
    assert.match(empty.get('stages') ?? '', /at least one stage, got \[\]/);
  });

  it('rejects an unknown variant with the known ones listed', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    const spec = parsePipelineSpec(video((s) => (s.stages[1].variants[0] = 'resnet19')));
    const issues = issuesOf(() => checkPipelineAgainstProfiles(spec, profiles));
    assert.match(issues.get('stages[1].variants[0]') ?? '', /^unknown variant "resnet19" \(task "classification" has: resnet18, /);
  });

  it('rejects a variant of another task and an unknown shape', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    const spec = parsePipelineSpec(
      video((s) => {
        s.stages[1].variants[1] = 'bert-base';
        s.stages[1].shapes = ['cpu-4', 'tpu-v5'];
      }),
    );
    const issues = issuesOf(() => checkPipelineAgainstProfiles(spec, profiles));
    assert.match(issues.get('stages[1].variants[1]') ?? '', /"bert-base" does "text-classification", not "classification"/);
    assert.match(issues.get('stages[1].shapes[1]') ?? '', /unknown shape "tpu-v5"/);
  });

  it('rejects a negative, zero, infinite or NaN SLA', () => {
    for (const bad of [-1, 0, Number.POSITIVE_INFINITY, Number.NaN]) {
      const issues = issuesOf(() => parsePipelineSpec(video((s) => (s.slaMs = bad))));
      assert.match(issues.get('slaMs') ?? '', new RegExp(`got ${bad}`), `slaMs ${bad}`);
    }
  });

  it('rejects non-positive limits and negative weights', () => {
    const issues = issuesOf(() =>
      parsePipelineSpec(
        video((s) => {
          s.limits.maxReplicas = 0;
          s.limits.maxBatch = 2.5;
          s.objective.beta = -1;
        }),
      ),
    );
    assert.match(issues.get('limits.maxReplicas') ?? '', /got 0/);
    assert.match(issues.get('limits.maxBatch') ?? '', /int.*got 2.5/);
    assert.match(issues.get('objective.beta') ?? '', /got -1/);
  });

  it('rejects duplicate variants and stages, unknown fields and bad names', () => {
    const issues = issuesOf(() =>
      parsePipelineSpec(
        video((s) => {
          s.stages[1].variants.push('resnet18');
          s.stages.push({ ...s.stages[0] });
          s.stages[0].replicas = 3;
          s.name = 'Video Pipeline';
          s.pas = 'product';
        }),
      ),
    );
    assert.match(issues.get('stages[1].variants[5]') ?? '', /duplicate variant "resnet18"/);
    assert.match(issues.get('stages[2].name') ?? '', /duplicate stage "detect" \(first at stages\[0\]\)/);
    assert.equal(issues.get('stages[0].replicas'), 'unknown field');
    assert.match(issues.get('name') ?? '', /DNS label.*got "Video Pipeline"/);
    assert.match(issues.get('pas') ?? '', /got "product"/);
  });

  it('names the file when loading fails', async () => {
    await assert.rejects(loadPipelineSpec('/nonexistent/spec.json'), /invalid \/nonexistent\/spec.json:\n {2}file not found/);
  });
});

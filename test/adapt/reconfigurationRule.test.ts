import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { recommend } from '../../src/adapt/recommend.js';
import type { PlannedAt } from '../../src/adapt/reconfigurationRule.js';
import { plannedWindow, type RuleInput, reconfigurationOutcome, switchesStage } from '../../src/adapt/reconfigurationRule.js';
import { plannedLoad } from '../../src/forecast/forecast.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import type { Config } from '../../src/model/config.js';
import type { PipelineSpec } from '../../src/model/pipelineSpec.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { settingsOf } from '../../src/model/settings.js';
import { loadHighsSolver } from '../../src/optimizer/highsSolver.js';

const stage = (name: string, variant: string, shape: string, batch: number, replicas: number) => ({
  stage: name,
  variant,
  shape,
  batch,
  replicas,
});
const config = (...stages: ReturnType<typeof stage>[]): Config => ({ stages });

const RULE = { stabilizationSeconds: 60, switchGain: 0.001, scaleGain: 0 };
const running3 = config(stage('reduce', 'kpca', 'cpu-250m', 1, 3), stage('classify', 'mlp', 'cpu-250m', 1, 2));

/** The running config (objective 0.9275, holding the SLA) against a proposal that holds it at the window's peak of 10 rps. */
function input(proposed: Config, proposedObjective: number, more: Partial<RuleInput> = {}): RuleInput {
  return {
    current: running3,
    proposed,
    proposedObjective,
    running: { feasible: true, objective: 0.9275 },
    peak: { load: 10, holds: true },
    rule: RULE,
    ...more,
  };
}

describe('the reconfiguration rule', () => {
  it('tells a switch (variant, shape or batch) from a replica change', () => {
    assert.equal(
      switchesStage(running3, config(stage('reduce', 'kpca', 'cpu-250m', 1, 2), stage('classify', 'mlp', 'cpu-250m', 1, 2))),
      false,
    );
    assert.equal(
      switchesStage(running3, config(stage('reduce', 'kpca', 'cpu-500m', 1, 1), stage('classify', 'mlp', 'cpu-250m', 1, 2))),
      true,
    );
    assert.equal(
      switchesStage(running3, config(stage('reduce', 'kpca', 'cpu-250m', 2, 3), stage('classify', 'mlp', 'cpu-250m', 1, 2))),
      true,
    );
    // A new batch timeout alone restarts the servers: a switch too.
    const batched = config(stage('reduce', 'kpca', 'cpu-250m', 2, 3), stage('classify', 'mlp', 'cpu-250m', 1, 2));
    const retimed = structuredClone(batched);
    (retimed.stages[0] as Config['stages'][number]).batchTimeoutMs = 20;
    assert.equal(switchesStage(batched, retimed), true);
    assert.equal(switchesStage(retimed, structuredClone(retimed)), false);
  });

  it('never holds back a change when the running config cannot hold the SLA, whatever the window or the gain', () => {
    const up = config(stage('reduce', 'kpca', 'cpu-1', 1, 1), stage('classify', 'mlp', 'cpu-500m', 1, 1));
    const out = reconfigurationOutcome(input(up, 0.9, { running: { feasible: false, objective: 0.95 }, peak: { load: 40, holds: false } }));
    assert.deepEqual(out, { keep: false });
  });

  it('keeps the running config against a change that would not hold the SLA at the window’s highest load', () => {
    const down = config(stage('reduce', 'kpca', 'cpu-250m', 1, 2), stage('classify', 'mlp', 'cpu-250m', 1, 2));
    const out = reconfigurationOutcome(input(down, 0.93, { peak: { load: 30, holds: false } }));
    assert.deepEqual(out, {
      keep: true,
      reason:
        'kept: the better config would not hold the SLA at 30 rps, the highest load planned in the last 60 s (reconfiguration.stabilizationSeconds)',
    });
    assert.deepEqual(reconfigurationOutcome(input(down, 0.93)), { keep: false }, 'once it holds there too, it goes through');
  });

  it('keeps the running config against a switch that gains less than switchGain, and lets through one that gains it', () => {
    // classify 250m ×2 → 500m ×1: same cost, the objective differs by γ·batch noise.
    const swap = config(stage('reduce', 'kpca', 'cpu-250m', 1, 3), stage('classify', 'mlp', 'cpu-500m', 1, 1));
    const out = reconfigurationOutcome(input(swap, 0.9275 + 2e-6));
    assert.equal(out.keep, true);
    assert.match(
      out.keep ? out.reason : '',
      /^kept: a switch gains 0\.000002 of objective, less than the 0\.001 it must \(reconfiguration\.switchGain\)$/,
    );
    assert.deepEqual(reconfigurationOutcome(input(swap, 0.9275 + 0.001)), { keep: false });
  });

  it('weighs a replica change by scaleGain', () => {
    const fewer = config(stage('reduce', 'kpca', 'cpu-250m', 1, 2), stage('classify', 'mlp', 'cpu-250m', 1, 2));
    assert.deepEqual(reconfigurationOutcome(input(fewer, 0.9275)), { keep: false }, 'scaleGain 0: any gain will do');
    const out = reconfigurationOutcome(input(fewer, 0.929, { rule: { ...RULE, scaleGain: 0.002 } }));
    assert.match(
      out.keep ? out.reason : '',
      /^kept: a replica change gains 0\.0015 of objective, less than the 0\.002 it must \(reconfiguration\.scaleGain\)$/,
    );
  });

  it('keeps in its window the loads planned within stabilizationSeconds, and this one', () => {
    const window = plannedWindow(
      [
        { atMs: 0, load: 30 },
        { atMs: 10_000, load: 20 },
      ],
      60_000,
      5,
      60,
    );
    assert.deepEqual(window, [
      { atMs: 10_000, load: 20 },
      { atMs: 60_000, load: 5 },
    ]);
    assert.deepEqual(plannedWindow(window, 60_000, 5, 0), [{ atMs: 60_000, load: 5 }], 'a window of 0 s holds this step only');
  });
});

describe('the reconfiguration rule in the recommender (testbed)', () => {
  let spec: PipelineSpec;
  let profiles: ProfileSet;

  before(async () => {
    await loadHighsSolver();
    profiles = await resolveProfileSet('testbed');
    spec = await resolvePipelineSpec('testbed', profiles);
  });

  const at = (load: number, atMs: number, current?: Config, window?: PlannedAt[]) =>
    recommend({
      spec,
      profiles,
      load: plannedLoad({ forecast: load, upper: load, method: 'max', reason: 'test' }, 'forecast'),
      settings: settingsOf(spec),
      atMs,
      ...(current ? { current } : {}),
      ...(window ? { plannedWindow: window } : {}),
    });

  it('holds a scale-down while the window holds a higher load, lets it through after, and never holds a scale-up the SLA needs', () => {
    assert.equal(spec.reconfiguration.stabilizationSeconds, 60);
    const high = at(30, 0);
    assert.deepEqual(high.plannedWindow, [{ atMs: 0, load: 30 }]);
    const cost = (r: ReturnType<typeof at>) => r.decision.cost;
    // 30 s later the load is low: the optimum is cheaper, but it would not hold the SLA at the 30 rps of t = 0.
    const held = at(5, 30_000, high.config, high.plannedWindow);
    assert.equal(held.changed, false);
    assert.deepEqual(held.config, high.config);
    assert.match(
      held.keptReason ?? '',
      /^kept: the better config would not hold the SLA at 30 rps, the highest load planned in the last 60 s .*; the optimum: /,
    );
    // The record's figures are the running config's, at the low load.
    assert.equal(cost(held), cost(high));
    assert.equal(held.decision.load, 5);
    // At t = 60 s the 30 rps has left the window: the scale-down goes through.
    const later = at(5, 60_000, held.config, held.plannedWindow);
    assert.equal(later.changed, true);
    assert.ok(cost(later) < cost(high), `${cost(later)} < ${cost(high)}`);
    assert.deepEqual(later.plannedWindow, [
      { atMs: 30_000, load: 5 },
      { atMs: 60_000, load: 5 },
    ]);
    // The load jumps at once: the small config cannot hold the SLA at 40 rps, so the change is not held.
    const up = at(40, 70_000, later.config, later.plannedWindow);
    assert.equal(up.changed, true);
    assert.equal(up.keptReason, undefined);
  });
});

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Forecaster } from '../../src/forecast/forecaster.js';
import { loadTrace } from '../../src/forecast/trace.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import type { PipelineSpec } from '../../src/model/pipelineSpec.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { decide } from '../../src/optimizer/decide.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';
import { POLICY_NAMES } from '../../src/simulator/policy.js';
import { defaultEvaluationSettings, type EvaluationSettings, type PolicyRun } from '../../src/simulator/policyEvaluation.js';
import { type PatternResult, simulatePolicies } from '../../src/simulator/simulation.js';

const SECONDS = 60;

describe('policy evaluation in simulated time', () => {
  let spec: PipelineSpec;
  let profiles: ProfileSet;
  let forecaster: Forecaster;
  let result: PatternResult;
  let settings: EvaluationSettings;
  const run = (policy: string) => result.runs.find((r) => r.policy === policy) as PolicyRun;

  before(async () => {
    profiles = await resolveProfileSet('measured-h200');
    spec = await resolvePipelineSpec('video', profiles);
    forecaster = await Forecaster.load();
    settings = defaultEvaluationSettings(spec);
    const results = await simulatePolicies({
      spec,
      profiles,
      forecaster,
      patterns: ['bursty'],
      policies: POLICY_NAMES,
      settings,
      seconds: SECONDS,
      trace: await loadTrace(),
    });
    result = results[0] as PatternResult;
  });

  it('runs every policy over the same requests and accounts for each of them', () => {
    assert.deepEqual(
      result.runs.map((r) => r.policy),
      [...POLICY_NAMES],
    );
    const sent = result.pattern.loads.reduce((a, b) => a + b, 0);
    for (const r of result.runs) {
      const sum = (a: Int32Array) => a.reduce((x, y) => x + y, 0);
      assert.ok(r.series.seconds >= SECONDS, r.policy);
      assert.equal(sum(r.series.arrivals), sent, `${r.policy}: arrivals`);
      assert.equal(sum(r.series.completions) + sum(r.series.drops), sent, `${r.policy}: completed + dropped`);
      assert.equal(r.summary.requests, sent);
      assert.ok(r.summary.meanCost > 0, `${r.policy}: cost ${r.summary.meanCost}`);
      assert.ok(r.summary.meanPas > 0 && r.summary.meanPas < 1, `${r.policy}: PAS ${r.summary.meanPas}`);
      assert.ok(r.summary.p99Ms >= r.summary.p50Ms && r.summary.p50Ms > 0, r.policy);
      assert.equal(r.decisions.length, r.policy === 'static' ? 1 : SECONDS / 10, `${r.policy}: decisions`);
    }
  });

  it('decides for ipa what the optimizer decides for the forecaster’s provisioned load', () => {
    const window = Array.from(result.pattern.withHistory.subarray(0, 120));
    const expected = forecaster.predict(window, 'auto');
    const first = result.forecasts[0];
    assert.equal(first?.method, forecaster.hasModel ? 'lstm' : 'max');
    // To 3 decimals, as the workflow's decision records keep it.
    assert.equal(first?.forecast, Math.round(expected.forecast * 1000) / 1000);
    assert.equal(first?.provisioned, Math.round(expected.upper * 1000) / 1000);
    const decision = decide(problemFromSpec(spec, profiles, first?.provisioned as number), { explain: false });
    const ipa = run('ipa').decisions[0];
    assert.equal(ipa?.provisioned, first?.provisioned);
    assert.equal(ipa?.pas, decision.pas);
    assert.equal(ipa?.cost, decision.cost);
    for (const stage of decision.config)
      assert.match(ipa?.config ?? '', new RegExp(`${stage.stage} ${stage.variant}/${stage.shape} b${stage.batch}×${stage.replicas}`));
  });

  it('keeps FA2’s variants fixed, light or heavy, and RIM’s replicas fixed', () => {
    for (const d of run('fa2-low').decisions)
      assert.match(d.config, /detect fasterrcnn_mobilenet_v3_large_320_fpn\/.*, classify resnet18\//);
    for (const d of run('fa2-high').decisions) assert.match(d.config, /detect fasterrcnn_resnet50_fpn_v2\/.*, classify resnet152\//);
    const replicas = run('rim').decisions.map((d) => [...d.config.matchAll(/×(\d+)/g)].map((m) => m[1]).join(','));
    assert.equal(new Set(replicas).size, 1, `rim replicas: ${replicas.join(' ; ')}`);
    assert.ok(run('ipa').summary.meanPas >= run('fa2-low').summary.meanPas);
  });

  it('gives the oracle the true peak ahead, and static one decision for the run’s peak', () => {
    const loads = result.pattern.loads;
    for (const d of run('oracle').decisions) {
      assert.equal(d.provisioned, Math.max(...loads.subarray(d.t, d.t + 20)), `t=${d.t}`);
      assert.equal(d.method, 'oracle');
    }
    const peak = Math.max(...loads);
    assert.equal(run('static').decisions[0]?.provisioned, peak);
    assert.equal(run('static').summary.reconfigurations, 0);
  });
});

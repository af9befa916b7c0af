import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { POLICY_NAMES } from '../../src/adapt/policy.js';
import { Forecaster } from '../../src/forecast/forecaster.js';
import { loadTrace } from '../../src/forecast/trace.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { configOf } from '../../src/model/decision.js';
import { configLabel } from '../../src/model/decisionLine.js';
import type { PipelineSpec } from '../../src/model/pipelineSpec.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { decide } from '../../src/optimizer/decide.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';
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
      assert.equal(r.decisions.length, SECONDS / 10, `${r.policy}: decisions`);
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

  it('gives the oracle the true peak ahead, and static the optimum for the run’s peak all along', () => {
    const loads = result.pattern.loads;
    for (const d of run('oracle').decisions) {
      assert.equal(d.provisioned, Math.max(...loads.subarray(d.t, d.t + 20)), `t=${d.t}`);
      assert.equal(d.method, 'oracle');
    }
    const peak = Math.max(...loads);
    const atPeak = configLabel(configOf(decide(problemFromSpec(spec, profiles, peak), { explain: false })));
    for (const d of run('static').decisions) assert.equal(d.config, atPeak, `t=${d.t}`);
    assert.equal(run('static').summary.reconfigurations, 0);
  });

  it('runs the HPA with fixed variants, shapes and batches, replicas by its rule on the observed load', () => {
    const hpa = run('hpa');
    const fixed = hpa.decisions.map((d) => d.config.replace(/×\d+/g, ''));
    assert.equal(new Set(fixed).size, 1, fixed.join(' ; '));
    assert.match(hpa.description, /most accurate variants that carry the peak/);
    // The first decision sizes each stage from scratch: ceil(load over the last 15 s / (70 % of a replica's throughput)).
    const observed = result.pattern.withHistory.subarray(120 - 15, 120).reduce((t, v) => t + v, 0) / 15;
    const problem = problemFromSpec(spec, profiles, observed);
    const first = [...(hpa.decisions[0]?.config ?? '').matchAll(/(\S+) (\S+)\/(\S+) b(\d+)×(\d+)/g)];
    assert.equal(first.length, spec.stages.length, hpa.decisions[0]?.config);
    first.forEach(([, stage, variant, shape, batch, replicas], i) => {
      const row = problem.stages[i]?.variants
        .find((v) => v.name === variant)
        ?.shapes.find((h) => h.name === shape)
        ?.batches.find((b) => b.batch === Number(batch));
      assert.ok(row, `${stage}: ${variant}/${shape} b${batch} profiled`);
      assert.equal(Number(replicas), Math.max(1, Math.ceil(observed / (row.throughputRps * 0.7) - 1e-9)), `${stage}`);
    });
    // Within the 300 s stabilisation window the replicas never go down.
    const total = hpa.decisions.map((d) => [...d.config.matchAll(/×(\d+)/g)].reduce((t, m) => t + Number(m[1]), 0));
    for (let i = 1; i < total.length; i++) assert.ok((total[i] as number) >= (total[i - 1] as number), total.join(','));
  });

  it('waits for an apply that outlasts the interval before deciding again, as the workflow’s step does', async () => {
    // A replica that takes 25 s to serve holds a 10-s loop: the step after a deploy comes 25 s
    // later; a step that keeps its config is followed 10 s later.
    const slow = { ...settings, reconfigurationDelaySeconds: 24.2 };
    const [slowResult] = await simulatePolicies({
      spec,
      profiles,
      forecaster,
      patterns: ['bursty'],
      policies: ['ipa'],
      settings: slow,
      seconds: SECONDS,
      trace: await loadTrace(),
    });
    const decisions = (slowResult as PatternResult).runs[0]?.decisions ?? [];
    assert.equal(decisions[0]?.t, 0);
    for (let i = 1; i < decisions.length; i++) {
      const before = decisions[i - 1] as (typeof decisions)[number];
      // The first decision deploys the starting config: that apply blocks too.
      const deployed = i === 1 || before.changed;
      assert.equal(
        (decisions[i]?.t as number) - before.t,
        deployed ? 25 : 10,
        `after the decision at ${before.t} s (${deployed ? 'applied' : 'kept'})`,
      );
    }
    assert.ok(decisions.length < SECONDS / 10, `fewer decisions than one every interval: ${decisions.map((d) => d.t).join(', ')}`);
  });
});

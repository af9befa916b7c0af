import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { preparePipeline } from '../../src/activities/preparePipeline.js';
import { afterStep, initialState, type LoopState } from '../../src/adapt/loopState.js';
import { type Recommendation, recommend } from '../../src/adapt/recommend.js';
import { type Attempt, planStep, type StepHeader, type StepPlan, stepWindow } from '../../src/adapt/step.js';
import { roundTo } from '../../src/common/roundTo.js';
import { plannedLoad } from '../../src/forecast/forecast.js';
import { resolveProfileSet } from '../../src/io/load.js';
import type { Config } from '../../src/model/config.js';
import type { DecisionRecord, Settings } from '../../src/model/decisionRecord.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { loadHighsSolver } from '../../src/optimizer/highsSolver.js';
import { slaUpdateProblems, withObjective, withSla } from '../../src/workflows/messages.js';

/**
 * The adaptation step without a server: every outcome from the attempts its activities return,
 * with the real recommender on the video pipeline and the measured profiles.
 */
describe('one adaptation step', () => {
  let state: LoopState;
  let profiles: ProfileSet;
  const window = Array<number>(120).fill(30);
  const observation = { ok: true as const, value: { loads: window, source: 'trace', endMs: 0 } };
  const options = { actuator: 'dry-run', maxBatchWaitMs: 200 };

  before(async () => {
    await loadHighsSolver();
    const prepared = await preparePipeline({ pipeline: 'video' });
    profiles = await resolveProfileSet(prepared.profilesVersion);
    state = initialState(prepared, 0);
  });

  const headerOf = (s: LoopState, trigger: DecisionRecord['trigger'] = 'timer'): StepHeader => ({
    id: `adapt-video#${s.step + 1}`,
    step: s.step + 1,
    pipeline: 'video',
    at: '2026-12-01T00:00:00.000Z',
    trigger,
    profilesVersion: s.profilesVersion,
    settings: s.settings,
  });
  const recommendAt = (s: LoopState, load: number, settings: Settings = s.settings, previous?: Settings): Attempt<Recommendation> => ({
    ok: true,
    value: recommend({
      spec: s.pipeline.spec,
      profiles,
      load: plannedLoad({ forecast: load, upper: load, method: 'max', reason: 'test' }, 'forecast'),
      settings,
      ...(s.current ? { current: s.current } : {}),
      ...(previous ? { previousSettings: previous } : {}),
    }),
  });
  /** Runs a whole step: observe's and recommend's attempts given, apply answering `applied` unless told. */
  const stepOf = (
    s: LoopState,
    observed: Attempt<typeof observation.value>,
    recommendation: (w: number[]) => Attempt<Recommendation>,
    applied: Attempt<NonNullable<DecisionRecord['apply']>> = { ok: true, value: { actuator: 'dry-run', status: 'applied', detail: 'ok' } },
  ): { record: DecisionRecord; plan?: StepPlan; next: LoopState } => {
    const header = headerOf(s);
    const w = stepWindow(s, header, observed, 'auto');
    if ('skip' in w) return { record: w.skip, next: afterStep(s, w.skip, undefined, 50) };
    const plan = planStep(header, w, recommendation(w.loads), options);
    const record = 'record' in plan ? plan.record : plan.finish(applied);
    return { record, plan, next: afterStep(s, record, w.fresh, 50) };
  };

  it('applies the first config, with per-replica resources and the reason it is the first', () => {
    const { record, plan, next } = stepOf(state, observation, () => recommendAt(state, 30));
    assert.equal(record.outcome, 'applied');
    assert.match(record.reason ?? '', /^first config detect /);
    assert.ok(plan && 'apply' in plan);
    assert.deepEqual(plan.apply.config, record.config);
    for (const stage of record.config?.stages ?? []) {
      const shape = profiles.shapes.find((h) => h.name === stage.shape);
      assert.deepEqual(plan.apply.shapes?.[stage.shape], { cpu: shape?.cpu, gpu: shape?.gpu }, 'per replica, as the profile set has it');
    }
    assert.deepEqual(next.current, record.config);
    assert.deepEqual(next.lastWindow, window);
    assert.equal(next.counters.applied, 1);
    assert.equal(next.step, 1);
  });

  it('keeps the running config when it is still the best: unchanged, nothing applied', () => {
    const first = stepOf(state, observation, () => recommendAt(state, 30)).next;
    const { record, plan, next } = stepOf(first, observation, () => recommendAt(first, 30));
    assert.equal(record.outcome, 'unchanged');
    assert.ok(plan && 'record' in plan, 'no apply');
    assert.deepEqual(record.apply, { actuator: 'dry-run', status: 'skipped', detail: 'same config as running' });
    assert.equal(record.reason, 'the running config is still the best');
    assert.equal(next.counters.unchanged, 1);
  });

  it('changes the config when the load grows, naming what changed and why', () => {
    const first = stepOf(state, observation, () => recommendAt(state, 30)).next;
    const { record, next } = stepOf(first, observation, () => recommendAt(first, 300));
    assert.equal(record.outcome, 'applied');
    assert.match(record.reason ?? '', /→.*: the running config cannot run at λ̂ 300 rps/);
    assert.notDeepEqual(next.current, first.current);
  });

  it('applies the fallback of an infeasible problem and counts it', () => {
    const { record, next } = stepOf(state, observation, () => recommendAt(state, 30, { ...state.settings, slaMs: 1 }));
    assert.equal(record.outcome, 'fallback');
    assert.equal(record.feasible, false);
    assert.match(record.reason ?? '', /^infeasible: fastest options need [\d,.]+ ms > SLA 1 ms/);
    assert.equal(next.counters.infeasible, 1);
    assert.equal(next.counters.applied, 1);
    assert.deepEqual(next.current, record.config);
  });

  it('skips without a window, when recommending fails, and when nothing can run', () => {
    const noWindow = stepOf(state, { ok: false, error: 'Prometheus down' }, () => assert.fail('no recommend without a window'));
    assert.equal(noWindow.record.outcome, 'skipped');
    assert.match(noWindow.record.reason ?? '', /observe failed and no earlier window exists: Prometheus down/);

    const failed = stepOf(state, observation, () => ({ ok: false, error: 'profile set gone' }));
    assert.equal(failed.record.outcome, 'skipped');
    assert.match(failed.record.reason ?? '', /recommend failed: profile set gone; the running config stays/);
    assert.deepEqual(failed.next.lastWindow, window, 'the fresh window is kept for the next step');

    const nothing = recommendAt(state, 30);
    assert.ok(nothing.ok);
    const empty: Attempt<Recommendation> = {
      ok: true,
      value: { ...nothing.value, decision: { ...nothing.value.decision, feasible: false }, config: { stages: [] }, changed: false },
    };
    const none = stepOf(state, observation, () => empty);
    assert.equal(none.record.outcome, 'skipped');
    assert.match(none.record.reason ?? '', /no fallback config exists; the running config stays$/);
    assert.equal(none.next.current, undefined);
  });

  it('records an apply that failed, and keeps the config that runs', () => {
    const first = stepOf(state, observation, () => recommendAt(state, 30)).next;
    const { record, next } = stepOf(first, observation, () => recommendAt(first, 300), { ok: false, error: 'API server refused' });
    assert.equal(record.outcome, 'apply-failed');
    assert.equal(record.apply?.status, 'failed');
    assert.match(record.reason ?? '', /apply failed: API server refused$/);
    assert.deepEqual(next.current, first.current);
    assert.equal(next.counters.applyFailures, 1);
  });

  it('with reconcile, applies an unchanged config again: unchanged when all runs, applied with what was restored', () => {
    const first = stepOf(state, observation, () => recommendAt(state, 30)).next;
    const header = headerOf(first);
    const w = stepWindow(first, header, observation, 'auto');
    assert.ok(!('skip' in w));
    const quiet = planStep(header, w, recommendAt(first, 30), options);
    assert.ok('record' in quiet, 'without reconcile an unchanged step applies nothing');
    const plan = planStep(header, w, recommendAt(first, 30), { ...options, reconcile: true });
    assert.ok('apply' in plan);
    assert.deepEqual(plan.apply.config, first.current);
    const same = plan.finish({ ok: true, value: { actuator: 'local', status: 'unchanged', detail: '3 replica(s) already run' } });
    assert.equal(same.outcome, 'unchanged');
    assert.match(same.reason ?? '', /the running config is still the best$/);
    const restored = plan.finish({ ok: true, value: { actuator: 'local', status: 'applied', detail: 'started 1, stopped 0 replica(s)' } });
    assert.equal(restored.outcome, 'applied');
    assert.match(restored.reason ?? '', /still the best; restored: started 1, stopped 0/);
    assert.deepEqual(afterStep(first, restored, w.fresh, 50).current, first.current);
  });

  it('keeps what ran when the actuator capped the replicas to the room, so the next step asks for the rest', () => {
    const decided = recommendAt(state, 30);
    assert.ok(decided.ok);
    const wanted = decided.value.config;
    assert.ok(
      wanted.stages.some((s) => s.replicas > 1),
      'a decision with more than one replica somewhere',
    );
    const ran: Config = { stages: wanted.stages.map((s) => ({ ...s, replicas: 1 })) };
    const capped = { actuator: 'kubernetes', status: 'applied' as const, detail: 'capped to the nodes', config: ran };
    const { record, next } = stepOf(state, observation, () => decided, { ok: true, value: capped });
    assert.equal(record.outcome, 'applied');
    assert.deepEqual(record.config, wanted, 'the record keeps the decision');
    assert.deepEqual(next.current, ran, 'the loop believes what runs');
    const again = recommendAt(next, 30);
    assert.ok(again.ok && again.value.changed, 'the same decision is a change from what runs: it is asked for again');
    assert.deepEqual(again.value.config, wanted);
  });

  it('summarizes the window it planned from, and records how the solver did', () => {
    const header = headerOf(state);
    const summary = (loads: number[]) => {
      const w = stepWindow(state, header, { ok: true, value: { loads, source: 'prometheus', endMs: 0 } }, 'auto');
      assert.ok(!('skip' in w));
      return w.observed;
    };
    // mean (3 + 10 + 4 + 2) / 4 = 4.75, the last second 2, the busiest 10.
    assert.deepEqual(summary([3, 10, 4, 2]), { source: 'prometheus', seconds: 4, last: 2, mean: 4.75, max: 10, stale: false });
    assert.deepEqual(summary([]), { source: 'prometheus', seconds: 0, last: 0, mean: 0, max: 0, stale: false });
    const decided = recommendAt(state, 30);
    assert.ok(decided.ok);
    const { record } = stepOf(state, observation, () => decided);
    const { method, status, timeMs } = decided.value.decision.solver;
    assert.deepEqual(record.solver, { method, status, timeMs: roundTo(timeMs, 4) });
  });

  it('reuses the last good window with the max forecaster when observing fails', () => {
    const first = stepOf(state, observation, () => recommendAt(state, 30)).next;
    const header = headerOf(first);
    const w = stepWindow(first, header, { ok: false, error: 'timeout' }, 'auto');
    assert.ok(!('skip' in w));
    assert.equal(w.method, 'max');
    assert.equal(w.fresh, undefined);
    assert.deepEqual(w.observed, { source: 'last good window', seconds: 120, last: 30, mean: 30, max: 30, stale: true });
    const plan = planStep(header, w, recommendAt(first, 30), options);
    assert.ok('record' in plan);
    assert.match(plan.record.reason ?? '', /^observe failed \(timeout\): reused the last good window with the max forecaster; the running/);
    assert.equal(afterStep(first, plan.record, undefined, 50).counters.staleWindows, 1);
  });

  it('refuses updateSla while paused, and ignores a bad SLA or objective without changing anything', () => {
    assert.deepEqual(slaUpdateProblems({ slaMs: 200 }, false), []);
    assert.match(slaUpdateProblems({ slaMs: 200 }, true).join(), /the loop is paused: resume it first/);
    assert.deepEqual(withSla(state, { slaMs: -1 }), { problems: ['slaMs: expected a number > 0, got -1'] });
    // The serving path's share of the SLA (the spec's overheadMs) must leave the stages some of it.
    const underOverhead = ["slaMs: expected more than the spec's overheadMs 10 (the serving path's share of the SLA), got 10"];
    assert.deepEqual(withSla(state, { slaMs: 10 }, 10), { problems: underOverhead });
    assert.deepEqual(slaUpdateProblems({ slaMs: 10 }, false, 10), underOverhead);
    assert.deepEqual(slaUpdateProblems({ slaMs: 10.5 }, false, 10), []);
    const bad = withObjective(state, { alpha: -1, accuracy: 'max' as never });
    assert.ok('problems' in bad);
    assert.match(
      bad.problems.join('; '),
      /alpha: expected a number ≥ 0, got -1; accuracy: expected "sum", "average" or "multiply", got "max"/,
    );
  });

  it('decides under a changed SLA at the next step and says the SLA changed', () => {
    const first = stepOf(state, observation, () => recommendAt(state, 30)).next;
    const changed = withSla(first, { slaMs: 120 });
    assert.ok('state' in changed);
    const tighter = changed.state;
    assert.equal(tighter.settings.slaMs, 120);
    const { record } = stepOf(tighter, observation, () => recommendAt(tighter, 30, tighter.settings, first.settings));
    assert.equal(record.settings.slaMs, 120);
    assert.equal(record.outcome, 'applied');
    assert.match(record.reason ?? '', /SLA 300 → 120 ms/);
    assert.ok((record.predicted?.latencyMs ?? Number.POSITIVE_INFINITY) <= 120);
  });

  it('keeps the last `keepDecisions` records', () => {
    let s: LoopState = state;
    for (let i = 0; i < 4; i += 1) {
      const record: DecisionRecord = { ...headerOf(s), outcome: 'skipped', reason: 'test' };
      s = afterStep(s, record, undefined, 1);
    }
    assert.deepEqual(
      s.recent.map((r) => r.step),
      [4],
    );
    const running: Config | undefined = s.current;
    assert.equal(running, undefined);
  });
});

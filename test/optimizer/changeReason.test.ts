import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { recommend } from '../../src/activities/recommend.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import type { StageConfig } from '../../src/model/config.js';
import { configOf, type Decision } from '../../src/model/decision.js';
import { batchLabel } from '../../src/model/decisionLine.js';
import type { Settings } from '../../src/model/decisionRecord.js';
import type { PipelineSpec } from '../../src/model/pipelineSpec.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { settingsOf } from '../../src/model/settings.js';
import {
  type ChangeContext,
  changeReason,
  type RunningEvaluation,
  settingsChange,
  stageChanges,
} from '../../src/optimizer/changeReason.js';
import { decideWithHighs } from '../../src/optimizer/decide.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';

describe('the reason of a config change', () => {
  let profiles: ProfileSet;
  let video: PipelineSpec;
  before(async () => {
    profiles = await resolveProfileSet('measured-h200');
    video = await resolvePipelineSpec('video', profiles);
  });

  /** The decision at a load and SLA, and the static evaluation of `current` at the same. */
  async function at(load: number, slaMs = 300, current?: Decision) {
    const problem = problemFromSpec(video, profiles, load, settingsOf(video, { slaMs }));
    const decision = await decideWithHighs(problem, current ? { current: configOf(current) } : {});
    const running = current
      ? await decideWithHighs(problem, { baseline: 'static', current: configOf(current), explain: false })
      : undefined;
    return { decision, running };
  }

  const changedStages = (a: Decision, b: Decision) =>
    b.config.filter(
      (s, i) => JSON.stringify(configOf({ config: [s] })) !== JSON.stringify(configOf({ config: [a.config[i] as typeof s] })),
    );

  it('says the first config is the first', async () => {
    const { decision } = await at(30);
    const reason = changeReason(decision, {});
    assert.match(
      reason ?? '',
      /^first config detect \S+ b\d+(?:\/\d+ms)?×\d+, classify \S+ b\d+(?:\/\d+ms)?×\d+: objective [\d.]+ at λ̂ 30 rps \(PAS [\d.]+, cost [\d.,]+\)$/,
    );
  });

  it('names each changed stage, old → new, and the capacity the running config lacks at the new load', async () => {
    const low = (await at(30)).decision;
    const { decision, running } = await at(600, 300, low);
    const changed = changedStages(low, decision);
    assert.ok(changed.length > 0, 'a twentyfold load changes the config');
    assert.equal(running?.feasible, false, 'the running config cannot serve 600 rps');
    const reason = changeReason(decision, { current: configOf(low), ...(running ? { running } : {}) }) ?? '';
    for (const s of changed) {
      const before = low.config.find((c) => c.stage === s.stage);
      assert.ok(before);
      const after = before.variant === s.variant && before.shape === s.shape ? '' : `${s.variant}/${s.shape} `;
      assert.ok(reason.includes(`${s.stage} ${before.variant}/${before.shape} ${batchLabel(before)} → ${after}${batchLabel(s)}`), reason);
    }
    // The optimizer's wording for an under-replicated stage, without its "no option" framing.
    assert.match(
      reason,
      /: the running config cannot run at λ̂ 600 rps \((detect|classify): \d+ replicas × [\d.,]+ rps of \S+ batch \d+ < 600 rps/,
    );
    assert.doesNotMatch(reason, /no option is possible/);
  });

  it('gives the objective gained when the running config still works', async () => {
    const high = (await at(600)).decision;
    const { decision, running } = await at(300, 300, high);
    assert.equal(running?.feasible, true, 'more capacity than needed still meets the SLA');
    const reason = changeReason(decision, { current: configOf(high), ...(running ? { running } : {}) }) ?? '';
    for (const s of changedStages(high, decision)) assert.match(reason, new RegExp(`\\b${s.stage} \\S+ b\\d+(?:/\\d+ms)?×\\d+ → `));
    const gain = decision.objective.value - (running?.objective.value ?? 0);
    assert.ok(gain > 0, `the new config is better: ${gain}`);
    assert.match(reason, /: objective \+[\d.e-]+ at λ̂ 300 rps \(.*cost [\d.,]+→[\d.,]+.*\)$/);
  });

  it('says the SLA changed and what the running config would take under the new one', async () => {
    const loose = (await at(30, 300)).decision;
    const { decision, running } = await at(30, 120, loose);
    assert.ok(loose.latencyMs > 120, `the config for 300 ms takes ${loose.latencyMs} ms`);
    const settings: Settings = { slaMs: 120, alpha: 1, beta: 0.001, gamma: 1e-6, accuracy: 'multiply' };
    const reason =
      changeReason(decision, {
        current: configOf(loose),
        ...(running ? { running } : {}),
        settings,
        previous: { ...settings, slaMs: 300 },
      }) ?? '';
    assert.match(reason, /: SLA 300 → 120 ms; at λ̂ 30 rps the running config would take [\d.,]+ ms > SLA 120 ms$/);
    const took = Number(/would take ([\d.,]+) ms/.exec(reason)?.[1]?.replace(',', ''));
    assert.ok(Math.abs(took - loose.latencyMs) < 0.1, `${took} ≈ ${loose.latencyMs}: same load, same latency`);
  });

  it('is undefined when nothing changes, and says so when the running config is not in the profiles', async () => {
    const { decision } = await at(30);
    assert.equal(changeReason(decision, { current: configOf(decision) }), undefined);
    assert.deepEqual(stageChanges(configOf(decision), configOf(decision)), []);
    const renamed = { stages: configOf(decision).stages.map((s) => ({ ...s, variant: 'gone' })) };
    const reason = changeReason(decision, { current: renamed, running: { error: 'unknown variant "gone"' } }) ?? '';
    assert.match(
      reason,
      /^detect gone\/.* → .*, classify gone\/.* → .*: the running config does not fit the profiles: unknown variant "gone"$/,
    );
  });

  it('lists changed weights', () => {
    const s: Settings = { slaMs: 300, alpha: 1, beta: 0.001, gamma: 1e-6, accuracy: 'multiply' };
    assert.equal(settingsChange(s, s), '');
    assert.equal(settingsChange(undefined, s), '');
    assert.equal(settingsChange(s, { ...s, beta: 0.01, accuracy: 'sum' }), 'objective changed (β 0.001 → 0.01, PAS multiply → sum)');
  });

  it('comes with the recommendation of a step that changes the config, from the testbed profiles too', async () => {
    const testbed = await resolveProfileSet('testbed');
    const spec = await resolvePipelineSpec('testbed', testbed);
    const settings = settingsOf(spec);
    const input = { method: 'max' as const, provision: 'forecast' as const, spec, profilesVersion: testbed.version, settings };
    const first = await recommend({ ...input, window: Array<number>(120).fill(1) });
    assert.match(first.changeReason ?? '', /^first config/);
    const same = await recommend({ ...input, window: Array<number>(120).fill(1), current: configOf(first.decision) });
    assert.equal(same.changeReason, undefined, 'no change, no reason');
    const up = await recommend({
      ...input,
      window: Array<number>(120).fill(600),
      current: configOf(first.decision),
      previousSettings: settings,
    });
    const changed = changedStages(first.decision, up.decision);
    assert.ok(changed.length > 0, '600 times the load changes the config');
    for (const s of changed) assert.ok(up.changeReason?.includes(`${s.stage} `), up.changeReason);
    const gone = { stages: configOf(first.decision).stages.map((s) => ({ ...s, variant: 'gone' })) };
    const reloaded = await recommend({ ...input, window: Array<number>(120).fill(1), current: gone });
    assert.match(
      reloaded.changeReason ?? '',
      /: the running config does not fit the profiles: invalid current config: current.stages\[0\].variant: unknown variant "gone" for stage reduce; current/,
    );
    assert.match(
      up.changeReason ?? '',
      /: (the running config cannot run at λ̂ [\d.,]+ rps|at λ̂ [\d.,]+ rps the running config would take|objective [+-])/,
    );
  });

  describe('word for word, on made-up decisions', () => {
    const stage = (name: string, variant: string, batch: number, replicas: number, shape = 'cpu-1'): StageConfig => ({
      stage: name,
      variant,
      shape,
      batch,
      replicas,
    });
    const made = (config: StageConfig[], figures: Partial<Decision> = {}) =>
      ({ config, fallback: false, load: 12.34, pas: 0.8, cost: 4, batchSum: 3, objective: { value: 0.5 }, ...figures }) as Decision;
    const running = (figures: Partial<RunningEvaluation>): RunningEvaluation =>
      ({
        feasible: true,
        pas: 0.8,
        cost: 4,
        batchSum: 3,
        objective: { value: 0.5 },
        explanation: { infeasible: [] },
        ...figures,
      }) as RunningEvaluation;
    const old = { stages: [stage('a', 'small', 1, 2), stage('b', 'big', 2, 1), stage('c', 'mid', 1, 1)] };
    const next = [stage('a', 'small', 4, 3), stage('b', 'big', 2, 1, 'gpu'), stage('d', 'new', 1, 1)];

    it('lists changed stages in the new order, then new and removed ones', () => {
      assert.deepEqual(stageChanges(old, { stages: next }), [
        'a small/cpu-1 b1×2 → b4×3',
        'b big/cpu-1 b2×1 → big/gpu b2×1',
        'd (new) new/cpu-1 b1×1',
        'c removed',
      ]);
      assert.deepEqual(stageChanges(old, { stages: [stage('a', 'other', 1, 2), ...old.stages.slice(1)] }), [
        'a small/cpu-1 b1×2 → other/cpu-1 b1×2',
      ]);
    });

    it('names what the running config gains, loses or ties, with rounded figures', () => {
      const reason = (r: ChangeContext['running'], figures: Partial<Decision> = {}) =>
        changeReason(made(next, figures), { current: old, ...(r ? { running: r } : {}) })
          ?.split(': ')
          .slice(1)
          .join(': ');
      assert.equal(
        reason(running({ objective: { value: 0.4 } } as Partial<RunningEvaluation>), { pas: 0.8123, cost: 3.456, batchSum: 12 }),
        'objective +0.1 at λ̂ 12.3 rps (PAS 0.8→0.812, cost 4→3.46, Σ batch 3→12)',
      );
      assert.equal(
        reason(running({ objective: { value: 0.61234 } } as Partial<RunningEvaluation>), { cost: 5 }),
        'objective -0.112 at λ̂ 12.3 rps (cost 4→5)',
      );
      assert.equal(reason(running({})), 'as good as the running config at λ̂ 12.3 rps');
      assert.equal(
        reason(running({ objective: { value: 0.5 + 2e-10 } } as Partial<RunningEvaluation>)),
        'as good as the running config at λ̂ 12.3 rps',
      );
      assert.equal(
        reason(running({}), { fallback: true }),
        'nothing meets the constraints at λ̂ 12.3 rps: fallback to the highest-throughput options',
      );
      assert.equal(reason(undefined), 'the running config was not evaluated at λ̂ 12.3 rps');
      assert.equal(reason({ error: 'no such variant' }), 'the running config does not fit the profiles: no such variant');
      assert.equal(
        reason(running({ feasible: false, latencyMs: 1234.56, slaMs: 300 })),
        'at λ̂ 12.3 rps the running config would take 1,234.6 ms > SLA 300 ms',
      );
      assert.equal(
        reason(
          running({
            feasible: false,
            explanation: {
              infeasible: [
                'stage a: no option is possible; closest: 2 replicas × 5 rps < 12 rps',
                'fastest options need 400 ms > SLA 300 ms',
                'stage b: no option is possible (nothing profiled or everything ruled out)',
              ],
            },
          }),
        ),
        'the running config cannot run at λ̂ 12.3 rps (a: 2 replicas × 5 rps < 12 rps; stage b: no option is possible (nothing profiled or everything ruled out))',
      );
    });

    it('puts a settings change before the reason, and words the first config', () => {
      const settings: Settings = { slaMs: 300, alpha: 1, beta: 0.001, gamma: 1e-6, accuracy: 'sum' };
      const changed: Settings = { slaMs: 122.25, alpha: 2, beta: 0.001, gamma: 0, accuracy: 'average' };
      assert.equal(settingsChange(settings, changed), 'SLA 300 → 122.3 ms, objective changed (α 1 → 2, γ 0.000001 → 0, PAS sum → average)');
      assert.equal(settingsChange(settings, { ...settings, slaMs: 250 }), 'SLA 300 → 250 ms');
      assert.equal(
        changeReason(made(next), { current: old, settings: changed, previous: settings }),
        'a small/cpu-1 b1×2 → b4×3, b big/cpu-1 b2×1 → big/gpu b2×1, d (new) new/cpu-1 b1×1, c removed: SLA 300 → 122.3 ms, objective changed (α 1 → 2, γ 0.000001 → 0, PAS sum → average); the running config was not evaluated at λ̂ 12.3 rps',
      );
      assert.equal(
        changeReason(made(next, { objective: { value: 0.123456 } } as Partial<Decision>), {}),
        'first config a small/cpu-1 b4×3, b big/gpu b2×1, d new/cpu-1 b1×1: objective 0.1235 at λ̂ 12.3 rps (PAS 0.8, cost 4)',
      );
    });
  });
});
